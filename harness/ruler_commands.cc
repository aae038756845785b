// generate-ruler and eval: the RULER benchmark's data generation and the benchmark-agnostic
// scorer (ruler/generate.h, ruler/scoring.h).
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "harness/cli.h"
#include "harness/lib/jsonl.h"
#include "ruler/data.h"
#include "ruler/generate.h"
#include "ruler/scoring.h"
#include "ruler/tasks.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {


// Values of a multi-token option, commas also separating.
std::vector<std::string> SplitList(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& v : values) {
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string::npos) comma = v.size();
      if (comma > pos) out.push_back(v.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  return out;
}

// "4096", "4k", "128K" -> tokens.
int64_t ParseLength(const std::string& s) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    Fail("--lengths: '{}' is not a length", s);
  }
  const std::string rest = s.substr(used);
  if (rest == "k" || rest == "K") {
    v *= 1024;
  } else if (!rest.empty()) {
    Fail("--lengths: '{}' is not a length", s);
  }
  if (v <= 0) Fail("--lengths: '{}' must be positive", s);
  return v;
}

// data/<name> under the working directory, else beside the binary's parent (build/../data).
std::string DefaultDataDir(const std::string& name) {
  const fs::path cwd_candidate = fs::path("data") / name;
  if (fs::exists(cwd_candidate)) return cwd_candidate.string();
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path beside = exe.parent_path().parent_path() / "data" / name;
    if (fs::exists(beside)) return beside.string();
  }
  return cwd_candidate.string();
}

std::unique_ptr<Tokenizer> LoadTokenizer(const po::variables_map& vm) {
  if (vm.count("model") == vm.count("tokenizer")) Fail("give exactly one of --model, --tokenizer");
  if (vm.count("tokenizer")) return Tokenizer::FromJsonFile(vm["tokenizer"].as<std::string>());
  const std::string path = vm["model"].as<std::string>();
  if (fs::is_directory(path)) {
    const fs::path json = fs::path(path) / "tokenizer.json";
    if (!fs::is_regular_file(json)) Fail("{} has no tokenizer.json", path);
    return Tokenizer::FromJsonFile(json.string());
  }
  if (!fs::is_regular_file(path)) Fail("model {} does not exist", path);
  return Tokenizer::FromGguf(GgufFile::Open(path));
}

std::string Quantiles(std::vector<double> v) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  return fmt::format("min {:.4f}  median {:.4f}  max {:.4f}", v.front(), v[v.size() / 2], v.back());
}

int RunGenerateRuler(const std::vector<std::string>& args) {
  po::options_description desc("generate-ruler options");
  desc.add_options()
      ("model,m", po::value<std::string>(), "model (.gguf or HF directory) whose tokenizer sizes the prompts")
      ("tokenizer", po::value<std::string>(), "a tokenizer.json (instead of --model)")
      ("tasks", po::value<std::vector<std::string>>()->multitoken()->default_value({"all"}, "all"),
       "tasks (space or comma separated), or all")
      ("lengths", po::value<std::vector<std::string>>()->multitoken()->required(),
       "length limits in tokens (input + tokens to generate), e.g. 4096 8192 or 4k 8k")
      ("samples", po::value<int64_t>()->default_value(500), "samples per task and length")
      ("seed", po::value<uint64_t>()->default_value(42), "random seed")
      ("template", po::value<std::string>()->default_value("auto"),
       "model template: chat (the model's chat template), base (none), auto (chat if the model has one)")
      ("out,o", po::value<std::string>()->required(), "output directory: OUT/<length>/<task>.jsonl")
      ("essays", po::value<std::string>(), "directory of .txt essays for the essay haystack")
      ("books", po::value<std::string>(),
       "directory of .txt books used when --essays is not given (default data/books, from tools/fetch_books)")
      ("wordlists", po::value<std::string>(),
       "directory with adjectivelist.txt, nounlist.txt, verblist.txt (default data/wordlists, from tools/fetch_wordlists)")
      ("squad", po::value<std::string>(), "SQuAD dev-v2.0 JSON (qa_1)")
      ("hotpotqa", po::value<std::string>(), "HotpotQA dev distractor JSON (qa_2)")
      ("threads,t", po::value<int>()->default_value(0), "threads (0 = all cores)");
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
             "usage: starattn generate-ruler (--model PATH | --tokenizer FILE) --lengths N... --out DIR\n"
             "         [--tasks LIST|all] [--samples N] [--seed S] [--template base|chat|auto]\n"
             "         [--essays DIR | --books DIR] [--wordlists DIR] [--squad FILE] [--hotpotqa FILE]\n\n"
             "Writes OUT/<length>/<task>.jsonl: index, task, length_limit, tokens_to_generate, length\n"
             "(tokens of input), outputs, input_context, input_query, input.")) {
    return 0;
  }

  // Tasks and lengths.
  std::vector<const ruler::TaskSpec*> tasks;
  for (const std::string& name : SplitList(vm["tasks"].as<std::vector<std::string>>())) {
    if (name == "all") {
      for (const ruler::TaskSpec& t : ruler::AllTasks()) tasks.push_back(&t);
      continue;
    }
    const ruler::TaskSpec* t = ruler::FindTask(name);
    if (t == nullptr) {
      std::string known;
      for (const ruler::TaskSpec& k : ruler::AllTasks()) known += (known.empty() ? "" : ", ") + std::string(k.name);
      Fail("unknown task '{}' (tasks: {}, or all)", name, known);
    }
    tasks.push_back(t);
  }
  std::sort(tasks.begin(), tasks.end());
  tasks.erase(std::unique(tasks.begin(), tasks.end()), tasks.end());
  std::vector<int64_t> lengths;
  for (const std::string& l : SplitList(vm["lengths"].as<std::vector<std::string>>())) {
    lengths.push_back(ParseLength(l));
  }
  const int64_t samples = vm["samples"].as<int64_t>();
  if (samples <= 0) Fail("--samples must be positive, got {}", samples);
  int threads = vm["threads"].as<int>();
  if (threads < 0) Fail("--threads must be >= 0, got {}", threads);
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // Tokenizer and model template.
  std::unique_ptr<Tokenizer> tok = LoadTokenizer(vm);
  const std::string tmpl = vm["template"].as<std::string>();
  const ChatTemplate chat = DetectChatTemplate(tok->chat_template_source());
  ruler::PromptFrame frame;
  if (tmpl == "chat" || (tmpl == "auto" && chat != ChatTemplate::kBase)) {
    if (chat == ChatTemplate::kBase) Fail("--template chat: the model has no chat template");
    frame = ruler::PromptFrame::Chat(chat, DefaultSystemPrompt(tok->chat_template_source()));
  } else if (tmpl != "base" && tmpl != "auto") {
    Fail("--template must be base, chat or auto, got '{}'", tmpl);
  }
  const std::string template_name =
      frame.head.empty() && frame.tail.empty() ? "base" : std::string(ChatTemplateName(chat));

  // Data: loaded when a selected task needs it; a task whose data is absent is skipped.
  ruler::TaskNeeds needs;
  for (const ruler::TaskSpec* t : tasks) {
    const ruler::TaskNeeds n = ruler::NeedsOf(*t);
    needs.wordlists |= n.wordlists;
    needs.essays |= n.essays;
    needs.squad |= n.squad;
    needs.hotpotqa |= n.hotpotqa;
  }
  std::optional<ruler::WordLists> words;
  std::optional<ruler::EssayHaystack> essays;
  std::optional<ruler::QaData> squad, hotpotqa;
  std::string missing_words, missing_essays, missing_squad, missing_hotpotqa;
  if (needs.wordlists) {
    if (vm.count("wordlists")) {
      words = ruler::WordLists::Load(vm["wordlists"].as<std::string>());
    } else if (const std::string dir = DefaultDataDir("wordlists"); ruler::WordLists::Present(dir)) {
      words = ruler::WordLists::Load(dir);
    } else {
      missing_words = fmt::format(
          "needs the wonderwords word lists: {} not found (run tools/fetch_wordlists, or pass "
          "--wordlists DIR)", dir);
    }
  }
  if (needs.essays) {
    if (vm.count("essays")) {
      essays = ruler::EssayHaystack::FromDirectory(vm["essays"].as<std::string>());
      std::cout << "essay haystack: " << vm["essays"].as<std::string>() << "\n";
    } else if (vm.count("books")) {
      essays = ruler::EssayHaystack::FromDirectory(vm["books"].as<std::string>());
      std::cout << "essay haystack: books in " << vm["books"].as<std::string>() << "\n";
    } else if (const std::string dir = DefaultDataDir("books"); ruler::EssayHaystack::Present(dir)) {
      essays = ruler::EssayHaystack::FromDirectory(dir);
      std::cout << "essay haystack: books in " << dir << " (no --essays given)\n";
    } else {
      missing_essays = fmt::format(
          "needs an essay haystack: no --essays DIR given and {}/*.txt not found (run "
          "tools/fetch_books for the public-domain default, or pass --essays DIR)", dir);
    }
  }
  if (needs.squad) {
    if (vm.count("squad")) {
      squad = ruler::QaData::LoadSquad(vm["squad"].as<std::string>());
    } else {
      missing_squad = "needs SQuAD: pass --squad FILE (dev-v2.0.json)";
    }
  }
  if (needs.hotpotqa) {
    if (vm.count("hotpotqa")) {
      hotpotqa = ruler::QaData::LoadHotpotQa(vm["hotpotqa"].as<std::string>());
    } else {
      missing_hotpotqa = "needs HotpotQA: pass --hotpotqa FILE (hotpot_dev_distractor_v1.json)";
    }
  }
  ruler::TaskData data;
  data.words = words ? &*words : nullptr;
  data.essays = essays ? &*essays : nullptr;
  data.squad = squad ? &*squad : nullptr;
  data.hotpotqa = hotpotqa ? &*hotpotqa : nullptr;

  const fs::path out_dir = vm["out"].as<std::string>();
  const uint64_t seed = vm["seed"].as<uint64_t>();
  std::cout << fmt::format("generate-ruler: {} task(s) x {} length(s), {} samples, seed {}, template {}, {} thread(s)\n",
                           tasks.size(), lengths.size(), samples, seed, template_name, threads);
  struct Row {
    std::string task;
    int64_t length;
    ruler::TaskStats stats;
    std::string unit;
  };
  std::vector<Row> rows;
  std::vector<std::string> skipped;
  std::vector<double> all_fill;
  const auto t0 = std::chrono::steady_clock::now();
  for (const int64_t length : lengths) {
    fs::create_directories(out_dir / std::to_string(length));
    for (const ruler::TaskSpec* spec : tasks) {
      const ruler::TaskNeeds n = ruler::NeedsOf(*spec);
      std::string why;
      if (n.wordlists && !words) why = missing_words;
      if (n.essays && !essays) why = missing_essays;
      if (n.squad && !squad) why = missing_squad;
      if (n.hotpotqa && !hotpotqa) why = missing_hotpotqa;
      if (!why.empty()) {
        const std::string line = fmt::format("{} @{}: SKIPPED: {}", spec->name, length, why);
        std::cout << line << std::endl;
        skipped.push_back(line);
        continue;
      }
      ruler::GenerateOptions opt;
      opt.length_limit = length;
      opt.num_samples = samples;
      opt.seed = seed;
      opt.frame = frame;
      opt.threads = threads;
      auto counter = [&](std::string_view text) { return ruler::CountTokens(*tok, text); };
      auto gen = ruler::MakeGenerator(*spec, data, length, counter, seed);
      // Streamed to a temporary file, renamed when complete.
      const fs::path file = out_dir / std::to_string(length) / (std::string(spec->name) + ".jsonl");
      AtomicFileWriter out(file.string());
      auto sink = [&](ruler::Sample&& s) {
        out.out() << ruler::SampleJson(*spec, length, s)
                         .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                  << '\n';
      };
      const ruler::TaskStats stats = ruler::GenerateTask(*spec, *gen, *tok, opt, sink);
      out.Commit();
      std::cout << fmt::format("{} @{}: {} samples -> {} ({} {} for sample 0; {:.1f} s, {} tokenizations)\n"
                               "    (length + tokens_to_generate) / limit: {}{}\n",
                               spec->name, length, samples, file.string(), stats.probe_size,
                               gen->SizeUnit(), stats.seconds, stats.tokenizations,
                               Quantiles(stats.fill),
                               stats.under_filled > 0
                                   ? fmt::format("  ({} under {:.0f}%: the data cannot fill the limit)",
                                                 stats.under_filled, 100 * opt.min_fill)
                                   : "");
      std::cout.flush();
      all_fill.insert(all_fill.end(), stats.fill.begin(), stats.fill.end());
      rows.push_back({std::string(spec->name), length, std::move(stats), std::string(gen->SizeUnit())});
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::cout << "\nsummary (fill = (length + tokens_to_generate) / length_limit):\n";
  std::cout << fmt::format("  {:<16} {:>7} {:>8} {:>8} {:>8} {:>8}\n", "task", "limit", "min",
                           "median", "max", "seconds");
  for (const Row& r : rows) {
    std::vector<double> f = r.stats.fill;
    std::sort(f.begin(), f.end());
    std::cout << fmt::format("  {:<16} {:>7} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.1f}\n", r.task, r.length,
                             f.front(), f[f.size() / 2], f.back(), r.stats.seconds);
  }
  std::cout << fmt::format("  all samples: {}  ({} files, {:.1f} s)\n", Quantiles(all_fill), rows.size(),
                           seconds);
  if (!skipped.empty()) {
    std::cout << fmt::format("\n{} task/length pair(s) SKIPPED for missing data (not generated):\n",
                             skipped.size());
    for (const std::string& s : skipped) std::cout << "  " << s << "\n";
  }
  if (rows.empty()) Fail("nothing generated: every selected task lacks its data");
  return 0;
}

int RunEval(const std::vector<std::string>& args) {
  po::options_description desc("eval options");
  desc.add_options()
      ("pred,p", po::value<std::vector<std::string>>()->multitoken()->required(),
       "prediction JSONL file(s): pred, outputs (or output), task (else the file name)")
      ("out,o", po::value<std::string>(), "directory for summary.csv and summary.json (default: that of the first --pred)")
      ("metric", po::value<std::vector<std::string>>()->multitoken(),
       "metric for every task (NAME) or one task (TASK=NAME); default by task name: RULER's qa_1/qa_2 "
       "string_match_part, other RULER tasks string_match_all, BABILong's qa1..qa20 babilong");
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm, "usage: starattn eval --pred FILE... [--out DIR] [--metric [TASK=]NAME...]")) {
    return 0;
  }
  const auto files = vm["pred"].as<std::vector<std::string>>();
  std::vector<ruler::Prediction> preds;
  for (const std::string& f : files) {
    auto p = ruler::ReadPredictions(f);
    preds.insert(preds.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
  }
  if (preds.empty()) Fail("no predictions in {}", fmt::join(files, ", "));
  std::map<std::string, std::string> metric_for_task;
  if (vm.count("metric")) {
    for (const std::string& m : SplitList(vm["metric"].as<std::vector<std::string>>())) {
      const size_t eq = m.find('=');
      if (eq == std::string::npos) {
        metric_for_task["*"] = m;
      } else {
        metric_for_task[m.substr(0, eq)] = m.substr(eq + 1);
      }
    }
  }
  const auto scores = ruler::ScorePredictions(preds, ruler::GlobalMetrics(), metric_for_task);
  const fs::path out = vm.count("out") ? fs::path(vm["out"].as<std::string>())
                                       : fs::absolute(files.front()).parent_path();
  fs::create_directories(out);
  WriteFileAtomically((out / "summary.csv").string(), ruler::SummaryCsv(scores));
  const auto summary = ruler::SummaryJson(scores);
  WriteFileAtomically((out / "summary.json").string(), summary.dump(2) + "\n");

  std::cout << fmt::format("{:<18} {:<18} {:>8} {:>10}\n", "task", "metric", "score", "nulls");
  for (const auto& s : scores) {
    std::cout << fmt::format("{:<18} {:<18} {:>8} {:>10}\n", s.task, s.metric, ruler::PyFloatRepr(s.score),
                             fmt::format("{}/{}", s.nulls, s.total));
  }
  std::cout << fmt::format("average over {} task(s): {}\n", scores.size(),
                           ruler::PyFloatRepr(summary["average"].get<double>()));
  if (summary.contains("ruler_tasks_missing") && !summary["ruler_tasks_missing"].empty()) {
    std::cout << fmt::format("note: RULER tasks without predictions (not in the average): {}\n",
                             fmt::join(summary["ruler_tasks_missing"].get<std::vector<std::string>>(), ", "));
  }
  std::cout << "wrote " << (out / "summary.csv").string() << " and " << (out / "summary.json").string()
            << "\n";
  return 0;
}

}  // namespace

std::vector<Command> RulerCommands() {
  return {
      {"generate-ruler", "generate RULER task data (all 13 tasks) sized with the model's tokenizer",
       RunGenerateRuler},
      {"eval", "score prediction files (RULER metrics; BABILong when registered)", RunEval},
  };
}

}  // namespace starattn::cli
