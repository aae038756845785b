// generate-babilong, eval-babilong: build BABILong task files with the model's tokenizer, and
// score predictions with the BABILong metric. The metric is also registered as "babilong" with
// `starattn eval` (ruler/scoring.h), which then scores qa1..qa20 predictions with it.
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "babilong/babi.h"
#include "babilong/books.h"
#include "babilong/generate.h"
#include "babilong/metric.h"
#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "harness/cli.h"
#include "harness/lib/jsonl.h"
#include "ruler/scoring.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {


// The tokenizer of --model (a .gguf file or a Hugging Face folder with tokenizer.json) or of
// --tokenizer (a tokenizer.json or a .gguf file); the model's weights are not loaded.
std::unique_ptr<Tokenizer> LoadTokenizer(const po::variables_map& vm) {
  const bool has_model = vm.count("model") != 0, has_tok = vm.count("tokenizer") != 0;
  if (has_model == has_tok) Fail("give exactly one of --model and --tokenizer");
  const std::string path = vm[has_model ? "model" : "tokenizer"].as<std::string>();
  if (fs::is_directory(path)) {
    const fs::path tj = fs::path(path) / "tokenizer.json";
    if (!fs::exists(tj)) Fail("{}: no tokenizer.json in the folder", path);
    return Tokenizer::FromJsonFile(tj.string());
  }
  if (!fs::exists(path)) Fail("{}: no such file", path);
  if (path.ends_with(".gguf")) return Tokenizer::FromGguf(GgufFile::Open(path));
  return Tokenizer::FromJsonFile(path);
}

// "all", "qa1..qa5" / "qa1-qa5", and comma- or space-separated names.
std::vector<std::string> ParseTasks(const std::vector<std::string>& args, bool have_files) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    size_t start = 0;
    while (start <= arg.size()) {
      size_t end = arg.find(',', start);
      if (end == std::string::npos) end = arg.size();
      const std::string item = arg.substr(start, end - start);
      start = end + 1;
      if (item.empty()) continue;
      if (item == "all") {
        for (int t = 1; t <= (have_files ? 20 : 5); ++t) out.push_back("qa" + std::to_string(t));
        continue;
      }
      size_t dots = item.find("..");
      const size_t sep_len = dots != std::string::npos ? 2 : 1;
      if (dots == std::string::npos) dots = item.find('-');
      if (dots != std::string::npos) {
        const int a = babilong::TaskNumber(item.substr(0, dots));
        const int b = babilong::TaskNumber(item.substr(dots + sep_len));
        if (a > b) Fail("empty task range '{}'", item);
        for (int t = a; t <= b; ++t) out.push_back("qa" + std::to_string(t));
        continue;
      }
      babilong::TaskNumber(item);
      out.push_back(item);
    }
  }
  std::vector<std::string> unique;
  for (const auto& t : out) {
    if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(t);
  }
  if (unique.empty()) Fail("no tasks given");
  return unique;
}

// --books default: data/books under the working directory, else beside the binary's parent
// (build/starattn -> <repo>/data/books).
std::string DefaultBooksDir() {
  if (fs::is_directory("data/books")) return "data/books";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path p = exe.parent_path().parent_path() / "data" / "books";
    if (fs::is_directory(p)) return p.string();
  }
  return "data/books";
}

int RunGenerate(const std::vector<std::string>& args) {
  po::options_description desc("generate-babilong options");
  desc.add_options()("model,m", po::value<std::string>(),
                     "model whose tokenizer sizes the samples: a .gguf file or a Hugging Face "
                     "folder (only the tokenizer is loaded)")(
      "tokenizer", po::value<std::string>(), "instead of --model: a tokenizer.json or .gguf file")(
      "tasks",
      po::value<std::vector<std::string>>()->multitoken()->default_value({"qa1..qa5"}, "qa1..qa5"),
      "tasks: names (qa1 qa2 or qa1,qa2), ranges (qa1..qa5) or all (qa1-qa20 with --babi, "
      "qa1-qa5 without)")(
      "lengths", po::value<std::vector<std::string>>()->multitoken()->required(),
      "lengths: 0k 1k 2k 4k ... (k = 1000 tokens, as in BABILong), 1M, or token counts (4096); "
      "the whole prompt is sized to at most the length")(
      "samples,n", po::value<int>()->default_value(100), "samples per task and length")(
      "seed", po::value<uint64_t>()->default_value(42), "random seed")(
      "template", po::value<std::string>()->default_value("auto"),
      "prompt template: base, chat (the model's chat template), auto (chat when the model has "
      "one), or a family: chatml, llama3, llama2")(
      "out,o", po::value<std::string>()->required(),
      "output folder: one <task>_<length>.jsonl per task and length")(
      "babi", po::value<std::string>(),
      "folder of the official bAbI v1.2 files (qaN_*_test.txt); without it, qa1-qa5 come from "
      "the built-in generator")(
      "books", po::value<std::string>(),
      "folder of .txt books for the background text (default: data/books, from tools/fetch_books)");
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn generate-babilong (--model M | --tokenizer T) --lengths L... --out DIR\n"
          "         [--tasks qa1..qa5] [--samples N] [--seed S] [--template base|chat|auto]\n"
          "         [--babi DIR] [--books DIR]")) {
    return 0;
  }
  const int samples = vm["samples"].as<int>();
  if (samples <= 0) Fail("--samples must be positive, got {}", samples);
  const uint64_t seed = vm["seed"].as<uint64_t>();
  const std::string babi_dir = vm.count("babi") ? vm["babi"].as<std::string>() : "";
  const std::vector<std::string> tasks =
      ParseTasks(vm["tasks"].as<std::vector<std::string>>(), !babi_dir.empty());
  std::vector<babilong::Length> lengths;
  for (const auto& l : vm["lengths"].as<std::vector<std::string>>()) {
    lengths.push_back(babilong::ParseLength(l));
  }
  // Validate everything that can fail before the slow part.
  std::vector<babilong::SamplePool> pools;
  for (const auto& t : tasks) pools.emplace_back(t, babi_dir, seed);
  const std::unique_ptr<Tokenizer> tok = LoadTokenizer(vm);
  const babilong::PromptFrame frame =
      babilong::MakePromptFrame(*tok, vm["template"].as<std::string>());
  const bool need_books =
      std::any_of(lengths.begin(), lengths.end(), [](const auto& l) { return l.tokens > 0; });
  std::vector<babilong::Book> books;
  if (need_books) {
    books =
        babilong::LoadBooks(vm.count("books") ? vm["books"].as<std::string>() : DefaultBooksDir());
  } else {
    books.push_back({"none", {"(unused)"}});
  }
  const babilong::SampleBuilder builder(*tok, frame, books);

  const fs::path out = vm["out"].as<std::string>();
  fs::create_directories(out);
  std::cerr << fmt::format("generate-babilong: template {}, {} books, source {}\n", frame.name,
                           need_books ? books.size() : 0,
                           babi_dir.empty() ? "built-in generator" : babi_dir);
  for (size_t ti = 0; ti < tasks.size(); ++ti) {
    for (const auto& len : lengths) {
      const std::vector<babilong::Record> records =
          babilong::GenerateTaskLength(builder, pools[ti], tasks[ti], len, samples, seed);
      std::string text;
      int64_t lo = INT64_MAX, hi = 0;
      for (const auto& r : records) {
        // Invalid UTF-8 in a user's book becomes U+FFFD rather than an error.
        text += babilong::RecordToJson(r).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace) +
                "\n";
        lo = std::min(lo, r.length);
        hi = std::max(hi, r.length);
      }
      const fs::path file = out / (tasks[ti] + "_" + len.name + ".jsonl");
      WriteFileAtomically(file.string(), text);
      std::cout << fmt::format("{} {}: {} samples, {}..{} tokens (limit {}) -> {}\n", tasks[ti],
                               len.name, records.size(), lo, hi, len.tokens, file.string());
    }
  }
  return 0;
}

int RunEval(const std::vector<std::string>& args) {
  po::options_description desc("eval-babilong options");
  desc.add_options()("pred,p", po::value<std::vector<std::string>>()->multitoken()->required(),
                     "predictions: JSONL files (or folders of them) with pred, outputs, task, "
                     "question or input_query, length_limit")(
      "out,o", po::value<std::string>(),
      "folder for summary.csv and summary.json (default: the folder of the first --pred)")(
      "task", po::value<std::string>(), "task of lines that have no \"task\" field")(
      "match", po::value<std::string>()->default_value("word"),
      "label matching: word (whole words) or substring (the reference's exact behaviour)");
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
             "usage: starattn eval-babilong --pred FILE... [--out DIR] [--match word|substring]")) {
    return 0;
  }
  const babilong::MatchMode mode = babilong::ParseMatchMode(vm["match"].as<std::string>());
  const std::string default_task = vm.count("task") ? vm["task"].as<std::string>() : "";
  std::vector<fs::path> files;
  for (const auto& p : vm["pred"].as<std::vector<std::string>>()) {
    if (fs::is_directory(p)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file() && e.path().extension() == ".jsonl") in_dir.push_back(e.path());
      }
      std::sort(in_dir.begin(), in_dir.end());
      if (in_dir.empty()) Fail("{}: no .jsonl file", p);
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p)) {
      files.emplace_back(p);
    } else {
      Fail("{}: no such file", p);
    }
  }
  std::vector<babilong::Prediction> preds;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) Fail("{}: cannot read", f.string());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      preds.push_back(
          babilong::ParsePrediction(line, fmt::format("{}:{}", f.string(), n), default_task));
    }
  }
  if (preds.empty()) Fail("no predictions in the given files");
  const babilong::Summary s = babilong::Summarize(preds, mode);
  const fs::path out =
      vm.count("out") ? fs::path(vm["out"].as<std::string>()) : files[0].parent_path();
  if (!out.empty()) fs::create_directories(out);
  const std::string csv = babilong::SummaryCsv(s);
  WriteFileAtomically((out / "summary.csv").string(), csv);
  WriteFileAtomically((out / "summary.json").string(), babilong::SummaryJson(s));
  std::cout << csv;
  std::cerr << fmt::format("eval-babilong: {} predictions, match {}; wrote {} and {}\n",
                           preds.size(), babilong::MatchModeName(mode),
                           (out / "summary.csv").string(), (out / "summary.json").string());
  return 0;
}

// The BABILong metric as a `starattn eval` metric: accuracy (x100) of one task's predictions,
// labels matched as whole words; the question from the record's "question", else "input_query".
double EvalMetric(const std::vector<ruler::Prediction>& preds) {
  std::vector<babilong::Prediction> out;
  out.reserve(preds.size());
  for (const ruler::Prediction& p : preds) {
    babilong::Prediction b;
    b.task = p.task;
    b.pred = p.pred;
    if (p.references.empty()) Fail("{} sample {}: no reference answer", p.task, p.index);
    b.target = p.references[0];
    for (const char* key : {"question", "input_query"}) {
      const auto it = p.record.find(key);
      if (it != p.record.end() && it->is_string()) {
        b.question = it->get<std::string>();
        break;
      }
    }
    out.push_back(std::move(b));
  }
  return babilong::Accuracy(out, babilong::MatchMode::kWord);
}

}  // namespace

std::vector<Command> BabilongCommands() {
  ruler::GlobalMetrics().Add(std::string(ruler::kBabilongMetric), &EvalMetric);
  return {
      {"generate-babilong", "write BABILong task files (bAbI facts in book prose, model-sized)",
       RunGenerate},
      {"eval-babilong", "score BABILong predictions (summary.csv, summary.json)", RunEval},
  };
}

}  // namespace starattn::cli
