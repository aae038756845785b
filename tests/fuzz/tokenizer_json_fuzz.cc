// tokenizer.json loader (with an optional tokenizer_config.json), then an encode/decode round
// trip through whatever tokenizer it built. Input: "tokenizer.json \0 tokenizer_config.json \0
// text"; missing parts are absent (no config) or a fixed text.
//
// Invariants on any tokenizer that loads: every id Encode returns is in [0, vocab_size); Decode
// accepts any ids (out-of-range ones are skipped); lookups do not crash. (Whether decoding gives
// the text back depends on the tokenizer: tokenizer_roundtrip_fuzz checks that on tokenizers
// where it must hold.)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/tokenizer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace starattn;
  const std::vector<std::string_view> parts = fuzz::SplitParts(data, size, 3);
  std::optional<std::string> config;
  if (parts.size() >= 2) config = std::string(parts[1]);
  const std::string text =
      parts.size() == 3 ? std::string(parts[2]) : "Hello world! ab abc <|end|> 12 \xC3\xA9\t\n";
  std::unique_ptr<Tokenizer> tok;
  try {
    tok = Tokenizer::FromJson(parts[0], config, "tokenizer.json");
  } catch (const Error& e) {
    fuzz::Rejected(e);
    return 0;
  }
  try {
    fuzz::ExerciseTokenizer(*tok, text);
  } catch (const Error& e) {
    // Encode may reject text its regexes cannot match (PCRE2 limits): an Error, never a crash.
    fuzz::Rejected(e);
  }
  return 0;
}
