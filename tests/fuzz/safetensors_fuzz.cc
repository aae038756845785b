// safetensors header and data with the model's config.json, as the Hugging Face loader reads
// them. Input: "config.json text \0 safetensors bytes" (an empty config part: no config); without a
// NUL the whole input is the safetensors file. The config goes through ConfigFromHfJson + Validate
// (from a scratch file, as the loader reads it); the checkpoint through the header parser and
// ReadF32 of every tensor; then the tensors the config asks for are looked up with their expected
// shapes, as the loader does.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/io/safetensors.h"
#include "engine/model/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

const starattn::fuzz::ScratchDir& Scratch() {
  static const starattn::fuzz::ScratchDir dir;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starattn;
  const std::vector<std::string_view> parts = fuzz::SplitParts(data, size, 2);
  std::optional<ModelConfig> config;
  if (parts.size() == 2 && !parts[0].empty()) {
    try {
      const std::string path = Scratch().Write("config.json", parts[0]);
      config = ConfigFromHfJson(path);
      config->Validate(path);
    } catch (const Error& e) {
      fuzz::Rejected(e);
      config.reset();
    }
  }
  try {
    const SafetensorsCheckpoint ck =
        SafetensorsCheckpoint::FromMapped(MappedFile::FromBytes("model.safetensors", parts.back()));
    for (const auto& [name, t] : ck.tensors()) {
      if (ck.Find(name) != &t) fuzz::Violation("Find does not find a listed tensor");
      try {
        const std::vector<float> v = ck.ReadF32(t);
        if (t.nbytes != 0 && static_cast<int64_t>(v.size()) != t.n_elements()) {
          fuzz::Violation("ReadF32 size differs from n_elements");
        }
      } catch (const Error& e) {
        fuzz::Rejected(e);
      }
    }
    if (config) {
      const int64_t d = config->d_model;
      for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
               {"model.embed_tokens.weight", {config->vocab_size, d}},
               {"model.norm.weight", {d}}}) {
        const SafeTensor* t = ck.Find(name);
        if (t != nullptr && t->shape == shape) (void)ck.ReadF32(*t);
      }
    }
  } catch (const Error& e) {
    fuzz::Rejected(e);
  }
  return 0;
}
