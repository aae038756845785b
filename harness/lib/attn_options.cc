#include "harness/lib/attn_options.h"

#include <algorithm>

#include "engine/common/error.h"
#include "engine/common/parse.h"

namespace po = boost::program_options;

namespace starattn::cli {
namespace {

bool Given(const SparseSettings& s, const std::string& key) {
  return std::find(s.given.begin(), s.given.end(), key) != s.given.end();
}

// A setting as the user wrote it: the JSON key, or its flag.
std::string Name(const SparseSettings& s, std::string key) {
  if (!s.from_flags) return key;
  if (key == "unit") return "--stream-unit";
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

void Only(const SparseSettings& s, const std::vector<std::string>& keys, const char* modes) {
  for (const std::string& k : keys) {
    if (Given(s, k)) Fail("{} applies to attention {} only", Name(s, k), modes);
  }
}

}  // namespace

const std::vector<std::string> kSparseJsonKeys = {
    "sink", "local",         "unit",      "sparse_block", "density", "mask_file",
    "topk", "topk_fraction", "topk_sink", "topk_block",   "recency"};

void ApplySparseSettings(const SparseSettings& s, DistConfig* cfg) {
  const std::vector<std::string> streaming = {"sink", "local", "unit"};
  const std::vector<std::string> block_sparse = {"density"};
  const std::vector<std::string> shared = {"sparse_block", "mask_file"};
  const std::vector<std::string> topk = {"topk", "topk_fraction", "topk_sink", "topk_block",
                                         "recency"};
  switch (cfg->mode) {
    case AttnMode::kStreaming:
      Only(s, block_sparse, "block-sparse");
      Only(s, topk, "topk-kv");
      if (!s.mask_file.empty()) {
        if (Given(s, "sink") || Given(s, "local")) {
          Fail("give {}/{} or {} for streaming, not both", Name(s, "sink"), Name(s, "local"),
               Name(s, "mask_file"));
        }
        cfg->sparse = LoadSparseSpec(s.mask_file);
      } else {
        if (s.unit != "tokens" && s.unit != "blocks") {
          Fail("{} must be tokens or blocks, got '{}'", Name(s, "unit"), s.unit);
        }
        if (s.sink < 0 || s.local < 0) {
          Fail("streaming needs {} and {} (>= 0)", Name(s, "sink"), Name(s, "local"));
        }
        cfg->sparse = StreamingSpec(s.sink, s.local, s.unit == "blocks", s.block);
      }
      return;
    case AttnMode::kBlockSparse:
      Only(s, streaming, "streaming");
      Only(s, topk, "topk-kv");
      if (!s.mask_file.empty()) {
        if (Given(s, "density")) {
          Fail("give {} or {} for block-sparse, not both", Name(s, "density"),
               Name(s, "mask_file"));
        }
        cfg->sparse = LoadSparseSpec(s.mask_file);
      } else {
        if (!Given(s, "density")) {
          Fail("block-sparse needs {} (0, 1] or {}", Name(s, "density"), Name(s, "mask_file"));
        }
        cfg->sparse = EstimatedSpec(s.density, s.block);
      }
      return;
    case AttnMode::kTopkKv:
      Only(s, streaming, "streaming");
      Only(s, block_sparse, "block-sparse");
      Only(s, shared, "streaming or block-sparse");
      cfg->topk = s.topk;
      cfg->topk_fraction = s.topk_fraction;
      cfg->topk_sink = s.topk_sink;
      cfg->topk_block = s.topk_block;
      cfg->topk_recency = s.recency;
      if ((s.topk > 0) == (s.topk_fraction > 0)) {
        Fail("topk-kv needs one of {} (blocks, > 0) or {} (0, 1], got {} and {}", Name(s, "topk"),
             Name(s, "topk_fraction"), s.topk, s.topk_fraction);
      }
      if (s.topk < 0) Fail("{} must be positive, got {}", Name(s, "topk"), s.topk);
      if (s.topk_fraction < 0 || s.topk_fraction > 1) {
        Fail("{} must be in (0, 1], got {}", Name(s, "topk_fraction"), s.topk_fraction);
      }
      if (s.topk_block <= 0) {
        Fail("{} must be positive, got {}", Name(s, "topk_block"), s.topk_block);
      }
      if (s.topk_sink < 0 || s.recency < 0) {
        Fail("{} and {} must be >= 0, got {} and {}", Name(s, "topk_sink"), Name(s, "recency"),
             s.topk_sink, s.recency);
      }
      return;
    case AttnMode::kDense:
    case AttnMode::kStar:
    case AttnMode::kRing:
      Only(s, streaming, "streaming");
      Only(s, block_sparse, "block-sparse");
      Only(s, shared, "streaming or block-sparse");
      Only(s, topk, "topk-kv");
      return;
  }
}

void AddAttentionOptions(po::options_description& desc) {
  desc.add_options()("attn", po::value<std::string>()->default_value("dense"),
                     "attention: dense, star, ring, streaming, block-sparse, topk-kv")(
      "hosts", po::value<int>()->default_value(1),
      "hosts (under mpirun: must equal the world size)")(
      "block-size", po::value<int64_t>()->default_value(0), "star: context block size in tokens")(
      "anchor-size", po::value<int64_t>()->default_value(-1),
      "star: anchor size (default: block size)")(
      "anchor-positions", po::value<std::string>()->default_value("original"),
      "star: original (anchor keeps ids 0..a-1) or shifted (ids just before the block)")(
      "anchor-source", po::value<std::string>()->default_value("first"),
      "star: first (first block), previous (the block before), none")(
      "sink", po::value<int64_t>(), "streaming: sink tokens (or blocks with --stream-unit blocks)")(
      "local", po::value<int64_t>(), "streaming: local window in tokens (or blocks)")(
      "stream-unit", po::value<std::string>()->default_value("tokens"),
      "streaming: tokens (StreamingLLM) or blocks of --sparse-block tokens")(
      "sparse-block", po::value<int64_t>()->default_value(128),
      "streaming/block-sparse: block size in tokens")(
      "density", po::value<double>(),
      "block-sparse: estimated masks keeping this fraction of the key blocks, (0, 1]")(
      "mask-file", po::value<std::string>(),
      "block-sparse/streaming: a JSON mask file (head_mask_type, base_masks; README)")(
      "topk", po::value<int64_t>(), "topk-kv: context blocks attended per decode step")(
      "topk-fraction", po::value<double>(),
      "topk-kv: or this fraction of the context blocks, (0, 1]")(
      "topk-sink", po::value<int64_t>()->default_value(64), "topk-kv: sink tokens")(
      "topk-block", po::value<int64_t>()->default_value(128), "topk-kv: context block size")(
      "recency", po::value<int64_t>()->default_value(256),
      "topk-kv: recent tokens always attended");
}

DistConfig DistConfigFromOptions(const po::variables_map& vm) {
  DistConfig cfg;
  cfg.mode = ParseAttnMode(vm["attn"].as<std::string>());
  cfg.hosts = vm["hosts"].as<int>();
  cfg.block_size = vm["block-size"].as<int64_t>();
  cfg.anchor_size = vm["anchor-size"].as<int64_t>();
  cfg.anchor_positions = ParseAnchorPositions(vm["anchor-positions"].as<std::string>());
  cfg.anchor_source = ParseAnchorSource(vm["anchor-source"].as<std::string>());
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  if (cfg.mode != AttnMode::kStar && !vm["block-size"].defaulted()) {
    Fail("--block-size applies to --attn star only");
  }
  SparseSettings s;
  auto flag = [&](const char* option, const char* key) {
    const bool given = vm.count(option) && !vm[option].defaulted();
    if (given) s.given.push_back(key);
    return given;
  };
  if (flag("sink", "sink")) s.sink = vm["sink"].as<int64_t>();
  if (flag("local", "local")) s.local = vm["local"].as<int64_t>();
  flag("stream-unit", "unit");
  s.unit = vm["stream-unit"].as<std::string>();
  flag("sparse-block", "sparse_block");
  s.block = vm["sparse-block"].as<int64_t>();
  if (flag("density", "density")) s.density = vm["density"].as<double>();
  if (flag("mask-file", "mask_file")) s.mask_file = vm["mask-file"].as<std::string>();
  if (flag("topk", "topk")) s.topk = vm["topk"].as<int64_t>();
  if (flag("topk-fraction", "topk_fraction")) s.topk_fraction = vm["topk-fraction"].as<double>();
  flag("topk-sink", "topk_sink");
  s.topk_sink = vm["topk-sink"].as<int64_t>();
  flag("topk-block", "topk_block");
  s.topk_block = vm["topk-block"].as<int64_t>();
  flag("recency", "recency");
  s.recency = vm["recency"].as<int64_t>();
  s.from_flags = true;
  ApplySparseSettings(s, &cfg);
  return cfg;
}

SparseSettings SparseSettingsFromJson(const nlohmann::json& a, const std::string& where) {
  SparseSettings s;
  auto get_int = [&](const char* key, int64_t* out) {
    if (!a.contains(key)) return;
    if (!a[key].is_number_integer()) {
      Fail("{}.{} must be an integer, got {}", where, key, JsonSnippet(a[key]));
    }
    *out = JsonInt(a[key], where + "." + key);
    s.given.push_back(key);
  };
  auto get_double = [&](const char* key, double* out) {
    if (!a.contains(key)) return;
    if (!a[key].is_number())
      Fail("{}.{} must be a number, got {}", where, key, JsonSnippet(a[key]));
    *out = a[key].get<double>();
    s.given.push_back(key);
  };
  auto get_string = [&](const char* key, std::string* out) {
    if (!a.contains(key)) return;
    if (!a[key].is_string())
      Fail("{}.{} must be a string, got {}", where, key, JsonSnippet(a[key]));
    *out = a[key].get<std::string>();
    s.given.push_back(key);
  };
  get_int("sink", &s.sink);
  get_int("local", &s.local);
  get_string("unit", &s.unit);
  get_int("sparse_block", &s.block);
  get_double("density", &s.density);
  get_string("mask_file", &s.mask_file);
  get_int("topk", &s.topk);
  get_double("topk_fraction", &s.topk_fraction);
  get_int("topk_sink", &s.topk_sink);
  get_int("topk_block", &s.topk_block);
  get_int("recency", &s.recency);
  return s;
}

}  // namespace starattn::cli
