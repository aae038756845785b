// The declarative sweep: which models, benchmarks, tasks, lengths, samples, seed, template and
// attention configurations to run (tasks/<name>.json), validated with one-line errors.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/distributed.h"

namespace starattn::cli {

struct SweepModel {
  std::string label;  // directory name under results/<name>/
  std::string path;   // .gguf or HF directory
};

struct SweepBenchmark {
  std::string name;  // "ruler" or "babilong"
  std::vector<std::string> tasks;
  // As the generator takes them: a token count ("4096"), or a suffix by the benchmark's rule
  // (engine/common/parse.h LengthRule): ruler "4k" = 4096 tokens, babilong "4k" = 4000.
  std::vector<std::string> lengths;
  // Data options passed to the generator (e.g. "essays", "books", "wordlists", "babi").
  std::vector<std::pair<std::string, std::string>> data;
  // The benchmark's profile ("ruler" / "star-attention", "project" / "reference") and the
  // settings given over it (ruler/profile.h, babilong/profile.h keys -> values).
  std::string profile;
  nlohmann::json settings = nlohmann::json::object();
};

struct SweepAttention {
  std::string label;
  AttnMode mode = AttnMode::kDense;
  int hosts = 1;
  // Block size: a token count, or the nominal length divided by block_div ("L/4").
  int64_t block_tokens = 0;
  int64_t block_div = 0;
  // Anchor size: -1 = the block size; else a token count or L / anchor_div.
  int64_t anchor_tokens = -1;
  int64_t anchor_div = 0;
  AnchorPositions anchor_positions = AnchorPositions::kOriginal;
  AnchorSource anchor_source = AnchorSource::kFirst;
  // The sparse modes' patterns and top-k cache settings (harness/lib/attn_options.h keys; a
  // mask file is relative to the config's directory), applied to `mode` when parsed.
  DistConfig sparse;
  // The run configuration at a nominal context length of `length_tokens`.
  DistConfig At(int64_t length_tokens) const;
};

struct SweepConfig {
  std::string name;
  std::string source;  // the config file
  std::vector<SweepModel> models;
  std::vector<SweepBenchmark> benchmarks;
  std::vector<SweepAttention> attention;
  int64_t samples = 0;
  uint64_t seed = 42;
  std::string chat_template = "auto";
  std::optional<int64_t> tokens_to_generate;  // overrides each task's own
  nlohmann::json raw;
};

// Parses and validates; throws Error("<file>: <where>: <problem>").
SweepConfig ParseSweepConfig(const std::string& path);
SweepConfig ParseSweepConfigJson(const nlohmann::json& j, const std::string& source);

// Nominal tokens of a length label: "4096" -> 4096, "4k" -> 4096 for RULER; BABILong's "4k"
// is 4000 tokens as its generator counts them.
int64_t LengthTokens(const std::string& benchmark, const std::string& length);
// The directory label of a length: 4096 -> "4k", "4k" -> "4k", 1000 -> "1000".
std::string LengthLabel(const std::string& length);

}  // namespace starattn::cli
