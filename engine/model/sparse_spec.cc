#include "engine/model/sparse_spec.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn {
namespace {

using Json = nlohmann::json;

const Json& Field(const Json& j, const char* name, const std::string& source) {
  if (!j.contains(name)) Fail("{}: missing field '{}'", source, name);
  return j[name];
}

int64_t PositiveInt(const Json& j, const char* name, const std::string& source) {
  const Json& v = Field(j, name, source);
  if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
    Fail("{}: '{}' must be a positive integer, got {}", source, name, v.dump());
  }
  return v.get<int64_t>();
}

int64_t NonNegativeInt(const Json& j, const char* name, const std::string& source,
                       const char* where) {
  const Json& v = Field(j, name, source);
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    Fail("{}: '{}.{}' must be an integer >= 0, got {}", source, where, name, v.dump());
  }
  return v.get<int64_t>();
}

std::vector<int32_t> HeadTypeRow(const Json& row, const std::string& source) {
  if (!row.is_array() || row.empty()) {
    Fail("{}: 'head_mask_type' rows must be non-empty lists of integers, got {}", source,
         row.dump().substr(0, 80));
  }
  std::vector<int32_t> types;
  for (const Json& t : row) {
    if (!t.is_number_integer() || t.get<int64_t>() < -2 || t.get<int64_t>() > (1 << 20)) {
      Fail("{}: 'head_mask_type' entries must be integers in [-2, 2^20], got {}", source, t.dump());
    }
    types.push_back(t.get<int32_t>());
  }
  return types;
}

}  // namespace

std::shared_ptr<const SparseSpec> LoadSparseSpec(const std::string& path) {
  Json j;
  try {
    j = Json::parse(ReadFileToString(path));
  } catch (const Json::exception& e) {
    Fail("{}: not a JSON mask file: {}", path, e.what());
  }
  if (!j.is_object()) Fail("{}: a mask file is a JSON object", path);
  for (const auto& [key, value] : j.items()) {
    static const char* const kKeys[] = {"block_size", "head_mask_type", "streaming",
                                        "base_masks", "density",        "description"};
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      Fail(
          "{}: unknown key '{}' (block_size, head_mask_type, streaming, base_masks, density, "
          "description)",
          path, Printable(key));
    }
  }
  auto spec = std::make_shared<SparseSpec>();
  spec->source = path;
  spec->block = PositiveInt(j, "block_size", path);
  const Json& types = Field(j, "head_mask_type", path);
  if (!types.is_array() || types.empty())
    Fail("{}: 'head_mask_type' must be a non-empty list", path);
  if (types[0].is_array()) {
    spec->per_layer = true;
    for (const Json& row : types) spec->head_types.push_back(HeadTypeRow(row, path));
  } else {
    spec->head_types.push_back(HeadTypeRow(types, path));
  }
  bool streaming = false, estimated = false;
  int32_t max_base = 0;
  for (const auto& row : spec->head_types) {
    for (int32_t t : row) {
      streaming |= t == -1;
      estimated |= t == -2;
      max_base = std::max(max_base, t);
    }
  }
  if (streaming) {
    const Json& s = Field(j, "streaming", path);
    if (!s.is_object()) Fail("{}: 'streaming' must be an object, got {}", path, s.dump());
    spec->sink = NonNegativeInt(s, "sink", path, "streaming");
    spec->local = NonNegativeInt(s, "local", path, "streaming");
    if (s.contains("unit") && !s["unit"].is_string()) {
      Fail("{}: 'streaming.unit' must be tokens or blocks, got {}", path, s["unit"].dump());
    }
    const std::string unit = s.value("unit", "tokens");
    if (unit != "tokens" && unit != "blocks") {
      Fail("{}: 'streaming.unit' must be tokens or blocks, got '{}'", path, unit);
    }
    spec->streaming_in_blocks = unit == "blocks";
    if (spec->sink < 0 || spec->local < 0 || spec->sink + spec->local == 0) {
      Fail("{}: 'streaming' needs sink >= 0, local >= 0 and sink + local > 0, got {} + {}", path,
           spec->sink, spec->local);
    }
  }
  if (estimated) {
    const Json& d = Field(j, "density", path);
    if (!d.is_number()) Fail("{}: 'density' must be a number in (0, 1], got {}", path, d.dump());
    spec->density = d.get<double>();
    if (!(spec->density > 0 && spec->density <= 1)) {
      Fail("{}: 'density' must be in (0, 1], got {}", path, spec->density);
    }
  }
  if (max_base > 0) {
    const Json& masks = Field(j, "base_masks", path);
    if (!masks.is_array() || static_cast<int32_t>(masks.size()) < max_base) {
      Fail("{}: head type {} names base mask {}, but 'base_masks' has {}", path, max_base, max_base,
           masks.is_array() ? masks.size() : 0);
    }
    for (size_t k = 0; k < masks.size(); ++k) {
      const Json& m = masks[k];
      if (!m.is_array() || m.empty() || !m[0].is_array() || m[0].empty()) {
        Fail("{}: base mask {} must be a non-empty list of rows", path, k + 1);
      }
      const int64_t rows = static_cast<int64_t>(m.size()), cols = static_cast<int64_t>(m[0].size());
      std::vector<uint8_t> bits;
      for (int64_t r = 0; r < rows; ++r) {
        if (!m[r].is_array() || static_cast<int64_t>(m[r].size()) != cols) {
          Fail("{}: base mask {} row {} has {} entries, expected {}", path, k + 1, r,
               m[r].is_array() ? m[r].size() : 0, cols);
        }
        for (const Json& b : m[r]) {
          if (!b.is_number_integer() || (b.get<int64_t>() != 0 && b.get<int64_t>() != 1)) {
            Fail("{}: base mask {} row {} entries must be 0 or 1, got {}", path, k + 1, r,
                 b.dump());
          }
          bits.push_back(static_cast<uint8_t>(b.get<int64_t>()));
        }
      }
      spec->base_masks.push_back(std::move(bits));
      spec->base_rows.push_back(rows);
      spec->base_cols.push_back(cols);
    }
  }
  return spec;
}

std::shared_ptr<const SparseSpec> StreamingSpec(int64_t sink, int64_t local, bool in_blocks,
                                                int64_t block) {
  if (sink < 0 || local < 0 || sink + local <= 0) {
    Fail("streaming needs --sink >= 0, --local >= 0 and --sink + --local > 0, got {} + {}", sink,
         local);
  }
  if (block <= 0) Fail("--sparse-block must be positive, got {}", block);
  auto spec = std::make_shared<SparseSpec>();
  spec->source = "flags";
  spec->block = block;
  spec->head_types = {{-1}};  // widened to every head by LayerMask
  spec->sink = sink;
  spec->local = local;
  spec->streaming_in_blocks = in_blocks;
  return spec;
}

std::shared_ptr<const SparseSpec> EstimatedSpec(double density, int64_t block) {
  if (!(density > 0 && density <= 1)) Fail("--density must be in (0, 1], got {}", density);
  if (block <= 0) Fail("--sparse-block must be positive, got {}", block);
  auto spec = std::make_shared<SparseSpec>();
  spec->source = "flags";
  spec->block = block;
  spec->head_types = {{-2}};
  spec->density = density;
  return spec;
}

void SparseSpec::Validate(const ModelConfig& c, int64_t max_tokens) const {
  if (per_layer && static_cast<int64_t>(head_types.size()) != c.n_layers) {
    Fail("{}: 'head_mask_type' has {} layers, the model {}", source, head_types.size(), c.n_layers);
  }
  const bool from_flags = source == "flags";
  for (const auto& row : head_types) {
    if (!from_flags && static_cast<int64_t>(row.size()) != c.n_heads) {
      Fail("{}: 'head_mask_type' has {} heads, the model {}", source, row.size(), c.n_heads);
    }
  }
  const int64_t blocks = (max_tokens + block - 1) / block;
  for (size_t k = 0; k < base_masks.size(); ++k) {
    if (base_rows[k] < blocks || base_cols[k] < blocks) {
      Fail(
          "{}: base mask {} is {} x {} blocks, the {}-token sequence needs {} x {} (block size "
          "{})",
          source, k + 1, base_rows[k], base_cols[k], max_tokens, blocks, blocks, block);
    }
  }
}

SparseMask SparseSpec::LayerMask(int64_t layer, std::vector<HeadPattern>* patterns) const {
  const std::vector<int32_t>& row = per_layer ? head_types[layer] : head_types[0];
  const size_t n_heads = patterns->size();
  for (size_t h = 0; h < n_heads; ++h) {
    const int32_t t = row.size() == 1 ? row[0] : row[h];
    HeadPattern& p = (*patterns)[h];
    p = HeadPattern{};
    if (t == 0) {
      p.kind = HeadPatternKind::kDense;
    } else if (t == -1) {
      p.kind = streaming_in_blocks ? HeadPatternKind::kStreamingBlocks
                                   : HeadPatternKind::kStreamingTokens;
      p.sink = sink;
      p.local = local;
    } else if (t == -2) {
      p.kind = HeadPatternKind::kBlockEstimated;
      p.density = density;
    } else {
      p.kind = HeadPatternKind::kBlockSparse;
      p.mask = base_masks[t - 1].data();
      p.mask_rows = base_rows[t - 1];
      p.mask_cols = base_cols[t - 1];
    }
  }
  return {block, patterns->data()};
}

}  // namespace starattn
