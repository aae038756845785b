// The attention settings of `run`, `bench` and sweep configs, parsed in one place: the mode, the
// hosts, star's block and anchor, and the sparse modes' patterns and top-k cache
// (engine/model/distributed.h: DistConfig).
#pragma once

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/model/distributed.h"

namespace starattn::cli {

// The sparse modes' settings as given (flags or a sweep config's attention entry).
struct SparseSettings {
  int64_t sink = -1, local = -1;  // streaming (-1: not given)
  std::string unit = "tokens";    // streaming: tokens or blocks
  int64_t block = 128;            // streaming blocks, block-sparse blocks
  double density = 0;             // block-sparse: the estimator
  std::string mask_file;          // block-sparse (or streaming): a mask file
  int64_t topk = 0;               // topk-kv: blocks per step, or
  double topk_fraction = 0;       // ... a fraction of the context blocks
  int64_t topk_sink = 64, topk_block = 128, recency = 256;
  // Which keys were given (for "applies to ... only" errors).
  std::vector<std::string> given;
  // Errors name the settings as flags (--topk-sink) rather than JSON keys (topk_sink).
  bool from_flags = false;
};

// Fills cfg's sparse fields for cfg.mode from `s` (loading the mask file); throws Error naming
// the setting when one does not apply to the mode or is missing or out of range.
void ApplySparseSettings(const SparseSettings& s, DistConfig* cfg);

// --attn, --hosts, --block-size, --anchor-size, --anchor-positions, --anchor-source, and the
// sparse modes' --sink, --local, --stream-unit, --sparse-block, --density, --mask-file, --topk,
// --topk-fraction, --topk-sink, --topk-block, --recency.
void AddAttentionOptions(boost::program_options::options_description& desc);
// Throws Error naming the option.
DistConfig DistConfigFromOptions(const boost::program_options::variables_map& vm);

// A sweep config's attention entry keys for the sparse modes (sink, local, unit, sparse_block,
// density, mask_file, topk, topk_fraction, topk_sink, topk_block, recency).
extern const std::vector<std::string> kSparseJsonKeys;
SparseSettings SparseSettingsFromJson(const nlohmann::json& a, const std::string& where);

}  // namespace starattn::cli
