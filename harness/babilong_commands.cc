// generate-babilong, eval-babilong: build BABILong task files with the model's tokenizer, and
// score predictions with the BABILong metric. The metric is also registered as "babilong" with
// `starattn eval` (ruler/scoring.h), which then scores qa1..qa20 predictions with it.
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "babilong/metric.h"
#include "engine/common/error.h"
#include "engine/common/files.h"
#include "harness/cli.h"
#include "harness/lib/datagen.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/profiles.h"
#include "harness/lib/records.h"
#include "ruler/scoring.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

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
      "folder of .txt books for the background text (default: data/books, from tools/fetch_books)")(
      "profile", po::value<std::string>()->default_value("project"),
      "project (the project's prompts, the whole prompt sized to the length, whole-word "
      "matching) or reference (booydar/babilong: its prompts file, the context sized to the "
      "length minus 300 tokens, substring matching, its 100-sample subset, 20 new tokens); see "
      "babilong/profile.h")(
      "prompts", po::value<std::string>(),
      "prompts file (the reference's default_prompts.json; tools/babilong_prompts.py writes "
      "it): the same as --set prompts=FILE")(
      "set", po::value<std::vector<std::string>>()->multitoken(),
      "override a profile setting, KEY=VALUE: prompts, subset, sizing (prompt|context), match "
      "(word|substring), sample_order (shuffled|subset), tokens_to_generate (recorded in "
      "profile.json and the data)");
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn generate-babilong (--model M | --tokenizer T) --lengths L... --out DIR\n"
          "         [--tasks qa1..qa5] [--samples N] [--seed S] [--template base|chat|auto]\n"
          "         [--babi DIR] [--books DIR] [--profile project|reference] [--prompts FILE]\n"
          "         [--set KEY=VALUE...]")) {
    return 0;
  }
  const bool has_model = vm.count("model") != 0, has_tok = vm.count("tokenizer") != 0;
  if (has_model == has_tok) Fail("give exactly one of --model and --tokenizer");
  BabilongDataOptions o;
  o.tokenizer = vm[has_model ? "model" : "tokenizer"].as<std::string>();
  o.tasks = SplitList(vm["tasks"].as<std::vector<std::string>>());
  o.lengths = vm["lengths"].as<std::vector<std::string>>();
  o.samples = vm["samples"].as<int>();
  o.seed = vm["seed"].as<uint64_t>();
  o.chat_template = vm["template"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  if (vm.count("babi")) o.babi = vm["babi"].as<std::string>();
  if (vm.count("books")) o.books = vm["books"].as<std::string>();
  o.profile = vm["profile"].as<std::string>();
  if (vm.count("set")) o.settings = ParseSetOptions(vm["set"].as<std::vector<std::string>>());
  if (vm.count("prompts")) o.settings["prompts"] = vm["prompts"].as<std::string>();
  GenerateBabilongData(o, std::cout);
  return 0;
}

// Everything generate-babilong can fail on is its input (options, files): exit 2.
int RunGenerateExit2(const std::vector<std::string>& args) {
  try {
    return RunGenerate(args);
  } catch (const Error& e) {
    std::cerr << "starattn generate-babilong: error: " << e.what() << "\n";
  } catch (const fs::filesystem_error& e) {
    std::cerr << "starattn generate-babilong: error: " << e.what() << "\n";
  }
  return 2;
}

int RunEval(const std::vector<std::string>& args) {
  po::options_description desc("eval-babilong options");
  desc.add_options()("pred,p", po::value<std::vector<std::string>>()->multitoken()->required(),
                     "predictions: JSONL files (or folders of them) with pred, outputs, task, "
                     "question or input_query, length_limit")(
      "out,o", po::value<std::string>(),
      "folder for summary.csv and summary.json (default: the folder of the first --pred)")(
      "task", po::value<std::string>(), "task of lines that have no \"task\" field")(
      "match", po::value<std::string>(),
      "label matching: word (whole words) or substring (the reference's exact behaviour); "
      "default: what the records ask for (their \"match\", written by the reference profile), "
      "else word");
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn eval-babilong --pred FILE... [--out DIR] [--match word|substring]")) {
    return 0;
  }
  std::optional<babilong::MatchMode> mode;
  if (vm.count("match")) mode = babilong::ParseMatchMode(vm["match"].as<std::string>());
  std::set<babilong::MatchMode> asked;  // by the records
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
  records::ReadOptions ropts;
  ropts.default_task = default_task;
  for (const auto& f : files) {
    const records::RecordFile rf = records::ReadRecords(f.string(), ropts);
    if (rf.torn_last_line) {
      std::cerr << "eval-babilong: " << f.string()
                << ": the last line is incomplete (a run in progress or killed): skipped\n";
    }
    for (const records::Record& r : rf.records) {
      preds.push_back(records::ToBabilongPrediction(r, f.string()));
      asked.insert(records::MatchOf(r.json, fmt::format("{}:{}", f.string(), r.line))
                       .value_or(babilong::MatchMode::kWord));
    }
  }
  if (preds.empty()) Fail("no predictions in the given files");
  if (!mode && asked.size() > 1) {
    Fail(
        "the records ask for different label matching (word and substring: profiles mixed); "
        "pass --match word or --match substring");
  }
  const babilong::Summary s = babilong::Summarize(preds, mode.value_or(*asked.begin()));
  const fs::path out =
      vm.count("out") ? fs::path(vm["out"].as<std::string>()) : files[0].parent_path();
  if (!out.empty()) fs::create_directories(out);
  const std::string csv = babilong::SummaryCsv(s);
  WriteFileAtomically((out / "summary.csv").string(), csv);
  WriteFileAtomically((out / "summary.json").string(), babilong::SummaryJson(s));
  std::cout << csv;
  std::cerr << fmt::format("eval-babilong: {} predictions, match {}; wrote {} and {}\n",
                           preds.size(), babilong::MatchModeName(s.mode),
                           (out / "summary.csv").string(), (out / "summary.json").string());
  return 0;
}

}  // namespace

std::vector<Command> BabilongCommands() {
  records::AddBabilongMetric(ruler::GlobalMetrics());
  return {
      {"generate-babilong", "write BABILong task files (bAbI facts in book prose, model-sized)",
       RunGenerateExit2},
      {"eval-babilong", "score BABILong predictions (summary.csv, summary.json)", RunEval},
  };
}

}  // namespace starattn::cli
