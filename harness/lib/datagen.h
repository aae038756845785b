// Generating benchmark task files sized with a model's tokenizer: RULER (ruler/generate.h) and
// BABILong (babilong/generate.h). The library behind `generate-ruler`, `generate-babilong` and
// `sweep`; the commands only turn their flags into these options.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace starattn::cli {

// The tokenizer of a model (a .gguf file, or a Hugging Face folder with tokenizer.json) or of a
// tokenizer file (tokenizer.json or .gguf); the weights are not loaded.
std::unique_ptr<Tokenizer> LoadTokenizerOf(const std::string& path);

// data/<name> under the working directory, else beside the binary's parent (build/../data/<name>);
// the first when neither exists.
std::string DefaultDataDir(const std::string& name);

struct RulerDataOptions {
  std::string tokenizer;                     // model or tokenizer path (LoadTokenizerOf)
  std::vector<std::string> tasks = {"all"};  // RULER task names, or "all"
  std::vector<int64_t> lengths;              // length limits in tokens
  int64_t samples = 500;                     // per task and length
  uint64_t seed = 42;
  std::string chat_template = "auto";  // chat, base, auto (chat when the model has a template)
  std::string out;                     // OUT/<length>/<task>.jsonl
  // Data folders and files; empty: the default (data/books, data/wordlists) or absent.
  std::string essays, books, wordlists, squad, hotpotqa;
  int threads = 0;  // 0: all cores
  // The profile (ruler/profile.h) and settings over it (setting -> value).
  std::string profile = "ruler";
  nlohmann::json settings = nlohmann::json::object();

  // Every option that shapes the files (for the sweep's reuse check).
  nlohmann::json ToJson() const;
};

// Writes the task files, printing per-file lines and a summary to `log`, and OUT/profile.json
// (DataInfo). A task whose data is missing is skipped with a line saying why; Error when nothing
// could be generated or an option is wrong (unknown task, non-positive samples or length,
// unknown template, unknown profile or setting). Returns what profile.json holds.
nlohmann::ordered_json GenerateRulerData(const RulerDataOptions& o, std::ostream& log);

struct BabilongDataOptions {
  std::string tokenizer;  // model or tokenizer path (LoadTokenizerOf)
  // Names (qa1), ranges (qa1..qa5, qa1-qa5) or all (qa1-qa20 with `babi`, qa1-qa5 without).
  std::vector<std::string> tasks = {"qa1..qa5"};
  std::vector<std::string> lengths;  // 0k 1k 4k ... (k = 1000 tokens), 1M, or token counts
  int64_t samples = 100;             // per task and length
  uint64_t seed = 42;
  std::string chat_template = "auto";  // base, chat, auto, or a family: chatml, llama3, llama2
  std::string out;                     // OUT/<task>_<length>.jsonl
  std::string babi;                    // the official bAbI files; empty: built-in qa1-qa5
  std::string books;                   // background text; empty: data/books
  // The profile (babilong/profile.h) and settings over it (setting -> value).
  std::string profile = "project";
  nlohmann::json settings = nlohmann::json::object();

  nlohmann::json ToJson() const;
};

// Expands `tasks` as above into qaN names, in order, without repeats.
std::vector<std::string> ExpandBabilongTasks(const std::vector<std::string>& tasks, bool have_babi);

// Writes the task files, printing one line per file to `log`, and OUT/profile.json (DataInfo).
// Everything that can fail is checked before the slow part (CheckBabilongInputs). Returns what
// profile.json holds.
nlohmann::ordered_json GenerateBabilongData(const BabilongDataOptions& o, std::ostream& log);

// The checks GenerateBabilongData makes before it loads a tokenizer: samples, tasks, lengths, the
// profile and its settings, the prompts file (every task has its prompts), the subset file and the
// bAbI files. Throws Error with one line naming the problem.
void CheckBabilongInputs(const BabilongDataOptions& o);
// The checks GenerateRulerData makes first: tasks, lengths, samples, the profile and its settings.
void CheckRulerInputs(const RulerDataOptions& o);

// What was generated, as OUT/profile.json records it beside the data (and a sweep's manifest):
//   benchmark, profile, settings (every setting), overrides (those given over the profile's),
//   prompts {file, sha256} (BABILong), haystack (the background text: its folder and files, or
//   "none"), samples (where the questions come from; BABILong)
// Reports name these per unit (report.h).
inline constexpr const char* kDataInfoFile = "profile.json";

}  // namespace starattn::cli
