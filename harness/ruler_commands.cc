// generate-ruler and eval: the RULER benchmark's data generation and the benchmark-agnostic
// scorer (ruler/generate.h, ruler/scoring.h).
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <map>

#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/common/parse.h"
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

int RunGenerateRuler(const std::vector<std::string>& args) {
  po::options_description desc("generate-ruler options");
  desc.add_options()("model,m", po::value<std::string>(),
                     "model (.gguf or HF directory) whose tokenizer sizes the prompts")(
      "tokenizer", po::value<std::string>(), "a tokenizer.json (instead of --model)")(
      "tasks", po::value<std::vector<std::string>>()->multitoken()->default_value({"all"}, "all"),
      "tasks (space or comma separated), or all")(
      "lengths", po::value<std::vector<std::string>>()->multitoken()->required(),
      "length limits in tokens (input + tokens to generate): 4096 8192, or 4k 8k with k = 1024 "
      "tokens as in RULER (M = 1024 x 1024)")("samples", po::value<int64_t>()->default_value(500),
                                              "samples per task and length")(
      "seed", po::value<uint64_t>()->default_value(42), "random seed")(
      "template", po::value<std::string>()->default_value("auto"),
      "model template: chat (the model's chat template), base (none), auto (chat if the model has "
      "one)")("out,o", po::value<std::string>()->required(),
              "output directory: OUT/<length>/<task>.jsonl")(
      "essays", po::value<std::string>(), "directory of .txt essays for the essay haystack")(
      "books", po::value<std::string>(),
      "directory of .txt books used when --essays is not given (default data/books, from "
      "tools/fetch_books)")("wordlists", po::value<std::string>(),
                            "directory with adjectivelist.txt, nounlist.txt, verblist.txt (default "
                            "data/wordlists, from tools/fetch_wordlists)")(
      "squad", po::value<std::string>(), "SQuAD dev-v2.0 JSON (qa_1)")(
      "hotpotqa", po::value<std::string>(), "HotpotQA dev distractor JSON (qa_2)")(
      "threads,t", po::value<int>()->default_value(0), "threads (0 = all cores)")(
      "profile", po::value<std::string>()->default_value("ruler"),
      "ruler (NVIDIA/RULER's parameters and budgets) or star-attention (the Star-Attention "
      "repository's: CWE 300/30, FWE 120 new tokens, the context part ending with the newline "
      "after the context); see ruler/profile.h")(
      "set", po::value<std::vector<std::string>>()->multitoken(),
      "override a profile setting, KEY=VALUE: cwe_freq_cw, cwe_freq_ucw, split "
      "(context|context-line), tokens_to_generate.TASK (recorded in profile.json and the data)");
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn generate-ruler (--model PATH | --tokenizer FILE) --lengths N... --out "
          "DIR\n"
          "         [--tasks LIST|all] [--samples N] [--seed S] [--template base|chat|auto]\n"
          "         [--essays DIR | --books DIR] [--wordlists DIR] [--squad FILE] [--hotpotqa "
          "FILE]\n"
          "         [--profile ruler|star-attention] [--set KEY=VALUE...]\n\n"
          "Writes OUT/<length>/<task>.jsonl: index, task, length_limit, tokens_to_generate, "
          "length\n"
          "(tokens of input), outputs, input_context, input_query, input.")) {
    return 0;
  }

  if (vm.count("model") == vm.count("tokenizer")) Fail("give exactly one of --model, --tokenizer");
  RulerDataOptions o;
  o.tokenizer = vm[vm.count("model") ? "model" : "tokenizer"].as<std::string>();
  o.tasks = SplitList(vm["tasks"].as<std::vector<std::string>>());
  for (const std::string& l : SplitList(vm["lengths"].as<std::vector<std::string>>())) {
    o.lengths.push_back(starattn::ParseLength(l, "--lengths", LengthRule::kRuler));
  }
  o.samples = vm["samples"].as<int64_t>();
  o.seed = vm["seed"].as<uint64_t>();
  o.chat_template = vm["template"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  for (auto [flag, field] : {std::pair{"essays", &o.essays},
                             {"books", &o.books},
                             {"wordlists", &o.wordlists},
                             {"squad", &o.squad},
                             {"hotpotqa", &o.hotpotqa}}) {
    if (vm.count(flag)) *field = vm[flag].as<std::string>();
  }
  o.threads = vm["threads"].as<int>();
  o.profile = vm["profile"].as<std::string>();
  if (vm.count("set")) o.settings = ParseSetOptions(vm["set"].as<std::vector<std::string>>());
  GenerateRulerData(o, std::cout);
  return 0;
}

// Everything generate-ruler can fail on is its input (options, files): exit 2.
int RunGenerateRulerExit2(const std::vector<std::string>& args) {
  try {
    return RunGenerateRuler(args);
  } catch (const Error& e) {
    std::cerr << "starattn generate-ruler: error: " << e.what() << "\n";
  } catch (const fs::filesystem_error& e) {
    std::cerr << "starattn generate-ruler: error: " << e.what() << "\n";
  }
  return 2;
}

int RunEval(const std::vector<std::string>& args) {
  po::options_description desc("eval options");
  desc.add_options()(
      "pred,p", po::value<std::vector<std::string>>()->multitoken()->required(),
      "prediction JSONL file(s): pred, outputs (or output), task (else the file name)")(
      "out,o", po::value<std::string>(),
      "directory for summary.csv and summary.json (default: that of the first --pred)")(
      "metric", po::value<std::vector<std::string>>()->multitoken(),
      "metric for every task (NAME) or one task (TASK=NAME); default by task name: RULER's "
      "qa_1/qa_2 "
      "string_match_part, other RULER tasks string_match_all, BABILong's qa1..qa20 babilong");
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn eval --pred FILE... [--out DIR] [--metric [TASK=]NAME...]")) {
    return 0;
  }
  const auto files = vm["pred"].as<std::vector<std::string>>();
  std::vector<ruler::Prediction> preds;
  for (const std::string& f : files) {
    // A record without "task" belongs to the task the file is named after (RULER's layout).
    records::ReadOptions ropts;
    ropts.default_task = fs::path(f).stem().string();
    ropts.drop_inputs = true;
    records::RecordFile rf = records::ReadRecords(f, ropts);
    if (rf.torn_last_line) {
      std::cerr << "eval: " << f << ": the last line is incomplete (a run in progress or killed): "
                << "skipped\n";
    }
    for (records::Record& r : rf.records) preds.push_back(records::ToRulerPrediction(std::move(r)));
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
    std::cout << fmt::format("{:<18} {:<18} {:>8} {:>10}\n", s.task, s.metric,
                             ruler::PyFloatRepr(s.score), fmt::format("{}/{}", s.nulls, s.total));
  }
  std::cout << fmt::format("average over {} task(s): {}\n", scores.size(),
                           ruler::PyFloatRepr(summary["average"].get<double>()));
  if (summary.contains("ruler_tasks_missing") && !summary["ruler_tasks_missing"].empty()) {
    std::cout << fmt::format(
        "note: RULER tasks without predictions (not in the average): {}\n",
        fmt::join(summary["ruler_tasks_missing"].get<std::vector<std::string>>(), ", "));
  }
  std::cout << "wrote " << (out / "summary.csv").string() << " and "
            << (out / "summary.json").string() << "\n";
  return 0;
}

}  // namespace

std::vector<Command> RulerCommands() {
  return {
      {"generate-ruler", "generate RULER task data (all 13 tasks) sized with the model's tokenizer",
       RunGenerateRulerExit2},
      {"eval", "score prediction files (RULER metrics; BABILong when registered)", RunEval},
  };
}

}  // namespace starattn::cli
