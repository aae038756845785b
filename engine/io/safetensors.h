// Hugging Face safetensors reader: a single `model.safetensors` or a sharded checkpoint described
// by `model.safetensors.index.json`. F32, F16 and BF16 tensors. Memory-mapped and validated.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/mapped_file.h"

namespace starattn {

struct SafeTensor {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16" (others are listed but cannot be read)
  std::vector<int64_t> shape;  // row-major, outermost first (PyTorch order)
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // the shard it lives in
  int64_t n_elements() const;
};

class SafetensorsCheckpoint {
 public:
  // `dir` holds model.safetensors, or model.safetensors.index.json and its shards.
  static SafetensorsCheckpoint OpenDir(const std::string& dir);
  // One .safetensors file.
  static SafetensorsCheckpoint OpenFile(const std::string& path);
  // One safetensors file already in memory or mapped (MappedFile::FromBytes for fuzzers, tests).
  static SafetensorsCheckpoint FromMapped(MappedFile file);

  const SafeTensor* Find(const std::string& name) const;  // nullptr if absent
  const std::map<std::string, SafeTensor>& tensors() const { return tensors_; }
  // Converts to fp32, row-major. Throws Error naming the file for unsupported dtypes.
  std::vector<float> ReadF32(const SafeTensor& t) const;

 private:
  void AddFile(MappedFile mapped);
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, SafeTensor> tensors_;
};

}  // namespace starattn
