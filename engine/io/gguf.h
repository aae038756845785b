// GGUF (v2/v3) reader: metadata and tensor directory of a memory-mapped file. Every offset and
// size is validated against the file length before it is touched; any problem is an Error whose
// one-line message starts with the file's path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/common/mapped_file.h"
#include "engine/io/dequant.h"

namespace starattn {

// A metadata value. Integers of any width are widened to int64/uint64, floats to double;
// arrays keep one element kind.
struct GgufValue {
  using Array = std::variant<std::vector<int64_t>, std::vector<uint64_t>, std::vector<double>,
                             std::vector<bool>, std::vector<std::string>>;
  std::variant<int64_t, uint64_t, double, bool, std::string, Array> value;
  uint32_t gguf_type = 0;  // on-disk GGUF value type id
};

struct GgufTensorInfo {
  std::string name;
  // GGML order: dims[0] is the fastest-varying (row length). A weight [out, in] in row-major
  // has dims = {in, out}.
  std::vector<int64_t> dims;
  uint32_t type_id = 0;           // GgmlType value; may be unsupported (checked on read)
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;  // validated pointer into the map
  size_t nbytes = 0;
  int64_t n_elements() const;
};

class GgufFile {
 public:
  static GgufFile Open(const std::string& path);
  // Parses bytes already in memory or mapped (MappedFile::FromBytes for fuzzers and tests).
  static GgufFile Parse(MappedFile file);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }

  bool Has(const std::string& key) const { return kv_.count(key) != 0; }
  const GgufValue* Find(const std::string& key) const;
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }

  // Typed accessors: the Get* forms return nullopt when the key is absent and throw Error when
  // it has the wrong type; the Require* forms also throw when absent.
  std::optional<int64_t> GetInt(const std::string& key) const;   // any integer type
  std::optional<double> GetFloat(const std::string& key) const;  // float or integer
  std::optional<bool> GetBool(const std::string& key) const;
  std::optional<std::string> GetString(const std::string& key) const;
  std::optional<std::vector<std::string>> GetStringArray(const std::string& key) const;
  std::optional<std::vector<double>> GetFloatArray(const std::string& key) const;  // float or int
  std::optional<std::vector<int64_t>> GetIntArray(const std::string& key) const;
  int64_t RequireInt(const std::string& key) const;
  double RequireFloat(const std::string& key) const;
  std::string RequireString(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;  // nullptr if absent
  // Dequantizes a tensor to fp32 (GGML order, i.e. row-major with dims reversed). Throws for
  // unsupported types.
  std::vector<float> ReadF32(const GgufTensorInfo& t) const;

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace starattn
