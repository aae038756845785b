// GGUF reader: header, metadata, tensor directory and data section; then what the loader does
// with a file that parses: every typed getter, dequantization of every tensor, the model config
// and the GGUF tokenizer (loaded, encoding and decoding a fixed text).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/io/gguf.h"
#include "engine/model/config.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/tokenizer_checks.h"

namespace starattn {
namespace {

// Each getter either returns a value or throws Error for a key of another type.
template <typename F>
void Try(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    fuzz::Rejected(e);
  }
}

void ExerciseMetadata(const GgufFile& g) {
  for (const auto& entry : g.metadata()) {
    const std::string& key = entry.first;
    Try([&] { (void)g.GetInt(key); });
    Try([&] { (void)g.GetFloat(key); });
    Try([&] { (void)g.GetBool(key); });
    Try([&] { (void)g.GetString(key); });
    Try([&] { (void)g.GetStringArray(key); });
    Try([&] { (void)g.GetFloatArray(key); });
    Try([&] { (void)g.GetIntArray(key); });
  }
}

void ExerciseTensors(const GgufFile& g) {
  for (const GgufTensorInfo& t : g.tensors()) {
    if (g.FindTensor(t.name) != &t) fuzz::Violation("FindTensor does not find a listed tensor");
    Try([&] {
      const std::vector<float> v = g.ReadF32(t);
      if (static_cast<int64_t>(v.size()) != t.n_elements()) {
        fuzz::Violation("ReadF32 size differs from n_elements");
      }
    });
  }
}

void ExerciseTokenizer(const GgufFile& g) {
  Try([&] {
    fuzz::ExerciseTokenizer(*Tokenizer::FromGguf(g),
                            "Hello, world! 123 <|im_end|> \xC3\xBCn\xC3\xAF \t\n  x\xFF");
  });
}

}  // namespace
}  // namespace starattn

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starattn;
  try {
    const GgufFile g = GgufFile::Parse(MappedFile::FromBytes(
        "fuzz.gguf", std::string_view(reinterpret_cast<const char*>(data), size)));
    ExerciseMetadata(g);
    ExerciseTensors(g);
    Try([&] { ConfigFromGguf(g).Validate("fuzz.gguf"); });
    if (g.Has("tokenizer.ggml.model")) ExerciseTokenizer(g);
  } catch (const Error& e) {
    fuzz::Rejected(e);
  }
  return 0;
}
