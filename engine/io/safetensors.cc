// safetensors: u64 header_len (little-endian) | JSON header of header_len bytes | data.
// The header maps tensor name -> {"dtype", "shape", "data_offsets": [begin, end]}, offsets
// relative to the start of the data; "__metadata__" holds free-form strings (ignored).
#include "engine/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <utility>

#include "engine/common/error.h"
#include "engine/common/parse.h"
#include "engine/io/dequant.h"

namespace starattn {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors reader assumes a little-endian host");

namespace fs = std::filesystem;
using nlohmann::json;

// The reference implementation (huggingface/safetensors) refuses headers larger than this.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Bytes per element of every dtype safetensors defines; 0 if unknown.
size_t DtypeSize(std::string_view dtype) {
  static constexpr std::pair<std::string_view, size_t> kSizes[] = {
      {"F64", 8},  {"F32", 4},     {"F16", 2},     {"BF16", 2},   {"I64", 8}, {"I32", 4},
      {"I16", 2},  {"I8", 1},      {"U64", 8},     {"U32", 4},    {"U16", 2}, {"U8", 1},
      {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1}};
  for (const auto& [name, size] : kSizes) {
    if (name == dtype) return size;
  }
  return 0;
}

// A non-negative JSON integer, or an Error naming `what`.
uint64_t ToU64(const json& j, const std::string& path, const std::string& what) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(j.get<int64_t>());
  }
  Fail("{}: {} must be a non-negative integer, got {}", path, what, JsonSnippet(j, 120));
}

json ParseJson(std::string_view text, const std::string& path, std::string_view what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    Fail("{}: invalid JSON {}: {}", path, what, Printable(e.what(), 120));
  }
}

}  // namespace

int64_t SafeTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsCheckpoint SafetensorsCheckpoint::OpenFile(const std::string& path) {
  return FromMapped(MappedFile::Open(path));
}

SafetensorsCheckpoint SafetensorsCheckpoint::FromMapped(MappedFile file) {
  SafetensorsCheckpoint c;
  c.AddFile(std::move(file));
  return c;
}

SafetensorsCheckpoint SafetensorsCheckpoint::OpenDir(const std::string& dir) {
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  std::error_code ec;
  if (fs::is_regular_file(index, ec)) {
    const std::string index_path = index.string();
    const json j = ParseJson(ReadFileToString(index_path), index_path, "index");
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      Fail("{}: index has no \"weight_map\" object", index_path);
    }
    // weight_map: tensor name -> shard file name (relative to dir).
    std::map<std::string, std::string> weight_map;
    std::set<std::string> shards;
    for (const auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) {
        Fail("{}: weight_map entry '{}' is not a string", index_path, Printable(name, 120));
      }
      const std::string shard = file.get<std::string>();
      if (shard.empty() || fs::path(shard).is_absolute() || shard.find("..") != std::string::npos) {
        Fail("{}: weight_map entry '{}' names an invalid shard '{}'", index_path,
             Printable(name, 120), Printable(shard, 120));
      }
      weight_map.emplace(name, shard);
      shards.insert(shard);
    }
    if (shards.empty()) Fail("{}: weight_map is empty", index_path);
    SafetensorsCheckpoint c;
    for (const std::string& shard : shards) {
      const fs::path p = fs::path(dir) / shard;
      if (!fs::is_regular_file(p, ec)) {
        Fail("{}: shard '{}' listed in weight_map does not exist", index_path,
             Printable(shard, 120));
      }
      c.AddFile(MappedFile::Open(p.string()));
    }
    for (const auto& [name, shard] : weight_map) {
      const SafeTensor* t = c.Find(name);
      if (t == nullptr || t->file != (fs::path(dir) / shard).string()) {
        Fail("{}: tensor '{}' is not in its shard '{}'", index_path, Printable(name, 120),
             Printable(shard, 120));
      }
    }
    return c;
  }
  if (fs::is_regular_file(single, ec)) return OpenFile(single.string());
  Fail("{}: no model.safetensors or model.safetensors.index.json", dir);
}

void SafetensorsCheckpoint::AddFile(MappedFile mapped) {
  auto file = std::make_unique<MappedFile>(std::move(mapped));
  const std::string& path = file->path();
  const uint8_t* base = file->data();
  const size_t size = file->size();
  if (size < 8) {
    Fail("{}: not a safetensors file: {} bytes, too short for the header length", path, size);
  }
  uint64_t header_len;
  std::memcpy(&header_len, base, 8);
  if (header_len > size - 8) {
    Fail("{}: header length {} extends past the end of the file ({} bytes)", path, header_len,
         size);
  }
  if (header_len > kMaxHeaderBytes) {
    Fail("{}: header length {} exceeds the format's limit of {} bytes", path, header_len,
         kMaxHeaderBytes);
  }
  const std::string_view text(reinterpret_cast<const char*>(base + 8),
                              static_cast<size_t>(header_len));
  const json header = ParseJson(text, path, "header");
  if (!header.is_object()) Fail("{}: header is not a JSON object", path);

  const size_t data_start = 8 + static_cast<size_t>(header_len);
  const uint64_t data_size = size - data_start;
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string pname = Printable(name, 120);
    if (!entry.is_object()) Fail("{}: tensor '{}': entry is not an object", path, pname);
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) {
      Fail("{}: tensor '{}': missing string \"dtype\"", path, pname);
    }
    if (!entry.contains("shape") || !entry["shape"].is_array()) {
      Fail("{}: tensor '{}': missing array \"shape\"", path, pname);
    }
    if (!entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      Fail("{}: tensor '{}': \"data_offsets\" must be [begin, end]", path, pname);
    }
    SafeTensor t;
    t.name = name;
    t.file = path;
    t.dtype = entry["dtype"].get<std::string>();
    const size_t elem = DtypeSize(t.dtype);
    if (elem == 0)
      Fail("{}: tensor '{}' has unknown dtype '{}'", path, pname, Printable(t.dtype, 120));
    uint64_t n = 1;
    for (const json& d : entry["shape"]) {
      const uint64_t dim = ToU64(d, path, fmt::format("tensor '{}' shape entry", pname));
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim)) {
        Fail("{}: tensor '{}' element count overflows", path, pname);
      }
      n *= dim;
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const uint64_t begin =
        ToU64(entry["data_offsets"][0], path, fmt::format("tensor '{}' data_offsets[0]", pname));
    const uint64_t end =
        ToU64(entry["data_offsets"][1], path, fmt::format("tensor '{}' data_offsets[1]", pname));
    if (begin > end || end > data_size) {
      Fail("{}: tensor '{}' data_offsets [{}, {}] are outside the {}-byte data section", path,
           pname, begin, end, data_size);
    }
    if (n > std::numeric_limits<uint64_t>::max() / elem || end - begin != n * elem) {
      Fail("{}: tensor '{}' has {} bytes but shape {} of {} needs {}", path, pname, end - begin,
           JsonSnippet(entry["shape"], 120), t.dtype, n * elem);
    }
    t.data = base + data_start + begin;
    t.nbytes = static_cast<size_t>(end - begin);
    if (tensors_.count(name) != 0) {
      Fail("{}: tensor '{}' also appears in {}", path, pname, tensors_.at(name).file);
    }
    ranges.push_back({{begin, end}, name});
    tensors_.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i - 1].first.second > ranges[i].first.first) {
      Fail("{}: tensors '{}' and '{}' overlap", path, Printable(ranges[i - 1].second, 120),
           Printable(ranges[i].second, 120));
    }
  }
  files_.push_back(std::move(file));
}

const SafeTensor* SafetensorsCheckpoint::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<float> SafetensorsCheckpoint::ReadF32(const SafeTensor& t) const {
  const size_t n = t.nbytes == 0 ? 0 : static_cast<size_t>(t.n_elements());
  std::vector<float> out(n);
  if (t.dtype == "F32") {
    if (n > 0) std::memcpy(out.data(), t.data, n * sizeof(float));
  } else if (t.dtype == "F16" || t.dtype == "BF16") {
    const bool half = t.dtype == "F16";
    for (size_t i = 0; i < n; ++i) {
      uint16_t v;
      std::memcpy(&v, t.data + 2 * i, 2);
      out[i] = half ? HalfToFloat(v) : Bf16ToFloat(v);
    }
  } else {
    Fail("{}: tensor '{}' has dtype {}, which cannot be read as F32 (supported: F32, F16, BF16)",
         t.file, Printable(t.name, 120), t.dtype);
  }
  return out;
}

}  // namespace starattn
