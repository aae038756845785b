// Tokenizer loading (GGUF metadata, HF tokenizer.json + tokenizer_config.json), special-token
// splitting, encoding pipeline and decoding.
//
// Encoding follows HF tokenizers' pipeline: added (special) tokens are split out of the raw text
// first (leftmost-longest); every segment between them is normalized, pre-tokenized into pieces
// and each piece is run through the model (rank-based BPE over byte-level symbols or characters
// with byte fallback). GGUF `llama` vocabularies use llama.cpp's score-based SentencePiece merges
// instead, with its whitespace escaping and space prefix.
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/parse.h"
#include "engine/common/utf8.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/internal.h"

namespace starattn {
namespace {

namespace ti = tokenizer_internal;
using json = nlohmann::json;

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

// Calls f on the words of text: cut before every U+2581 that follows another character.
template <typename F>
void ForEachMarkerWord(std::string_view text, F&& f) {
  size_t start = 0;
  bool prev_marker = true;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
      if (!prev_marker && i > start) {
        f(text.substr(start, i - start));
        start = i;
      }
      prev_marker = true;
      i += kSpaceMarker.size();
    } else {
      prev_marker = false;
      ++i;
    }
  }
  if (start < text.size()) f(text.substr(start));
}

// Whether SentencePiece-style text can be cut into words before each U+2581 that follows another
// character without changing the result: true when U+2581 is a vocabulary entry and no entry has
// a U+2581 after another character (so no merge ever crosses such a cut).
bool MarkerSplitIsExact(const ti::StringIdMap& vocab) {
  if (vocab.find(kSpaceMarker) == vocab.end()) return false;
  for (const auto& [piece, id] : vocab) {
    bool seen_other = false;
    for (size_t i = 0; i < piece.size();) {
      if (piece.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
        if (seen_other) return false;
        i += kSpaceMarker.size();
      } else {
        seen_other = true;
        ++i;
      }
    }
  }
  return true;
}

bool IsWhiteSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool IsWordChar(uint32_t cp) {
  return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
         cp == '_' || (cp >= 0x80 && !IsWhiteSpace(cp));
}

// "<0xNN>" -> NN, else -1.
int ParseByteToken(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = piece[k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return v;
}

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;  // matched only when parse_special is true
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// Finds added tokens in text: leftmost match, longest among those starting there (HF's
// aho-corasick LeftmostLongest).
class AddedTokenMatcher {
 public:
  void Build(const std::vector<AddedToken>* tokens) {
    tokens_ = tokens;
    for (auto& b : by_first_) b.clear();
    for (size_t i = 0; i < tokens->size(); ++i) {
      const std::string& c = (*tokens)[i].content;
      if (!c.empty()) by_first_[static_cast<uint8_t>(c[0])].push_back(static_cast<int32_t>(i));
    }
    for (auto& b : by_first_) {
      std::stable_sort(b.begin(), b.end(), [&](int32_t x, int32_t y) {
        return (*tokens)[x].content.size() > (*tokens)[y].content.size();
      });
    }
  }
  bool empty() const { return tokens_ == nullptr || tokens_->empty(); }

  // Finds the next match in text[from, ...); [*begin, *end) includes stripped whitespace.
  bool FindNext(std::string_view text, size_t from, bool parse_special, size_t* begin, size_t* end,
                int32_t* index) const {
    if (empty()) return false;
    for (size_t i = from; i < text.size(); ++i) {
      const auto& bucket = by_first_[static_cast<uint8_t>(text[i])];
      for (const int32_t k : bucket) {
        const AddedToken& t = (*tokens_)[k];
        if (t.special && !parse_special) continue;
        if (text.compare(i, t.content.size(), t.content) != 0) continue;
        size_t b = i, e = i + t.content.size();
        if (t.single_word && !IsSingleWord(text, b, e)) continue;
        if (t.lstrip) {
          while (b > from) {
            const size_t p = utf8::PrevStart(text, b);
            uint32_t cp;
            ti::DecodeUtf8(text, p, &cp);
            if (!IsWhiteSpace(cp)) break;
            b = p;
          }
        }
        if (t.rstrip) {
          while (e < text.size()) {
            uint32_t cp;
            const size_t n = ti::DecodeUtf8(text, e, &cp);
            if (!IsWhiteSpace(cp)) break;
            e += n;
          }
        }
        *begin = b;
        *end = e;
        *index = k;
        return true;
      }
    }
    return false;
  }

 private:
  static bool IsSingleWord(std::string_view text, size_t b, size_t e) {
    if (b > 0) {
      uint32_t cp;
      ti::DecodeUtf8(text, utf8::PrevStart(text, b), &cp);
      if (IsWordChar(cp)) return false;
    }
    if (e < text.size()) {
      uint32_t cp;
      ti::DecodeUtf8(text, e, &cp);
      if (IsWordChar(cp)) return false;
    }
    return true;
  }

  const std::vector<AddedToken>* tokens_ = nullptr;
  std::array<std::vector<int32_t>, 256> by_first_;
};

enum class ModelKind { kBpe, kSpmScores };

class TokenizerImpl final : public Tokenizer {
 public:
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool parse_special) const override;
  std::string Decode(std::span<const int32_t> ids, bool skip_special) const override;

  // ---- Set by the loaders ----
  ModelKind kind = ModelKind::kBpe;
  bool byte_level = false;
  bool ignore_merges = false;
  bool byte_fallback = false;
  bool fuse_unk = false;
  int32_t unk_id = -1;
  bool spm_add_space_prefix = false;  // kSpmScores
  // SentencePiece-style text is merged word by word (see MarkerSplitIsExact), not all at once.
  bool split_at_marker = false;
  size_t decode_strip_spaces = 0;  // leading spaces removed from decoded text
  ti::Normalizer normalizer;
  ti::PreTokenizer pretokenizer;
  ti::PairMap merges;
  ti::StringIdMap vocab;      // model vocabulary, as stored (not for byte-level models)
  ti::StringIdMap raw_vocab;  // byte-level: raw bytes -> id (for ignore_merges)
  std::array<int32_t, 256> byte_symbols{};  // byte-level: id of each byte's character
  std::array<int32_t, 256> byte_tokens{};   // <0xNN> tokens (byte fallback)
  std::vector<float> scores;
  std::vector<int16_t> byte_value;  // decode: the byte a <0xNN> token stands for, else -1
  std::vector<bool> is_added;       // decode: content emitted verbatim
  std::vector<AddedToken> added;
  AddedTokenMatcher matcher;

  // Fills the base class' lookup structures and derived tables once pieces_ etc. are set.
  void Finish(const std::vector<std::string>& eog_names, const std::vector<int32_t>& extra_eog);
  std::vector<std::string>& pieces() { return pieces_; }
  void SetIds(int32_t bos, int32_t eos, bool add_bos) {
    bos_id_ = bos;
    eos_id_ = eos;
    add_bos_ = add_bos;
  }
  void SetChatTemplate(std::optional<std::string> t) { chat_template_ = std::move(t); }

 private:
  struct Scratch {
    std::string segment;
    std::vector<ti::Range> pieces;
    std::vector<int32_t> symbols;
    ti::BpeScratch bpe;
  };
  void EncodeSegment(std::string_view raw, bool first_segment, Scratch* s,
                     std::vector<int32_t>* out) const;
  void EncodeWord(std::string_view word, Scratch* s, std::vector<int32_t>* out) const;
};

void TokenizerImpl::Finish(const std::vector<std::string>& eog_names,
                           const std::vector<int32_t>& extra_eog) {
  const auto n = static_cast<int32_t>(pieces_.size());
  special_.resize(n, false);
  is_added.resize(n, false);
  byte_value.assign(n, -1);
  for (const AddedToken& t : added) {
    is_added[t.id] = true;
    if (t.special) special_[t.id] = true;
  }
  if (!byte_level) {
    for (int32_t i = 0; i < n; ++i) {
      if (!is_added[i] && (byte_fallback || kind == ModelKind::kSpmScores)) {
        byte_value[i] = static_cast<int16_t>(ParseByteToken(pieces_[i]));
      }
    }
  }
  matcher.Build(&added);

  sorted_index_.clear();
  sorted_index_.reserve(n);
  for (int32_t i = 0; i < n; ++i) {
    if (!pieces_[i].empty()) sorted_index_.emplace_back(pieces_[i], i);
  }
  std::stable_sort(sorted_index_.begin(), sorted_index_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  sorted_index_.erase(std::unique(sorted_index_.begin(), sorted_index_.end(),
                                  [](const auto& a, const auto& b) { return a.first == b.first; }),
                      sorted_index_.end());

  eog_ids_.clear();
  if (eos_id_ >= 0) eog_ids_.push_back(eos_id_);
  for (const int32_t id : extra_eog) {
    if (id >= 0 && id < n) eog_ids_.push_back(id);
  }
  for (const AddedToken& a : added) {  // special tokens only: "<|end|>" may be a plain piece
    if (std::find(eog_names.begin(), eog_names.end(), a.content) != eog_names.end()) {
      eog_ids_.push_back(a.id);
    }
  }
  std::sort(eog_ids_.begin(), eog_ids_.end());
  eog_ids_.erase(std::unique(eog_ids_.begin(), eog_ids_.end()), eog_ids_.end());
}

std::vector<int32_t> TokenizerImpl::Encode(std::string_view text, bool add_bos,
                                           bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && bos_id_ >= 0) out.push_back(bos_id_);
  Scratch scratch;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t b = 0, e = 0;
    int32_t k = -1;
    const bool found = matcher.FindNext(text, pos, parse_special, &b, &e, &k);
    const size_t seg_end = found ? b : text.size();
    if (seg_end > pos) EncodeSegment(text.substr(pos, seg_end - pos), pos == 0, &scratch, &out);
    if (!found) break;
    out.push_back(added[k].id);
    pos = e;
  }
  return out;
}

void TokenizerImpl::EncodeSegment(std::string_view raw, bool first_segment, Scratch* s,
                                  std::vector<int32_t>* out) const {
  std::string& seg = s->segment;
  if (kind == ModelKind::kSpmScores) {
    // llama.cpp: a space prefix for every fragment that follows a special token or starts the
    // text (every fragment here), then ' ' -> U+2581.
    seg.clear();
    if (spm_add_space_prefix) seg += kSpaceMarker;
    for (const char c : raw) {
      if (c == ' ') {
        seg += kSpaceMarker;
      } else {
        seg += c;
      }
    }
    const ti::SpmVocabView view{&vocab, &scores, &byte_tokens};
    if (split_at_marker) {
      ForEachMarkerWord(seg,
                        [&](std::string_view w) { ti::SpmScoreEncode(w, view, out, &s->bpe); });
    } else {
      ti::SpmScoreEncode(seg, view, out, &s->bpe);
    }
    return;
  }
  seg.assign(raw);
  normalizer.Apply(&seg);
  pretokenizer.Run(&seg, first_segment, &s->pieces);
  for (const ti::Range r : s->pieces) {
    if (r.end <= r.begin) continue;
    const std::string_view piece = std::string_view(seg).substr(r.begin, r.end - r.begin);
    if (split_at_marker && !ignore_merges) {
      ForEachMarkerWord(piece, [&](std::string_view w) { EncodeWord(w, s, out); });
    } else {
      EncodeWord(piece, s, out);
    }
  }
}

void TokenizerImpl::EncodeWord(std::string_view word, Scratch* s, std::vector<int32_t>* out) const {
  std::vector<int32_t>& sym = s->symbols;
  sym.clear();
  if (byte_level) {
    if (ignore_merges) {
      const auto it = raw_vocab.find(word);
      if (it != raw_vocab.end()) {
        out->push_back(it->second);
        return;
      }
    }
    for (const char c : word) sym.push_back(byte_symbols[static_cast<uint8_t>(c)]);
  } else {
    if (ignore_merges) {
      const auto it = vocab.find(word);
      if (it != vocab.end()) {
        out->push_back(it->second);
        return;
      }
    }
    bool pending_unk = false;
    for (size_t i = 0; i < word.size();) {
      const size_t n = ti::ValidCharLen(word, i);
      const std::string_view ch = word.substr(i, n);
      i += n;
      const auto it = vocab.find(ch);
      if (it != vocab.end()) {
        sym.push_back(it->second);
        pending_unk = false;
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (const char c : ch) all = all && byte_tokens[static_cast<uint8_t>(c)] >= 0;
        if (all) {
          for (const char c : ch) sym.push_back(byte_tokens[static_cast<uint8_t>(c)]);
          pending_unk = false;
          continue;
        }
      }
      if (unk_id >= 0) {
        if (!(fuse_unk && pending_unk)) sym.push_back(unk_id);
        pending_unk = true;
      }
    }
  }
  ti::BpeMerge(merges, &sym, &s->bpe);
  for (const int32_t id : sym) {
    if (id >= 0) out->push_back(id);
  }
}

std::string TokenizerImpl::Decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out;
  const auto n = static_cast<int32_t>(pieces_.size());
  for (const int32_t id : ids) {
    if (id < 0 || id >= n) continue;
    if (special_[id] && skip_special) continue;
    const std::string& piece = pieces_[id];
    if (is_added[id]) {
      out += piece;
    } else if (byte_level) {
      if (!ti::ByteLevelDecode(piece, &out)) out += piece;
    } else if (byte_value[id] >= 0) {
      out.push_back(static_cast<char>(byte_value[id]));
    } else {
      for (size_t i = 0; i < piece.size();) {
        if (piece.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
          out += ' ';
          i += kSpaceMarker.size();
        } else {
          out += piece[i++];
        }
      }
    }
  }
  size_t strip = 0;
  while (strip < decode_strip_spaces && strip < out.size() && out[strip] == ' ') ++strip;
  out.erase(0, strip);
  return out;
}

const std::vector<std::string> kEogNames = {
    "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|endoftext|>", "</s>", "<|end|>", "<end_of_turn>"};

// ---- GGUF -------------------------------------------------------------------------------------

enum GgufTokenType : int64_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6
};

std::unique_ptr<Tokenizer> LoadGguf(const GgufFile& gguf) {
  const std::string& path = gguf.path();
  auto t = std::make_unique<TokenizerImpl>();
  const std::optional<std::string> model = gguf.GetString("tokenizer.ggml.model");
  STARATTN_REQUIRE(model.has_value(), "{}: no tokenizer.ggml.model in the GGUF metadata", path);
  std::optional<std::vector<std::string>> tokens = gguf.GetStringArray("tokenizer.ggml.tokens");
  STARATTN_REQUIRE(tokens.has_value() && !tokens->empty(),
                   "{}: no tokenizer.ggml.tokens in the GGUF metadata", path);
  STARATTN_REQUIRE(tokens->size() < (size_t{1} << 30),
                   "{}: tokenizer.ggml.tokens has {} entries, more than 2^30", path,
                   tokens->size());
  const auto n = static_cast<int32_t>(tokens->size());
  std::vector<int64_t> types(n, kNormal);
  if (auto tt = gguf.GetIntArray("tokenizer.ggml.token_type")) {
    STARATTN_REQUIRE(static_cast<int32_t>(tt->size()) == n,
                     "{}: tokenizer.ggml.token_type has {} entries for {} tokens", path, tt->size(),
                     n);
    types = std::move(*tt);
  }
  t->pieces() = std::move(*tokens);
  const std::vector<std::string>& pieces = t->pieces();

  ti::StringIdMap ids;  // piece -> id, later duplicates win (as llama.cpp's token_to_id)
  ids.reserve(n);
  for (int32_t i = 0; i < n; ++i) ids[pieces[i]] = i;

  bool add_bos = false;
  if (*model == "gpt2") {
    t->kind = ModelKind::kBpe;
    t->byte_level = true;
    const std::string pre = gguf.GetString("tokenizer.ggml.pre").value_or("default");
    std::vector<std::string> regexes;
    bool llama3_like = false;
    STARATTN_REQUIRE(ti::LlamaCppPreRegexes(pre, &regexes, &llama3_like),
                     "{}: unknown pre-tokenizer type '{}' (tokenizer.ggml.pre)", path, pre);
    for (const std::string& r : regexes) {
      std::string err;
      auto re = ti::Regex::Compile(r, &err);
      STARATTN_REQUIRE(re != nullptr, "{}: pre-tokenizer regex '{}': {}", path, r, err);
      t->pretokenizer.AddRegexSplit(std::move(re), ti::SplitBehavior::kIsolated, false);
    }
    t->ignore_merges = llama3_like;
    add_bos = llama3_like;
    const std::optional<std::vector<std::string>> merges =
        gguf.GetStringArray("tokenizer.ggml.merges");
    STARATTN_REQUIRE(merges.has_value(), "{}: no tokenizer.ggml.merges for a gpt2 tokenizer", path);
    t->merges.Reserve(merges->size());
    for (size_t r = 0; r < merges->size(); ++r) {
      const std::string& m = (*merges)[r];
      const size_t sp = m.find(' ', 1);
      STARATTN_REQUIRE(sp != std::string::npos, "{}: merge #{} '{}' is not 'a b'", path, r, m);
      const std::string a = m.substr(0, sp), b = m.substr(sp + 1);
      const auto ia = ids.find(a), ib = ids.find(b), iab = ids.find(a + b);
      STARATTN_REQUIRE(ia != ids.end(), "{}: merge #{} '{}' refers to unknown token '{}'", path, r,
                       m, a);
      STARATTN_REQUIRE(ib != ids.end(), "{}: merge #{} '{}' refers to unknown token '{}'", path, r,
                       m, b);
      STARATTN_REQUIRE(iab != ids.end(), "{}: merge #{} '{}' makes '{}', which is not a token",
                       path, r, m, a + b);
      if (t->merges.Find(ia->second, ib->second) == nullptr) {  // the first rank wins
        t->merges.Set(ia->second, ib->second,
                      {static_cast<int32_t>(r), static_cast<int32_t>(iab->second)});
      }
    }
    for (int b = 0; b < 256; ++b) {
      const auto it = ids.find(ti::ByteLevelEncode(std::string(1, static_cast<char>(b))));
      t->byte_symbols[b] = it != ids.end() ? it->second : -1;
    }
    if (t->ignore_merges) {
      t->raw_vocab.reserve(n);
      std::string raw;
      for (int32_t i = 0; i < n; ++i) {
        raw.clear();
        if (ti::ByteLevelDecode(pieces[i], &raw)) t->raw_vocab.emplace(raw, i);
      }
    }
  } else if (*model == "llama") {
    t->kind = ModelKind::kSpmScores;
    t->spm_add_space_prefix = gguf.GetBool("tokenizer.ggml.add_space_prefix").value_or(true);
    t->decode_strip_spaces = t->spm_add_space_prefix ? 1 : 0;
    t->scores.assign(n, 0.0f);
    if (auto sc = gguf.GetFloatArray("tokenizer.ggml.scores")) {
      STARATTN_REQUIRE(static_cast<int32_t>(sc->size()) == n,
                       "{}: tokenizer.ggml.scores has {} entries for {} tokens", path, sc->size(),
                       n);
      for (int32_t i = 0; i < n; ++i) t->scores[i] = static_cast<float>((*sc)[i]);
    }
    t->vocab = ids;
    t->split_at_marker = MarkerSplitIsExact(t->vocab);
    for (int b = 0; b < 256; ++b) {
      const std::string name = fmt::format("<0x{:02X}>", b);
      auto it = ids.find(name);
      if (it == ids.end()) it = ids.find(std::string(1, static_cast<char>(b)));
      t->byte_tokens[b] = it != ids.end() ? it->second : -1;
    }
    add_bos = true;
  } else {
    Fail("{}: unsupported tokenizer model '{}' (tokenizer.ggml.model; expected gpt2 or llama)",
         path, *model);
  }

  // llama.cpp treats tokens with these texts as control tokens whatever their stored type
  // (end-of-generation and fill-in-the-middle markers).
  // clang-format off
  static const std::string kDeepSeekEos =
      "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>";
  static const std::string kPre = "\xE2\x96\x81<PRE>", kSuf = "\xE2\x96\x81<SUF>",
                           kMid = "\xE2\x96\x81<MID>";
  static const std::vector<std::string> kForcedControl = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
      "<EOT>", "_<EOT>", "[EOT]", "[EOS]", kDeepSeekEos, "<end_of_utterance>", "<|eom_id|>",
      "<|return|>", "<|call|>",
      "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<PRE>", kPre,
      "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<SUF>", kSuf,
      "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<MID>", kMid,
      "<|fim_pad|>", "<fim-pad>", "<fim_pad>",
      "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
      "<|file_sep|>", "<file-sep>", "<file_sep>"};
  // clang-format on
  for (const std::string& name : kForcedControl) {
    const auto it = ids.find(name);
    if (it != ids.end() && (types[it->second] == kNormal || types[it->second] == kUserDefined)) {
      types[it->second] = kControl;
    }
  }
  for (int32_t i = 0; i < n; ++i) {
    const int64_t ty = types[i];
    if (ty == kUnknown || ty == kControl || ty == kUserDefined) {
      AddedToken a;
      a.content = pieces[i];
      a.id = i;
      a.special = ty != kUserDefined;
      t->added.push_back(std::move(a));
    }
  }
  auto get_id = [&](const char* key) -> int32_t {
    const std::optional<int64_t> v = gguf.GetInt(key);
    if (!v.has_value()) return -1;
    STARATTN_REQUIRE(*v >= 0 && *v < n, "{}: {} = {} is out of range (vocabulary of {})", path, key,
                     *v, n);
    return static_cast<int32_t>(*v);
  };
  const int32_t bos = get_id("tokenizer.ggml.bos_token_id");
  const int32_t eos = get_id("tokenizer.ggml.eos_token_id");
  const int32_t eot = get_id("tokenizer.ggml.eot_token_id");
  const int32_t eom = get_id("tokenizer.ggml.eom_token_id");
  t->unk_id = get_id("tokenizer.ggml.unknown_token_id");
  add_bos = gguf.GetBool("tokenizer.ggml.add_bos_token").value_or(add_bos);
  t->SetIds(bos, eos, add_bos && bos >= 0);
  t->SetChatTemplate(gguf.GetString("tokenizer.chat_template"));
  t->Finish(kEogNames, {eot, eom});
  return t;
}

// ---- tokenizer.json ---------------------------------------------------------------------------

// Ids of a tokenizer.json must be below this, given the number of tokens it lists (vocab entries
// plus added tokens): gaps are allowed (some vocabularies skip ids), but at most as many unused
// ids as listed ones (+1024), so that a stray id near 2^30 cannot make the loader allocate a
// table of a billion entries (32 GB).
int64_t VocabIdLimit(size_t n_tokens) {
  return std::min<int64_t>(2 * static_cast<int64_t>(n_tokens) + 1024, int64_t{1} << 30);
}

// Nesting is capped at parse time (ParseJson: one line for malformed text too): a tokenizer.json
// nested thousands deep overflowed the stack in the recursive copies below before the Sequence
// depth check could reject it (fuzz regression normalizer-sequence-5000-deep, under ASan at -O1).
// Real files nest less than 10 levels; 512 leaves the Sequence checks their own messages.
json ParseJsonText(std::string_view text, const std::string& path) {
  return ParseJson(text, path, /*max_depth=*/512);
}

// Sequence steps nest; deeper nesting than this is rejected (no real tokenizer comes close).
constexpr int kMaxSequenceDepth = 16;

void CheckDepth(int depth, const std::string& path, const char* what) {
  STARATTN_REQUIRE(depth <= kMaxSequenceDepth, "{}: {} Sequences nest deeper than {}", path, what,
                   kMaxSequenceDepth);
}

// Reads a string field ("" when absent/null); throws when present with another type.
std::string GetStr(const json& j, const char* key, const std::string& path, const char* where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  STARATTN_REQUIRE(it->is_string(), "{}: {}.{} is not a string", path, where, key);
  return it->get<std::string>();
}

bool GetBoolField(const json& j, const char* key, bool dflt, const std::string& path,
                  const char* where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  STARATTN_REQUIRE(it->is_boolean(), "{}: {}.{} is not a boolean", path, where, key);
  return it->get<bool>();
}

const json& RequireObject(const json& j, const char* what, const std::string& path) {
  STARATTN_REQUIRE(j.is_object(), "{}: {} is not an object", path, what);
  return j;
}

// {"String": s} or {"Regex": r} -> (is_regex, text).
std::pair<bool, std::string> ParsePattern(const json& j, const std::string& path,
                                          const char* where) {
  STARATTN_REQUIRE(j.is_object(), "{}: {}.pattern is not an object", path, where);
  if (j.contains("Regex") && j["Regex"].is_string()) return {true, j["Regex"].get<std::string>()};
  if (j.contains("String") && j["String"].is_string()) {
    return {false, j["String"].get<std::string>()};
  }
  Fail("{}: {}.pattern needs a String or Regex", path, where);
}

std::unique_ptr<ti::Regex> CompileOrFail(const std::string& pattern, const std::string& path,
                                         const char* where) {
  std::string err;
  auto re = ti::Regex::Compile(pattern, &err);
  STARATTN_REQUIRE(re != nullptr, "{}: {}: bad regex '{}': {}", path, where, pattern, err);
  return re;
}

void ParseNormalizer(const json& j, const std::string& path, ti::Normalizer* n, int depth = 0) {
  if (j.is_null()) return;
  CheckDepth(depth, path, "normalizer");
  RequireObject(j, "normalizer", path);
  const std::string type = GetStr(j, "type", path, "normalizer");
  if (type == "Sequence") {
    const auto it = j.find("normalizers");
    STARATTN_REQUIRE(it != j.end() && it->is_array(), "{}: normalizer Sequence has no list", path);
    for (const json& sub : *it) ParseNormalizer(sub, path, n, depth + 1);
  } else if (type == "NFC") {
    n->AddNormalForm(ti::NormalForm::kNfc);
  } else if (type == "NFD") {
    n->AddNormalForm(ti::NormalForm::kNfd);
  } else if (type == "NFKC") {
    n->AddNormalForm(ti::NormalForm::kNfkc);
  } else if (type == "NFKD") {
    n->AddNormalForm(ti::NormalForm::kNfkd);
  } else if (type == "Lowercase") {
    n->AddLowercase();
  } else if (type == "Prepend") {
    n->AddPrepend(GetStr(j, "prepend", path, "normalizer"));
  } else if (type == "Replace") {
    STARATTN_REQUIRE(j.contains("pattern"), "{}: normalizer Replace has no pattern", path);
    auto [is_regex, pat] = ParsePattern(j["pattern"], path, "normalizer");
    std::string content = GetStr(j, "content", path, "normalizer");
    if (is_regex) {
      n->AddReplaceRegex(CompileOrFail(pat, path, "normalizer"), std::move(content));
    } else {
      n->AddReplaceString(std::move(pat), std::move(content));
    }
  } else {
    Fail("{}: unsupported normalizer type '{}'", path, type);
  }
}

ti::SplitBehavior ParseBehavior(const std::string& s, const std::string& path) {
  if (s == "Isolated" || s.empty()) return ti::SplitBehavior::kIsolated;
  if (s == "Removed") return ti::SplitBehavior::kRemoved;
  if (s == "MergedWithPrevious") return ti::SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return ti::SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return ti::SplitBehavior::kContiguous;
  Fail("{}: unknown split behavior '{}'", path, s);
}

struct PreTokenizerState {
  bool byte_level = false;  // a ByteLevel step was seen (must be the last one)
};

void ParsePreTokenizer(const json& j, const std::string& path, ti::PreTokenizer* p,
                       PreTokenizerState* st, int depth = 0) {
  if (j.is_null()) return;
  CheckDepth(depth, path, "pre_tokenizer");
  RequireObject(j, "pre_tokenizer", path);
  const std::string type = GetStr(j, "type", path, "pre_tokenizer");
  STARATTN_REQUIRE(!st->byte_level || type == "Sequence",
                   "{}: pre_tokenizer step '{}' after ByteLevel is not supported", path, type);
  const bool first = !p->has_splits() && !p->has_transforms();
  if (type == "Sequence") {
    const auto it = j.find("pretokenizers");
    STARATTN_REQUIRE(it != j.end() && it->is_array(), "{}: pre_tokenizer Sequence has no list",
                     path);
    for (const json& sub : *it) ParsePreTokenizer(sub, path, p, st, depth + 1);
  } else if (type == "Split") {
    STARATTN_REQUIRE(j.contains("pattern"), "{}: pre_tokenizer Split has no pattern", path);
    auto [is_regex, pat] = ParsePattern(j["pattern"], path, "pre_tokenizer");
    const auto behavior = ParseBehavior(GetStr(j, "behavior", path, "pre_tokenizer"), path);
    const bool invert = GetBoolField(j, "invert", false, path, "pre_tokenizer");
    if (is_regex) {
      p->AddRegexSplit(CompileOrFail(pat, path, "pre_tokenizer"), behavior, invert);
    } else {
      p->AddLiteralSplit(std::move(pat), behavior, invert);
    }
  } else if (type == "ByteLevel") {
    if (GetBoolField(j, "add_prefix_space", false, path, "pre_tokenizer")) {
      STARATTN_REQUIRE(first, "{}: ByteLevel add_prefix_space after other steps is unsupported",
                       path);
      p->SetBytePrefixSpace();
    }
    if (GetBoolField(j, "use_regex", true, path, "pre_tokenizer")) {
      p->AddRegexSplit(CompileOrFail(ti::kGpt2Regex, path, "pre_tokenizer"),
                       ti::SplitBehavior::kIsolated, false);
    }
    st->byte_level = true;
  } else if (type == "Digits") {
    const bool individual = GetBoolField(j, "individual_digits", false, path, "pre_tokenizer");
    p->AddRegexSplit(CompileOrFail("\\p{N}", path, "pre_tokenizer"),
                     individual ? ti::SplitBehavior::kIsolated : ti::SplitBehavior::kContiguous,
                     false);
  } else if (type == "Metaspace") {
    STARATTN_REQUIRE(first, "{}: Metaspace after other pre_tokenizer steps is unsupported", path);
    std::string replacement = GetStr(j, "replacement", path, "pre_tokenizer");
    if (replacement.empty()) replacement = std::string(kSpaceMarker);
    auto scheme = ti::PreTokenizer::PrependScheme::kAlways;
    const std::string ps = GetStr(j, "prepend_scheme", path, "pre_tokenizer");
    if (ps == "first") {
      scheme = ti::PreTokenizer::PrependScheme::kFirst;
    } else if (ps == "never") {
      scheme = ti::PreTokenizer::PrependScheme::kNever;
    } else if (ps.empty() && !GetBoolField(j, "add_prefix_space", true, path, "pre_tokenizer")) {
      scheme = ti::PreTokenizer::PrependScheme::kNever;
    } else if (!ps.empty() && ps != "always") {
      Fail("{}: unknown Metaspace prepend_scheme '{}'", path, ps);
    }
    p->SetMetaspace(replacement, scheme);
    if (GetBoolField(j, "split", true, path, "pre_tokenizer")) {
      p->AddLiteralSplit(replacement, ti::SplitBehavior::kMergedWithNext, false);
    }
  } else if (type == "Whitespace") {
    p->AddRegexSplit(CompileOrFail("\\w+|[^\\w\\s]+", path, "pre_tokenizer"),
                     ti::SplitBehavior::kRemoved, true);
  } else if (type == "WhitespaceSplit") {
    p->AddRegexSplit(CompileOrFail("\\s", path, "pre_tokenizer"), ti::SplitBehavior::kRemoved,
                     false);
  } else if (type == "Punctuation") {
    p->AddRegexSplit(CompileOrFail("[\\p{P}!-/:-@\\[-`{-~]", path, "pre_tokenizer"),
                     ParseBehavior(GetStr(j, "behavior", path, "pre_tokenizer"), path), false);
  } else {
    Fail("{}: unknown pre_tokenizer type '{}'", path, type);
  }
}

// The decoder: byte-level, or SentencePiece-style (U+2581 -> ' ', byte fallback) with a number
// of leading spaces stripped.
void ParseDecoder(const json& j, const std::string& path, bool* byte_level, size_t* strip,
                  int depth = 0) {
  if (j.is_null()) return;
  CheckDepth(depth, path, "decoder");
  RequireObject(j, "decoder", path);
  const std::string type = GetStr(j, "type", path, "decoder");
  if (type == "Sequence") {
    const auto it = j.find("decoders");
    STARATTN_REQUIRE(it != j.end() && it->is_array(), "{}: decoder Sequence has no list", path);
    for (const json& sub : *it) ParseDecoder(sub, path, byte_level, strip, depth + 1);
  } else if (type == "ByteLevel") {
    *byte_level = true;
  } else if (type == "Metaspace") {
    const std::string ps = GetStr(j, "prepend_scheme", path, "decoder");
    const bool prefix =
        ps.empty() ? GetBoolField(j, "add_prefix_space", true, path, "decoder") : ps != "never";
    *strip = prefix ? 1 : 0;
  } else if (type == "Strip") {
    const std::string content = GetStr(j, "content", path, "decoder");
    const auto it = j.find("start");
    if (content == " " && it != j.end() && it->is_number_unsigned()) {
      *strip = it->get<size_t>();
    }
  } else if (type == "Replace" || type == "ByteFallback" || type == "Fuse") {
    // Implied by the SentencePiece-style decoding.
  } else {
    Fail("{}: unsupported decoder type '{}'", path, type);
  }
}

// bos_token / eos_token of tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> ConfigToken(const json& cfg, const char* key) {
  const auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return std::nullopt;
}

std::unique_ptr<Tokenizer> LoadJson(std::string_view text, const std::optional<std::string>& config,
                                    const std::string& path, const std::string& cfg_path) {
  const json j = ParseJsonText(text, path);
  STARATTN_REQUIRE(j.is_object(), "{}: the top level is not an object", path);
  auto t = std::make_unique<TokenizerImpl>();

  const auto mit = j.find("model");
  STARATTN_REQUIRE(mit != j.end() && mit->is_object(), "{}: no model object", path);
  const json& model = *mit;
  std::string type = GetStr(model, "type", path, "model");
  if (type.empty() && model.contains("merges")) type = "BPE";
  STARATTN_REQUIRE(type == "BPE", "{}: unsupported model type '{}' (only BPE is supported)", path,
                   type);
  const auto vit = model.find("vocab");
  STARATTN_REQUIRE(vit != model.end() && vit->is_object() && !vit->empty(),
                   "{}: model.vocab is missing or empty", path);
  const auto merges_it = model.find("merges");
  STARATTN_REQUIRE(merges_it != model.end() && merges_it->is_array(), "{}: model.merges is missing",
                   path);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    STARATTN_REQUIRE(GetStr(model, key, path, "model").empty(), "{}: model.{} is not supported",
                     path, key);
  }
  t->byte_fallback = GetBoolField(model, "byte_fallback", false, path, "model");
  t->fuse_unk = GetBoolField(model, "fuse_unk", false, path, "model");
  t->ignore_merges = GetBoolField(model, "ignore_merges", false, path, "model");

  // Vocabulary and added tokens. Ids index a table of max_id + 1 pieces, so they are checked
  // against the number of tokens the file holds before it is allocated (VocabIdLimit).
  const auto ait = j.find("added_tokens");
  STARATTN_REQUIRE(ait == j.end() || ait->is_null() || ait->is_array(),
                   "{}: added_tokens is not an array", path);
  const size_t n_added = ait != j.end() && ait->is_array() ? ait->size() : 0;
  const int64_t id_limit = VocabIdLimit(vit->size() + n_added);
  auto check_id = [&](const json& id, std::string_view what, std::string_view piece) {
    const int64_t v = JsonInt(id, fmt::format("{}: {} '{}' id", path, what, Printable(piece)), 0);
    STARATTN_REQUIRE(v < id_limit,
                     "{}: {} '{}' has id {}, above the vocabulary: the file has {} tokens, so ids "
                     "must be below {}",
                     path, what, Printable(piece), v, vit->size() + n_added, id_limit);
    return static_cast<int32_t>(v);
  };
  int32_t max_id = -1;
  for (const auto& [piece, id] : vit->items()) {
    max_id = std::max(max_id, check_id(id, "model.vocab entry", piece));
  }
  if (n_added > 0) {
    for (const json& a : *ait) {
      STARATTN_REQUIRE(
          a.is_object() && a.contains("id") && a.contains("content") && a["content"].is_string(),
          "{}: an added_tokens entry lacks id or content", path);
      AddedToken tok;
      tok.content = a["content"].get<std::string>();
      tok.id = check_id(a["id"], "added token", tok.content);
      STARATTN_REQUIRE(!tok.content.empty(), "{}: added token {} is empty", path, tok.id);
      tok.special = GetBoolField(a, "special", false, path, "added_tokens");
      tok.lstrip = GetBoolField(a, "lstrip", false, path, "added_tokens");
      tok.rstrip = GetBoolField(a, "rstrip", false, path, "added_tokens");
      tok.single_word = GetBoolField(a, "single_word", false, path, "added_tokens");
      max_id = std::max(max_id, tok.id);
      t->added.push_back(std::move(tok));
    }
  }
  std::vector<std::string>& pieces = t->pieces();
  pieces.assign(max_id + 1, std::string());
  ti::StringIdMap ids;
  ids.reserve(vit->size());
  for (const auto& [piece, id] : vit->items()) {
    pieces[id.get<int64_t>()] = piece;
    ids[piece] = static_cast<int32_t>(id.get<int64_t>());
  }
  for (const AddedToken& a : t->added) {
    if (pieces[a.id].empty()) pieces[a.id] = a.content;
  }

  // Pipeline.
  ParseNormalizer(j.value("normalizer", json()), path, &t->normalizer);
  PreTokenizerState pst;
  ParsePreTokenizer(j.value("pre_tokenizer", json()), path, &t->pretokenizer, &pst);
  bool decoder_byte_level = false;
  ParseDecoder(j.value("decoder", json()), path, &decoder_byte_level, &t->decode_strip_spaces);
  t->byte_level = pst.byte_level || decoder_byte_level;
  if (t->byte_level) t->decode_strip_spaces = 0;

  const std::string unk = GetStr(model, "unk_token", path, "model");
  if (!unk.empty()) {
    const auto it = ids.find(unk);
    STARATTN_REQUIRE(it != ids.end(), "{}: model.unk_token '{}' is not in the vocabulary", path,
                     unk);
    t->unk_id = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    if (t->byte_level) {
      const auto it = ids.find(ti::ByteLevelEncode(std::string(1, static_cast<char>(b))));
      t->byte_symbols[b] = it != ids.end() ? it->second : -1;
      t->byte_tokens[b] = -1;
    } else {
      const auto it = ids.find(fmt::format("<0x{:02X}>", b));
      t->byte_tokens[b] = it != ids.end() ? it->second : -1;
      t->byte_symbols[b] = -1;
    }
  }

  // Merges: "a b" strings or [a, b] pairs; a later duplicate overwrites (as HF's hash map).
  t->merges.Reserve(merges_it->size());
  int32_t rank = 0;
  for (const json& m : *merges_it) {
    std::string a, b;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ');
      STARATTN_REQUIRE(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos,
                       "{}: merge #{} '{}' is not 'a b'", path, rank, s);
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      Fail("{}: merge #{} is neither 'a b' nor [a, b]", path, rank);
    }
    const auto ia = ids.find(a), ib = ids.find(b), iab = ids.find(a + b);
    STARATTN_REQUIRE(ia != ids.end(), "{}: merge #{} '{} {}' refers to unknown token '{}'", path,
                     rank, a, b, a);
    STARATTN_REQUIRE(ib != ids.end(), "{}: merge #{} '{} {}' refers to unknown token '{}'", path,
                     rank, a, b, b);
    STARATTN_REQUIRE(iab != ids.end(),
                     "{}: merge #{} '{} {}' makes '{}', which is not in the vocab", path, rank, a,
                     b, a + b);
    t->merges.Set(ia->second, ib->second, {rank, iab->second});
    ++rank;
  }
  if (t->byte_level) {
    if (t->ignore_merges) {
      t->raw_vocab.reserve(ids.size());
      std::string raw;
      for (const auto& [piece, id] : ids) {
        raw.clear();
        if (ti::ByteLevelDecode(piece, &raw)) t->raw_vocab.emplace(raw, id);
      }
    }
  } else {
    t->vocab = std::move(ids);
    t->split_at_marker = MarkerSplitIsExact(t->vocab);
  }

  // Special tokens, BOS/EOS and the chat template.
  std::optional<std::string> bos_name, eos_name, chat_template;
  std::optional<bool> add_bos;
  bool have_config = false;
  if (config.has_value()) {
    const json cfg = ParseJsonText(*config, cfg_path);
    STARATTN_REQUIRE(cfg.is_object(), "{}: the top level is not an object", cfg_path);
    have_config = true;
    bos_name = ConfigToken(cfg, "bos_token");
    eos_name = ConfigToken(cfg, "eos_token");
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
      add_bos = cfg["add_bos_token"].get<bool>();
    }
    const auto ct = cfg.find("chat_template");
    if (ct != cfg.end() && ct->is_string()) {
      chat_template = ct->get<std::string>();
    } else if (ct != cfg.end() && ct->is_array()) {  // [{name, template}, ...]
      for (const json& e : *ct) {
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
            e["template"].is_string()) {
          chat_template = e["template"].get<std::string>();
        }
      }
    }
  }
  // TemplateProcessing post-processor: a special token before $A means BOS is added.
  std::optional<std::string> template_bos;
  const json post = j.value("post_processor", json());
  if (post.is_object() && post.value("type", "") == "TemplateProcessing" &&
      post.contains("single") && post["single"].is_array() && !post["single"].empty()) {
    const json& first = post["single"][0];
    if (first.is_object() && first.contains("SpecialToken")) {
      const json& st = first["SpecialToken"];
      if (st.is_object() && st.contains("id") && st["id"].is_string()) {
        template_bos = st["id"].get<std::string>();
      }
    }
  }
  auto find_id = [&](const std::string& name) -> int32_t {
    for (const AddedToken& a : t->added) {
      if (a.content == name) return a.id;
    }
    const auto it = std::find(pieces.begin(), pieces.end(), name);
    return it != pieces.end() ? static_cast<int32_t>(it - pieces.begin()) : -1;
  };
  int32_t bos = -1, eos = -1;
  if (bos_name) bos = find_id(*bos_name);
  if (!have_config && template_bos) bos = find_id(*template_bos);
  if (eos_name) eos = find_id(*eos_name);
  if (!have_config) {
    for (const char* name : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<|im_end|>"}) {
      if (eos < 0) eos = find_id(name);
    }
  }
  bool add = false;
  if (add_bos.has_value()) {
    add = *add_bos;
  } else if (template_bos.has_value()) {
    add = true;
  } else if (chat_template && chat_template->find("bos_token") != std::string::npos) {
    // The model's own template starts with BOS; RenderChat leaves it to the tokenizer.
    add = true;
  }
  t->SetIds(bos, eos, add && bos >= 0);
  t->SetChatTemplate(std::move(chat_template));
  t->Finish(kEogNames, {});
  return t;
}

}  // namespace

namespace {

// Error messages quote file contents (tokens, merges, patterns): keep them on one line.
[[noreturn]] void RethrowOneLine(const Error& e) {
  const std::string msg = OneLine(e.what());
  if (dynamic_cast<const RuntimeFailure*>(&e) != nullptr) throw RuntimeFailure(msg);
  throw Error(msg);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::FromGguf(const GgufFile& gguf) {
  try {
    return LoadGguf(gguf);
  } catch (const Error& e) {
    RethrowOneLine(e);
  }
}

std::unique_ptr<Tokenizer> Tokenizer::FromJsonFile(const std::string& tokenizer_json) {
  try {
    const std::string text = ReadFileToString(tokenizer_json);
    const std::string cfg_path =
        (std::filesystem::path(tokenizer_json).parent_path() / "tokenizer_config.json").string();
    std::optional<std::string> config;
    if (std::filesystem::is_regular_file(cfg_path)) config = ReadFileToString(cfg_path);
    return LoadJson(text, config, tokenizer_json, cfg_path);
  } catch (const Error& e) {
    RethrowOneLine(e);
  }
}

std::unique_ptr<Tokenizer> Tokenizer::FromJson(std::string_view tokenizer_json,
                                               const std::optional<std::string>& config,
                                               const std::string& name) {
  try {
    return LoadJson(tokenizer_json, config, name, name + " (tokenizer_config.json)");
  } catch (const Error& e) {
    RethrowOneLine(e);
  }
}

const std::string& Tokenizer::Piece(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || id >= vocab_size()) return kEmpty;
  return pieces_[id];
}

int32_t Tokenizer::TokenId(std::string_view piece) const {
  const auto it = std::lower_bound(
      sorted_index_.begin(), sorted_index_.end(), piece,
      [](const std::pair<std::string, int32_t>& e, std::string_view p) { return e.first < p; });
  if (it != sorted_index_.end() && it->first == piece) return it->second;
  return -1;
}

bool Tokenizer::IsSpecial(int32_t id) const {
  return id >= 0 && id < static_cast<int32_t>(special_.size()) && special_[id];
}

bool Tokenizer::IsEog(int32_t id) const {
  return std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end();
}

}  // namespace starattn
