// Tokenizer tests. The corpus tests compare every document's ids with reference ids written by
// tools/make_tokenizer_fixtures.py (llama.cpp for the GGUF tokenizers, HF `tokenizers` for the
// tokenizer.json files); the corpus is our generated text plus chunks of the Paul Graham essays
// read from the shared data.
#include "engine/tokenizer/tokenizer.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "engine/common/error.h"
#include "engine/common/hash.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"
#include "engine/io/gguf.h"

namespace starattn {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// ---- Helpers ----------------------------------------------------------------------------------

std::string Escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<uint8_t>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (b < 0x20 || b == 0x7F) {
      out += fmt::format("\\x{:02x}", b);
    } else {
      out += c;
    }
  }
  return out;
}

json ReadJson(const std::string& path) { return json::parse(ReadFileToString(path)); }

// LEB128 varints: n_docs, then per document its length and ids.
std::vector<std::vector<int32_t>> ReadIds(const std::string& path) {
  const std::string data = ReadFileToString(path);
  size_t pos = 0;
  auto next = [&]() -> uint64_t {
    uint64_t v = 0;
    int shift = 0;
    while (true) {
      if (pos >= data.size()) throw Error(path + ": truncated id file");
      const auto b = static_cast<uint8_t>(data[pos++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
      shift += 7;
    }
  };
  std::vector<std::vector<int32_t>> docs(next());
  for (auto& d : docs) {
    d.resize(next());
    for (auto& id : d) id = static_cast<int32_t>(next());
  }
  return docs;
}

struct Corpus {
  std::vector<std::string> docs;
  std::vector<std::string> labels;  // where each document comes from
  std::vector<bool> nfc_changed;
  size_t bytes = 0;
};

// Loads the corpus of the manifest; records a failure and returns nullopt when the shared essays
// are missing or differ from those the references were made from.
std::optional<Corpus> LoadCorpus(const json& manifest) {
  Corpus c;
  std::ifstream in(testing::FixturePath("tokenizer/" + manifest["generated"].get<std::string>()));
  std::string line;
  while (std::getline(in, line)) {
    c.docs.push_back(json::parse(line).get<std::string>());
    c.labels.push_back(fmt::format("generated #{}", c.docs.size() - 1));
  }
  EXPECT_EQ(c.docs.size(), manifest["n_generated"].get<size_t>());
  const std::string shared = testing::SharedDataDir();
  if (shared.empty()) {
    ADD_FAILURE() << "shared data missing: expected ../shared/data beside the clone or "
                     "STARATTN_SHARED_DATA";
    return std::nullopt;
  }
  for (const json& e : manifest["essays"]) {
    const std::string path = shared + "/" + e["path"].get<std::string>();
    const std::string data = ReadFileToString(path);
    const std::string want_hash = e["fnv1a64"].get<std::string>();
    if (data.size() != e["size"].get<size_t>() ||
        fmt::format("{:016x}", Fnv1a64(data)) != want_hash) {
      ADD_FAILURE() << path << " differs from the file the reference ids were made from "
                    << "(rerun tools/make_tokenizer_fixtures.py)";
      return std::nullopt;
    }
    int k = 0;
    for (const json& ch : e["chunks"]) {
      c.docs.push_back(data.substr(ch[0].get<size_t>(), ch[1].get<size_t>()));
      c.labels.push_back(fmt::format("{} chunk {}", e["path"].get<std::string>(), k++));
    }
  }
  EXPECT_EQ(c.docs.size(), manifest["n_documents"].get<size_t>());
  c.nfc_changed.assign(c.docs.size(), false);
  for (const json& i : manifest["nfc_changed"]) c.nfc_changed[i.get<size_t>()] = true;
  for (const auto& d : c.docs) c.bytes += d.size();
  return c;
}

const json& Manifest() {
  static const json m = ReadJson(testing::FixturePath("tokenizer/manifest.json"));
  return m;
}

const Corpus* SharedCorpus() {
  static const std::optional<Corpus> c = LoadCorpus(Manifest());
  return c ? &*c : nullptr;
}

// Tokenizers are loaded once per binary (loading a 150k vocabulary takes about a second).
const Tokenizer* Load(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  std::unique_ptr<Tokenizer> t;
  const std::string shared = testing::SharedDataDir();
  if (name == "smollm2_gguf") {
    const std::string model = testing::DefaultModelPath();
    if (model.empty()) return nullptr;
    t = Tokenizer::FromGguf(GgufFile::Open(model));
  } else if (name == "mistral_spm_gguf") {
    t = Tokenizer::FromGguf(GgufFile::Open(testing::FixturePath("tokenizer/mistral_spm.gguf")));
  } else {
    if (shared.empty()) return nullptr;
    const std::string family = name.substr(0, name.find('_'));
    t = Tokenizer::FromJsonFile(shared + "/tokenizers/" + family + "/tokenizer.json");
  }
  return cache.emplace(name, std::move(t)).first->second.get();
}

#define LOAD_OR_FAIL(var, name)                                                             \
  const Tokenizer* var = Load(name);                                                        \
  if (var == nullptr) {                                                                     \
    if (std::string(name) == "smollm2_gguf" && testing::AllowMissingModel()) {              \
      GTEST_SKIP() << "default model missing; STARATTN_ALLOW_MISSING_MODEL=1";              \
    }                                                                                       \
    FAIL() << "cannot load tokenizer " << name << ": default model or shared data missing"; \
  }

std::string Pieces(const Tokenizer& t, const std::vector<int32_t>& ids, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < ids.size(); ++i) {
    out += fmt::format("{}{} '{}'", i > from ? ", " : "", ids[i], Escape(t.Piece(ids[i])));
  }
  return "[" + out + "]";
}

// ---- Corpus tests -----------------------------------------------------------------------------

void CheckCorpus(const std::string& name) {
  const json* meta = nullptr;
  for (const json& t : Manifest()["tokenizers"]) {
    if (t["name"] == name) meta = &t;
  }
  ASSERT_NE(meta, nullptr) << name << " is not in the manifest";
  LOAD_OR_FAIL(tok, name);
  const Corpus* corpus = SharedCorpus();
  ASSERT_NE(corpus, nullptr);
  const bool parse_special = (*meta)["parse_special"].get<bool>();
  const auto ref = ReadIds(testing::FixturePath("tokenizer/" + (*meta)["ids"].get<std::string>()));
  ASSERT_EQ(ref.size(), corpus->docs.size());

  size_t tokens = 0, mismatched = 0, roundtrip_bad = 0, roundtrip_checked = 0;
  double seconds = 0;
  for (size_t d = 0; d < corpus->docs.size(); ++d) {
    const std::string& doc = corpus->docs[d];
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tok->Encode(doc, /*add_bos=*/false, parse_special);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    tokens += ids.size();
    if (ids != ref[d]) {
      if (++mismatched <= 5) {
        size_t k = 0;
        while (k < ids.size() && k < ref[d].size() && ids[k] == ref[d][k]) ++k;
        const std::vector<int32_t> prefix(ref[d].begin(), ref[d].begin() + k);
        const size_t at = tok->Decode(prefix, false).size();
        const size_t lo = k >= 4 ? k - 4 : 0;
        ADD_FAILURE() << name << ": document " << d << " (" << corpus->labels[d]
                      << "): first mismatch at token " << k << " (got " << ids.size()
                      << " tokens, want " << ref[d].size() << ")\n  got  "
                      << Pieces(*tok, ids, lo, k + 6) << "\n  want "
                      << Pieces(*tok, ref[d], lo, k + 6) << "\n  text near byte " << at << ": '"
                      << Escape(doc.substr(at >= 30 ? at - 30 : 0, 70)) << "'";
      }
    }
    // Round trip: decoding the ids of the text (special strings as text) gives the text back;
    // for a normalizing tokenizer (Qwen: NFC) only where normalization leaves it unchanged.
    if (name == "qwen3_json" && corpus->nfc_changed[d]) continue;
    ++roundtrip_checked;
    const std::vector<int32_t> plain = parse_special ? tok->Encode(doc, false, false) : ids;
    const std::string back = tok->Decode(plain, false);
    if (back != doc && ++roundtrip_bad <= 3) {
      size_t k = 0;
      while (k < back.size() && k < doc.size() && back[k] == doc[k]) ++k;
      ADD_FAILURE() << name << ": Decode(Encode(x)) != x for document " << d << " ("
                    << corpus->labels[d] << ") at byte " << k << ": got '"
                    << Escape(back.substr(k, 40)) << "', want '" << Escape(doc.substr(k, 40))
                    << "'";
    }
  }
  EXPECT_EQ(mismatched, 0u) << name << ": " << mismatched << " of " << corpus->docs.size()
                            << " documents differ from the reference";
  EXPECT_EQ(roundtrip_bad, 0u);
  std::printf(
      "[ %s ] %zu documents, %zu bytes, %zu tokens compared with %s: %zu differ; "
      "round trip checked on %zu documents; encode %.1f MB/s\n",
      name.c_str(), corpus->docs.size(), corpus->bytes, tokens,
      (*meta)["reference"].get<std::string>().c_str(), mismatched, roundtrip_checked,
      corpus->bytes / seconds / 1e6);
}

TEST(TokenizerCorpus, SmolLM2Gguf) { CheckCorpus("smollm2_gguf"); }
TEST(TokenizerCorpus, Llama3Json) { CheckCorpus("llama3_json"); }
TEST(TokenizerCorpus, Qwen3Json) { CheckCorpus("qwen3_json"); }
TEST(TokenizerCorpus, MistralJson) { CheckCorpus("mistral_json"); }
TEST(TokenizerCorpus, MistralSentencePieceGguf) { CheckCorpus("mistral_spm_gguf"); }

TEST(TokenizerCorpus, CorpusIsLargeAndVaried) {
  const Corpus* c = SharedCorpus();
  ASSERT_NE(c, nullptr);
  EXPECT_GE(c->bytes, 200u * 1000u);
  size_t empty = 0, blank = 0, leading_space = 0;
  for (const auto& d : c->docs) {
    empty += d.empty();
    blank += !d.empty() && d.find_first_not_of(" \t\r\n") == std::string::npos;
    leading_space += !d.empty() && d[0] == ' ' && d.find_first_not_of(' ') != std::string::npos;
  }
  EXPECT_GE(empty, 1u);
  EXPECT_GE(blank, 3u);
  EXPECT_GE(leading_space, 3u);
}

// ---- Special tokens, BOS, EOG -----------------------------------------------------------------

TEST(Tokenizer, SpecialTokenParsing) {
  LOAD_OR_FAIL(smol, "smollm2_gguf");
  const int32_t im_start = smol->TokenId("<|im_start|>");
  const int32_t user = smol->TokenId("user");
  ASSERT_EQ(im_start, 1);
  ASSERT_GE(user, 0);
  EXPECT_EQ(smol->Encode("<|im_start|>user", false, true), (std::vector<int32_t>{1, user}));
  const std::vector<int32_t> plain = smol->Encode("<|im_start|>user", false, false);
  EXPECT_GT(plain.size(), 2u);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), im_start), 0);
  EXPECT_EQ(smol->Decode(plain, false), "<|im_start|>user");
  EXPECT_TRUE(smol->IsSpecial(im_start));
  EXPECT_FALSE(smol->IsSpecial(user));
  EXPECT_EQ(smol->Decode({{1, user, 2}}, /*skip_special=*/true), "user");
  EXPECT_EQ(smol->Decode({{1, user, 2}}, false), "<|im_start|>user<|im_end|>");

  LOAD_OR_FAIL(qwen, "qwen3_json");
  const std::vector<int32_t> q = qwen->Encode("<|im_start|>user\nhi<|im_end|>", false, true);
  ASSERT_GE(q.size(), 3u);
  EXPECT_EQ(q.front(), 151644);
  EXPECT_EQ(q.back(), 151645);
  EXPECT_EQ(qwen->Decode(q, false), "<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(qwen->Decode(q, true), "user\nhi");
  // Added tokens that are not special (<think>) are split out even with parse_special false,
  // as HF tokenizers and llama.cpp do for user-defined tokens.
  EXPECT_EQ(qwen->Encode("<think>", false, false), (std::vector<int32_t>{151667}));
  EXPECT_FALSE(qwen->IsSpecial(151667));
  EXPECT_EQ(qwen->Decode({{151667}}, true), "<think>");

  LOAD_OR_FAIL(mistral, "mistral_json");
  // HF: each text segment gets the "▁" prefix; decoding strips one leading space.
  const std::vector<int32_t> m = mistral->Encode("a</s>b", false, true);
  EXPECT_EQ(m, (std::vector<int32_t>{mistral->TokenId("\xE2\x96\x81"
                                                      "a"),
                                     2,
                                     mistral->TokenId("\xE2\x96\x81"
                                                      "b")}));
  EXPECT_EQ(mistral->Decode(m, false), "a</s> b");
  EXPECT_EQ(mistral->Decode(m, true), "a b");
  LOAD_OR_FAIL(spm, "mistral_spm_gguf");
  EXPECT_EQ(spm->Encode("a</s>b", false, true), m);
  EXPECT_EQ(spm->Decode(m, false), "a</s> b");
}

TEST(Tokenizer, BosAndEos) {
  LOAD_OR_FAIL(smol, "smollm2_gguf");
  EXPECT_EQ(smol->bos_id(), 1);  // <|im_start|>, from tokenizer.ggml.bos_token_id
  EXPECT_EQ(smol->eos_id(), 2);  // <|im_end|>
  EXPECT_FALSE(smol->add_bos_default());
  EXPECT_EQ(smol->Encode("hi", true, false).front(), 1);
  EXPECT_EQ(smol->Encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_TRUE(smol->Encode("", false, false).empty());

  LOAD_OR_FAIL(llama3, "llama3_json");
  EXPECT_EQ(llama3->bos_id(), 128000);
  EXPECT_EQ(llama3->eos_id(), 128001);
  // The config has no add_bos_token and the post-processor adds nothing, but the chat template
  // starts with bos_token, which RenderChat leaves to the tokenizer.
  EXPECT_TRUE(llama3->add_bos_default());
  EXPECT_EQ(llama3->Encode("hello world", true, true), (std::vector<int32_t>{128000, 15339, 1917}));

  LOAD_OR_FAIL(qwen, "qwen3_json");
  EXPECT_EQ(qwen->bos_id(), -1);
  EXPECT_EQ(qwen->eos_id(), 151645);
  EXPECT_FALSE(qwen->add_bos_default());
  EXPECT_EQ(qwen->Encode("hi", true, true), qwen->Encode("hi", false, true));

  for (const char* name : {"mistral_json", "mistral_spm_gguf"}) {
    LOAD_OR_FAIL(m, name);
    EXPECT_EQ(m->bos_id(), 1) << name;
    EXPECT_EQ(m->eos_id(), 2) << name;
    EXPECT_TRUE(m->add_bos_default()) << name;
    const std::vector<int32_t> ids = m->Encode("Hello", true, true);
    EXPECT_EQ(ids.front(), 1) << name;
    EXPECT_EQ(m->Decode(ids, true), "Hello") << name;
  }
}

TEST(Tokenizer, EogIds) {
  LOAD_OR_FAIL(smol, "smollm2_gguf");
  EXPECT_EQ(smol->eog_ids(), (std::vector<int32_t>{0, 2}));  // <|endoftext|>, <|im_end|>
  EXPECT_TRUE(smol->IsEog(2));
  EXPECT_FALSE(smol->IsEog(1));
  LOAD_OR_FAIL(llama3, "llama3_json");
  // Llama 3.0 has no <|eom_id|> (128008 is a reserved token there).
  EXPECT_EQ(llama3->eog_ids(), (std::vector<int32_t>{128001, 128009}));
  LOAD_OR_FAIL(qwen, "qwen3_json");
  EXPECT_EQ(qwen->eog_ids(), (std::vector<int32_t>{151643, 151645}));
  for (const char* name : {"mistral_json", "mistral_spm_gguf"}) {
    LOAD_OR_FAIL(m, name);
    EXPECT_EQ(m->eog_ids(), (std::vector<int32_t>{2})) << name;
  }
}

TEST(Tokenizer, VocabularyAccessors) {
  LOAD_OR_FAIL(llama3, "llama3_json");
  EXPECT_EQ(llama3->vocab_size(), 128256);
  EXPECT_EQ(llama3->Piece(15339), "hello");
  EXPECT_EQ(llama3->Piece(-1), "");
  EXPECT_EQ(llama3->Piece(1 << 20), "");
  EXPECT_EQ(llama3->TokenId("<|eot_id|>"), 128009);
  EXPECT_EQ(llama3->TokenId("\xC4\xA0the"), 279);  // "Ġthe"
  EXPECT_EQ(llama3->TokenId("no such piece"), -1);
  EXPECT_TRUE(llama3->chat_template_source().has_value());
  LOAD_OR_FAIL(smol, "smollm2_gguf");
  EXPECT_EQ(smol->vocab_size(), 49152);
  ASSERT_TRUE(smol->chat_template_source().has_value());
  EXPECT_NE(smol->chat_template_source()->find("<|im_start|>"), std::string::npos);
  LOAD_OR_FAIL(spm, "mistral_spm_gguf");
  EXPECT_EQ(spm->Piece(spm->TokenId("<0x0A>")), "<0x0A>");
}

TEST(Tokenizer, DecodeBytesAndPartialCharacters) {
  LOAD_OR_FAIL(mistral, "mistral_json");
  const std::string text = "日本語 🎉 \xF0\x9F\xA6\x80 tabs\tand\nnewlines";
  const std::vector<int32_t> ids = mistral->Encode(text, false, false);
  EXPECT_EQ(mistral->Decode(ids, false), text);
  // Byte tokens decode to raw bytes, even when they are not a whole character.
  const int32_t f0 = mistral->TokenId("<0xF0>");
  ASSERT_GE(f0, 0);
  EXPECT_EQ(mistral->Decode({{f0}}, false), "\xF0");
  LOAD_OR_FAIL(smol, "smollm2_gguf");
  const std::vector<int32_t> s = smol->Encode("🦀", false, false);
  ASSERT_GE(s.size(), 2u);  // split across tokens
  std::string joined;
  for (const int32_t id : s) joined += smol->Decode({{id}}, false);
  EXPECT_EQ(joined, "🦀");
}

TEST(Tokenizer, InvalidUtf8IsEncodedByteForByte) {
  // (Bytes that never occur in UTF-8, like 0xFF, are absent from SmolLM2's vocabulary and
  // dropped, as llama.cpp does.)
  const std::string bad = "ok \xC3 \xE2\x82 end\xF0\x9F \x80\x80x";
  for (const char* name : {"smollm2_gguf", "llama3_json", "mistral_json", "mistral_spm_gguf"}) {
    LOAD_OR_FAIL(t, name);
    const std::vector<int32_t> ids = t->Encode(bad, false, false);
    EXPECT_EQ(t->Decode(ids, false), bad) << name;
  }
}

TEST(Tokenizer, LongInputs) {
  LOAD_OR_FAIL(smol, "smollm2_gguf");
  LOAD_OR_FAIL(mistral, "mistral_json");
  std::string text(200000, ' ');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
  for (const Tokenizer* t : {smol, mistral}) {
    const std::vector<int32_t> ids = t->Encode(text, false, false);
    EXPECT_EQ(t->Decode(ids, false), text);
  }
  const std::string spaces(100000, ' ');
  EXPECT_EQ(smol->Decode(smol->Encode(spaces, false, false), false), spaces);
}

// ---- Malformed inputs -------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / fmt::format("starattn_tok_{}_{}", ::getpid(), counter_++);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

// A small valid byte-level tokenizer.json; `patch` edits it.
json TinyTokenizerJson() {
  json vocab = json::object();
  int id = 0;
  for (const char* p : {"a", "b", "c", "\xC4\xA0", "ab", "abc",
                        "\xC4\xA0"
                        "a"})
    vocab[p] = id++;
  return json{
      {"version", "1.0"},
      {"added_tokens", json::array({{{"id", 7}, {"content", "<|end|>"}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b", "ab c", "\xC4\xA0 a"})}}},
  };
}

void ExpectJsonError(const json& j, const std::string& want) {
  TempDir dir;
  const std::string path = dir.Write("tokenizer.json", j.dump());
  EXPECT_THAT([&] { Tokenizer::FromJsonFile(path); }, testing::ThrowsOneLineError(path, want));
}

TEST(TokenizerErrors, TinyJsonWorks) {
  TempDir dir;
  const std::string path = dir.Write("tokenizer.json", TinyTokenizerJson().dump());
  const auto t = Tokenizer::FromJsonFile(path);
  EXPECT_EQ(t->Encode("abc a<|end|>", false, true), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(t->Decode({{5, 6, 7}}, true), "abc a");
  EXPECT_EQ(t->eos_id(), -1);
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_FALSE(t->add_bos_default());
}

TEST(TokenizerErrors, TinyJsonBosFromPostProcessorAndConfig) {
  json j = TinyTokenizerJson();
  j["added_tokens"].push_back({{"id", 8}, {"content", "<s>"}, {"special", true}});
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})}};
  TempDir dir;
  const std::string path = dir.Write("tokenizer.json", j.dump());
  {
    const auto t = Tokenizer::FromJsonFile(path);
    EXPECT_EQ(t->bos_id(), 8);
    EXPECT_TRUE(t->add_bos_default());
    EXPECT_EQ(t->Encode("ab", true, true), (std::vector<int32_t>{8, 4}));
    EXPECT_FALSE(t->chat_template_source().has_value());
  }
  dir.Write("tokenizer_config.json",
            json{{"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                 {"eos_token", "<|end|>"},
                 {"add_bos_token", false},
                 {"chat_template", "{{ bos_token }}{{ messages[0]['content'] }}"}}
                .dump());
  const auto t = Tokenizer::FromJsonFile(path);
  EXPECT_EQ(t->bos_id(), 8);
  EXPECT_FALSE(t->add_bos_default());
  EXPECT_EQ(t->eos_id(), 7);
  EXPECT_EQ(t->eog_ids(), (std::vector<int32_t>{7}));
  ASSERT_TRUE(t->chat_template_source().has_value());
  EXPECT_EQ(*t->chat_template_source(), "{{ bos_token }}{{ messages[0]['content'] }}");
}

TEST(TokenizerErrors, MalformedTokenizerJson) {
  {
    TempDir dir;
    const std::string path = dir.Write("tokenizer.json", "{\"model\": {\"vocab\": ");
    EXPECT_THAT([&] { Tokenizer::FromJsonFile(path); },
                testing::ThrowsOneLineError(path, "invalid JSON"));
  }
  EXPECT_THAT([] { Tokenizer::FromJsonFile("/nonexistent/tokenizer.json"); },
              testing::ThrowsOneLineError("/nonexistent/tokenizer.json"));
  json j = TinyTokenizerJson();
  j["model"].erase("vocab");
  ExpectJsonError(j, "model.vocab is missing");

  j = TinyTokenizerJson();
  j.erase("model");
  ExpectJsonError(j, "no model");

  j = TinyTokenizerJson();
  j["model"]["merges"].push_back("a zzz");
  ExpectJsonError(j, "refers to unknown token 'zzz'");

  j = TinyTokenizerJson();
  j["model"]["merges"].push_back(json::array({"b", "c"}));  // "bc" is not in the vocab
  ExpectJsonError(j, "which is not in the vocab");

  j = TinyTokenizerJson();
  j["pre_tokenizer"] = {{"type", "FancySplit"}};
  ExpectJsonError(j, "unknown pre_tokenizer type 'FancySplit'");

  j = TinyTokenizerJson();
  j["model"]["type"] = "WordPiece";
  ExpectJsonError(j, "unsupported model type 'WordPiece'");

  j = TinyTokenizerJson();
  j["normalizer"] = {{"type", "BertNormalizer"}};
  ExpectJsonError(j, "unsupported normalizer type 'BertNormalizer'");

  j = TinyTokenizerJson();
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  ExpectJsonError(j, "bad regex '(unclosed'");

  j = TinyTokenizerJson();
  j["model"]["merges"].push_back("\xC4\x8A\n x");  // quoted on one line
  ExpectJsonError(j, "refers to unknown token 'Ċ\\n'");

  j = TinyTokenizerJson();
  j["model"]["merges"] = "a b";
  ExpectJsonError(j, "model.merges is missing");

  // A malformed tokenizer_config.json beside it is named too.
  TempDir dir;
  const std::string path = dir.Write("tokenizer.json", TinyTokenizerJson().dump());
  const std::string cfg = dir.Write("tokenizer_config.json", "[1, 2");
  EXPECT_THAT([&] { Tokenizer::FromJsonFile(path); }, testing::ThrowsOneLineError(cfg));
}

// Ids are checked against the number of tokens the file lists before the id table is allocated:
// an id near 2^30 used to make the loader allocate ~32 GB.
TEST(TokenizerErrors, IdsAboveTheVocabularyFailBeforeAllocating) {
  // 7 vocab entries + 1 added token (+ the one added here): ids must be < 2 * 9 + 1024.
  json j = TinyTokenizerJson();
  j["model"]["vocab"]["zz"] = (1 << 30) - 1;
  ExpectJsonError(j,
                  "model.vocab entry 'zz' has id 1073741823, above the vocabulary: the file has "
                  "9 tokens, so ids must be below 1042");
  j = TinyTokenizerJson();
  j["added_tokens"].push_back({{"id", 1042}, {"content", "<x>"}, {"special", true}});
  ExpectJsonError(j,
                  "added token '<x>' has id 1042, above the vocabulary: the file has 9 tokens, "
                  "so ids must be below 1042");
  // 2^32 + 5 used to be truncated to 5 by get<int32_t>() and accepted.
  j = TinyTokenizerJson();
  j["added_tokens"][0]["id"] = (uint64_t{1} << 32) + 5;
  ExpectJsonError(j, "added token '<|end|>' has id 4294967301, above the vocabulary");
  j = TinyTokenizerJson();
  j["added_tokens"][0]["id"] = uint64_t{18446744073709551615u};
  ExpectJsonError(j, "added token '<|end|>' id: 18446744073709551615 is out of range");
  j = TinyTokenizerJson();
  j["model"]["vocab"]["a"] = -1;
  ExpectJsonError(j, "model.vocab entry 'a' id: -1 must not be negative");
  j = TinyTokenizerJson();
  j["model"]["vocab"]["a"] = 1.5;
  ExpectJsonError(j, "model.vocab entry 'a' id: 1.5 is not an integer");
  j = TinyTokenizerJson();
  j["model"]["vocab"]["a"] = "0";
  ExpectJsonError(j, "model.vocab entry 'a' id: expected an integer, got string \"0\"");
  // Gaps within the limit are fine: the missing ids decode to nothing.
  j = TinyTokenizerJson();
  j["added_tokens"][0]["id"] = 1000;
  TempDir dir;
  const auto t = Tokenizer::FromJsonFile(dir.Write("tokenizer.json", j.dump()));
  EXPECT_EQ(t->vocab_size(), 1001);
  EXPECT_EQ(t->Encode("ab<|end|>", false, true), (std::vector<int32_t>{4, 1000}));
  EXPECT_EQ(t->Decode({{4, 500, 1000}}, false), "ab<|end|>");
}

TEST(TokenizerErrors, DeeplyNestedSequencesAreRejected) {
  json n = {{"type", "NFC"}};
  for (int i = 0; i < 40; ++i) n = {{"type", "Sequence"}, {"normalizers", json::array({n})}};
  json j = TinyTokenizerJson();
  j["normalizer"] = n;
  ExpectJsonError(j, "normalizer Sequences nest deeper than 16");
  json d = {{"type", "ByteLevel"}};
  for (int i = 0; i < 17; ++i) d = {{"type", "Sequence"}, {"decoders", json::array({d})}};
  j = TinyTokenizerJson();
  j["decoder"] = d;
  ExpectJsonError(j, "decoder Sequences nest deeper than 16");
}

TEST(TokenizerErrors, FromJsonTextNamesTheSource) {
  const auto t =
      Tokenizer::FromJson(TinyTokenizerJson().dump(), json{{"eos_token", "<|end|>"}}.dump(), "mem");
  EXPECT_EQ(t->eos_id(), 7);
  EXPECT_THAT([] { Tokenizer::FromJson("{", std::nullopt, "mem"); },
              testing::ThrowsOneLineErrorAt("mem: invalid JSON"));
  EXPECT_THAT([] { Tokenizer::FromJson(TinyTokenizerJson().dump(), "[", "mem"); },
              testing::ThrowsOneLineErrorAt("mem (tokenizer_config.json): invalid JSON"));
}

// Minimal GGUF v3 writer for the error tests (metadata only).
class GgufBuilder {
 public:
  void Str(const std::string& key, const std::string& v) {
    Key(key, 8);
    String(v);
    ++n_;
  }
  void U32(const std::string& key, uint32_t v) {
    Key(key, 4);
    Pod(v);
    ++n_;
  }
  void StrArray(const std::string& key, const std::vector<std::string>& v) {
    Key(key, 9);
    Pod<uint32_t>(8);
    Pod<uint64_t>(v.size());
    for (const auto& s : v) String(s);
    ++n_;
  }
  void I32Array(const std::string& key, const std::vector<int32_t>& v) {
    Key(key, 9);
    Pod<uint32_t>(5);
    Pod<uint64_t>(v.size());
    for (const int32_t x : v) Pod(x);
    ++n_;
  }
  std::string Bytes() const {
    std::string out = "GGUF";
    auto pod = [&](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    pod(uint32_t{3});
    pod(uint64_t{0});
    pod(static_cast<uint64_t>(n_));
    out += body_;
    while (out.size() % 32 != 0) out += '\0';
    return out;
  }

 private:
  template <typename T>
  void Pod(T v) {
    body_.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  void String(const std::string& s) {
    Pod<uint64_t>(s.size());
    body_ += s;
  }
  void Key(const std::string& k, uint32_t type) {
    String(k);
    Pod(type);
  }
  std::string body_;
  size_t n_ = 0;
};

GgufBuilder TinyGpt2Gguf(const std::string& pre, const std::vector<std::string>& merges) {
  GgufBuilder b;
  b.Str("general.architecture", "llama");
  b.Str("tokenizer.ggml.model", "gpt2");
  b.Str("tokenizer.ggml.pre", pre);
  b.StrArray("tokenizer.ggml.tokens", {"a", "b", "ab", "\xC4\xA0", "<|eot|>"});
  b.I32Array("tokenizer.ggml.token_type", {1, 1, 1, 1, 3});
  b.StrArray("tokenizer.ggml.merges", merges);
  b.U32("tokenizer.ggml.eos_token_id", 4);
  return b;
}

// The tokenizer of the GGUF file `b` builds, written as tok.gguf in a temporary folder.
void LoadGgufTokenizer(const GgufBuilder& b) {
  TempDir dir;
  Tokenizer::FromGguf(GgufFile::Open(dir.Write("tok.gguf", b.Bytes())));
}

TEST(TokenizerErrors, TinyGgufWorks) {
  TempDir dir;
  const std::string path = dir.Write("tok.gguf", TinyGpt2Gguf("smollm", {"a b"}).Bytes());
  const auto t = Tokenizer::FromGguf(GgufFile::Open(path));
  EXPECT_EQ(t->Encode("ab b<|eot|>", false, true), (std::vector<int32_t>{2, 3, 1, 4}));
  EXPECT_EQ(t->eog_ids(), (std::vector<int32_t>{4}));
}

TEST(TokenizerErrors, MalformedGguf) {
  using testing::ThrowsOneLineError;
  EXPECT_THAT([] { LoadGgufTokenizer(TinyGpt2Gguf("klingon", {"a b"})); },
              ThrowsOneLineError("tok.gguf", "unknown pre-tokenizer type 'klingon'"));
  EXPECT_THAT([] { LoadGgufTokenizer(TinyGpt2Gguf("gpt2", {"a x"})); },
              ThrowsOneLineError("tok.gguf", "refers to unknown token 'x'"));

  GgufBuilder b;
  b.Str("tokenizer.ggml.model", "bert");
  b.StrArray("tokenizer.ggml.tokens", {"a"});
  EXPECT_THAT([&] { LoadGgufTokenizer(b); },
              ThrowsOneLineError("tok.gguf", "unsupported tokenizer model 'bert'"));

  GgufBuilder c;
  c.Str("tokenizer.ggml.model", "gpt2");
  c.StrArray("tokenizer.ggml.tokens", {"a"});
  EXPECT_THAT([&] { LoadGgufTokenizer(c); }, ThrowsOneLineError("no tokenizer.ggml.merges"));

  GgufBuilder d;
  d.Str("general.architecture", "llama");
  EXPECT_THAT([&] { LoadGgufTokenizer(d); }, ThrowsOneLineError("no tokenizer.ggml.model"));
}

// The GGUF code path for the llama3 and qwen2 pre-tokenizer types: GGUFs built at test time from
// the Llama-3 and Qwen3 tokenizer.json files (as convert_hf_to_gguf.py does: added tokens become
// control / user-defined tokens) must give the tokenizer.json reference ids. llama.cpp does not
// normalize, so the documents NFC changes are left out for Qwen. (tools/make_tokenizer_fixtures.py
// users can check these GGUFs against llama.cpp too; they agree on the whole corpus.)
void CheckGgufFromJson(const std::string& family, const std::string& pre) {
  const std::string shared = testing::SharedDataDir();
  ASSERT_FALSE(shared.empty()) << "shared data missing";
  const Corpus* corpus = SharedCorpus();
  ASSERT_NE(corpus, nullptr);
  const json j = ReadJson(shared + "/tokenizers/" + family + "/tokenizer.json");
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (const auto& [piece, id] : j["model"]["vocab"].items()) {
    const auto i = id.get<size_t>();
    if (i >= tokens.size()) tokens.resize(i + 1), types.resize(i + 1, 1);
    tokens[i] = piece;
  }
  for (const json& a : j["added_tokens"]) {
    const auto i = a["id"].get<size_t>();
    if (i >= tokens.size()) tokens.resize(i + 1), types.resize(i + 1, 1);
    tokens[i] = a["content"].get<std::string>();
    types[i] = a["special"].get<bool>() ? 3 : 4;
  }
  std::vector<std::string> merges;
  for (const json& m : j["model"]["merges"]) {
    merges.push_back(m.is_string() ? m.get<std::string>()
                                   : m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  GgufBuilder b;
  b.Str("general.architecture", "llama");
  b.Str("tokenizer.ggml.model", "gpt2");
  b.Str("tokenizer.ggml.pre", pre);
  b.StrArray("tokenizer.ggml.tokens", tokens);
  b.I32Array("tokenizer.ggml.token_type", types);
  b.StrArray("tokenizer.ggml.merges", merges);
  TempDir dir;
  const std::string path = dir.Write(family + ".gguf", b.Bytes());
  const auto tok = Tokenizer::FromGguf(GgufFile::Open(path));
  const auto ref = ReadIds(testing::FixturePath("tokenizer/ids_" + family + "_json.bin"));
  ASSERT_EQ(ref.size(), corpus->docs.size());
  size_t compared = 0, mismatched = 0;
  for (size_t d = 0; d < corpus->docs.size(); ++d) {
    if (family == "qwen3" && corpus->nfc_changed[d]) continue;
    ++compared;
    const std::vector<int32_t> ids = tok->Encode(corpus->docs[d], false, true);
    if (ids != ref[d] && ++mismatched <= 3) {
      size_t k = 0;
      while (k < ids.size() && k < ref[d].size() && ids[k] == ref[d][k]) ++k;
      ADD_FAILURE() << family << " GGUF (pre " << pre << "): document " << d << " ("
                    << corpus->labels[d] << ") differs at token " << k << ": got "
                    << Pieces(*tok, ids, k, k + 5) << ", want " << Pieces(*tok, ref[d], k, k + 5);
    }
  }
  EXPECT_EQ(mismatched, 0u);
  std::printf(
      "[ %s GGUF, pre %s ] %zu documents compared with the tokenizer.json reference: "
      "%zu differ\n",
      family.c_str(), pre.c_str(), compared, mismatched);
}

TEST(TokenizerCorpus, Llama3PreTypeFromGguf) { CheckGgufFromJson("llama3", "llama-bpe"); }
TEST(TokenizerCorpus, Qwen2PreTypeFromGguf) { CheckGgufFromJson("qwen3", "qwen2"); }

// Pipeline variants: the shared tokenizer.json files patched to use other normalizers and
// pre-tokenizers (Metaspace, split behaviours, ByteLevel with a prefix space, NFKC + Replace);
// reference ids from HF tokenizers on the first documents of the corpus.
TEST(TokenizerCorpus, PipelineVariants) {
  const std::string shared = testing::SharedDataDir();
  ASSERT_FALSE(shared.empty()) << "shared data missing";
  const Corpus* corpus = SharedCorpus();
  ASSERT_NE(corpus, nullptr);
  const auto n_docs = Manifest()["variant_docs"].get<size_t>();
  for (const json& v : Manifest()["variants"]) {
    const std::string name = v["name"].get<std::string>();
    json j = ReadJson(shared + "/" + v["base"].get<std::string>());
    for (const auto& [key, value] : v["set"].items()) j[key] = value;
    TempDir dir;
    const auto tok = Tokenizer::FromJsonFile(dir.Write("tokenizer.json", j.dump()));
    const auto ref = ReadIds(testing::FixturePath("tokenizer/" + v["ids"].get<std::string>()));
    ASSERT_EQ(ref.size(), n_docs);
    size_t mismatched = 0;
    for (size_t d = 0; d < n_docs; ++d) {
      const std::vector<int32_t> ids = tok->Encode(corpus->docs[d], false, true);
      if (ids != ref[d] && ++mismatched <= 3) {
        size_t k = 0;
        while (k < ids.size() && k < ref[d].size() && ids[k] == ref[d][k]) ++k;
        ADD_FAILURE() << "variant " << name << ": document " << d << " differs at token " << k
                      << ": got " << Pieces(*tok, ids, k, k + 5) << ", want "
                      << Pieces(*tok, ref[d], k, k + 5) << "; text '"
                      << Escape(corpus->docs[d].substr(0, 60)) << "'";
      }
    }
    EXPECT_EQ(mismatched, 0u) << name;
    std::printf("[ variant %s ] %zu documents: %zu differ\n", name.c_str(), n_docs, mismatched);
  }
}

}  // namespace
}  // namespace starattn
