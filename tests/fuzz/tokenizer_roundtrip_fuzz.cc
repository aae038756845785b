// Encode/decode round trip on fixed tokenizers where it must be exact, with fuzzed text:
//  - a byte-level BPE tokenizer.json (all 256 byte symbols, merges, a special token): any bytes,
//    with and without special-token parsing;
//  - a SentencePiece-style tokenizer.json (Metaspace with prepend_scheme "first", byte fallback,
//    a Strip decoder): valid UTF-8 without U+2581 that does not start with a space (the Strip
//    decoder removes it: " x" and "x" both encode to "\u2581x", in HF tokenizers too), with and
//    without special-token parsing;
//  - the SentencePiece GGUF vocabulary of tests/fixtures/tokenizer/mistral_spm.gguf (llama.cpp's
//    score-based merges): valid UTF-8 without U+2581, special tokens not parsed (llama.cpp adds a
//    space prefix after every special token, which decoding keeps).
// Decode(Encode(text)) == text and every id is in the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using nlohmann::json;

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2's byte -> printable character table (written out here, independently of the engine's).
std::string ByteChar(int b) {
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(256, 0);
    std::vector<bool> direct(256, false);
    for (int c = '!'; c <= '~'; ++c) direct[c] = true;
    for (int c = 0xA1; c <= 0xAC; ++c) direct[c] = true;
    for (int c = 0xAE; c <= 0xFF; ++c) direct[c] = true;
    uint32_t next = 256;
    for (int c = 0; c < 256; ++c) t[c] = direct[c] ? c : next++;
    return t;
  }();
  std::string s;
  AppendUtf8(table[b], &s);
  return s;
}

std::string ByteLevelJson() {
  json vocab = json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[ByteChar(b)] = id++;
  json merges = json::array();
  const std::string sp = ByteChar(' ');
  for (const auto& [a, b] :
       std::vector<std::pair<std::string, std::string>>{{sp, "t"},
                                                        {"h", "e"},
                                                        {sp + "t", "he"},
                                                        {"a", "b"},
                                                        {"ab", "c"},
                                                        {sp, "a"},
                                                        {"1", "2"},
                                                        {sp, sp},
                                                        {ByteChar('\n'), ByteChar('\n')},
                                                        {ByteChar(0xC3), ByteChar(0xA9)}}) {
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
    merges.push_back(a + " " + b);
  }
  return json{
      {"added_tokens", json::array({{{"id", id}, {"content", "<|end|>"}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}}
      .dump();
}

std::string MetaspaceJson() {
  const std::string m = "\xE2\x96\x81";
  json vocab = json::object();
  int id = 0;
  for (const char* t : {"<unk>", "<s>", "</s>"}) vocab[t] = id++;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = id++;
  }
  json merges = json::array();
  for (const std::string& c : {m, std::string("a"), std::string("b"), std::string("c"),
                               std::string("e"), std::string("h"), std::string("t")}) {
    vocab[c] = id++;
  }
  for (const auto& [a, b] : std::vector<std::pair<std::string, std::string>>{
           {m, "t"}, {"h", "e"}, {m + "t", "he"}, {"a", "b"}, {"ab", "c"}, {m, "a"}, {m, m}}) {
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
    merges.push_back(a + " " + b);
  }
  return json{
      {"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                    {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                    {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", false}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         json::array({{{"type", "Replace"}, {"pattern", {{"String", m}}}, {"content", " "}},
                      {{"type", "ByteFallback"}},
                      {{"type", "Fuse"}},
                      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", merges},
        {"byte_fallback", true},
        {"unk_token", "<unk>"}}}}
      .dump();
}

struct Tokenizers {
  std::unique_ptr<starattn::Tokenizer> byte_level, metaspace, spm_gguf;
};

const Tokenizers& Get() {
  static const Tokenizers t = [] {
    Tokenizers t;
    t.byte_level = starattn::Tokenizer::FromJson(ByteLevelJson(), std::nullopt, "byte-level");
    t.metaspace = starattn::Tokenizer::FromJson(MetaspaceJson(), std::nullopt, "metaspace");
    const auto g = starattn::GgufFile::Open(std::string(STARATTN_SOURCE_DIR) +
                                            "/tests/fixtures/tokenizer/mistral_spm.gguf");
    t.spm_gguf = starattn::Tokenizer::FromGguf(g);
    return t;
  }();
  return t;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<uint8_t>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

void CheckRoundTrip(const starattn::Tokenizer& tok, const std::string& text, const char* name,
                    bool with_special) {
  for (const bool special : {false, with_special}) {
    const std::vector<int32_t> ids = tok.Encode(text, false, special);
    for (const int32_t id : ids) {
      if (id < 0 || id >= tok.vocab_size()) starattn::fuzz::Violation("id outside the vocabulary");
    }
    const std::string back = tok.Decode(ids, false);
    if (back != text) {
      std::fprintf(stderr, "%s (parse_special=%d): round trip changed %zu bytes into %zu bytes\n",
                   name, special, text.size(), back.size());
      starattn::fuzz::Violation("Decode(Encode(text)) != text");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Tokenizers& t = Get();
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckRoundTrip(*t.byte_level, text, "byte-level", true);
  if (ValidUtf8(text) && text.find("\xE2\x96\x81") == std::string::npos) {
    if (text.empty() || text[0] != ' ') CheckRoundTrip(*t.metaspace, text, "metaspace", true);
    CheckRoundTrip(*t.spm_gguf, text, "spm gguf", false);
  }
  return 0;
}
