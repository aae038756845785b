// Private building blocks of the tokenizers (not part of the engine's interface):
//  - UTF-8 helpers (over engine/common/utf8.h), the GPT-2 byte <-> unicode mapping, NFC
//    (pretokenizer.cc)
//  - PCRE2 regexes, normalizers and pre-tokenizers (pretokenizer.cc)
//  - the BPE merge algorithms: rank-based merges and SentencePiece score-based merges
//    (bpe.cc)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/common/utf8.h"

namespace starattn::tokenizer_internal {

// ---- UTF-8 ------------------------------------------------------------------------------------

// Length of the UTF-8 sequence announced by a lead byte (1 for continuation/invalid bytes), like
// llama.cpp's unicode_len_utf8. Deliberately by hand and unvalidated: the SentencePiece-style
// splitter sizes characters exactly as llama.cpp does, so that invalid input splits the same way
// (a validating decoder such as utf8proc_iterate would split it differently).
inline size_t Utf8SeqLen(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}
// Length of the character starting at s[i], clipped to the end of s.
inline size_t CharLen(std::string_view s, size_t i) {
  const size_t n = Utf8SeqLen(static_cast<uint8_t>(s[i]));
  return n < s.size() - i ? n : s.size() - i;
}
// Decodes the code point at s[i] (utf8proc, engine/common/utf8.h). Returns its byte length;
// an invalid sequence decodes as U+FFFD with length 1, as in llama.cpp and HF tokenizers.
inline size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const size_t n = utf8::Decode(s, i, cp);
  if (*cp == utf8::kInvalid) *cp = 0xFFFD;
  return n;
}
inline void AppendUtf8(uint32_t cp, std::string* out) { utf8::Append(cp, out); }
// Length of the character at s[i] when it is valid UTF-8, else 1 (an invalid byte stands alone).
inline size_t ValidCharLen(std::string_view s, size_t i) {
  uint32_t cp;
  return utf8::Decode(s, i, &cp);
}

// ---- GPT-2 byte-level mapping -----------------------------------------------------------------

// The code point that stands for each byte in byte-level vocabularies.
const std::array<uint32_t, 256>& ByteToCodepoint();
// The byte a code point stands for, -1 if it is not one of the 256 byte-level code points.
int CodepointToByte(uint32_t cp);
std::string ByteLevelEncode(std::string_view raw);
// Decodes a byte-level piece into raw bytes (appended to *out). Returns false, appending nothing,
// if a character of the piece is not a byte-level character.
bool ByteLevelDecode(std::string_view piece, std::string* out);

// ---- Unicode normalization --------------------------------------------------------------------

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// Returns the normalized text; text that is not valid UTF-8 is returned unchanged.
std::string Normalize(std::string_view text, NormalForm form);

// ---- Regexes (PCRE2, UTF + UCP) ---------------------------------------------------------------

// Which definition of \s the pattern gets: HF tokenizers (Oniguruma) and llama.cpp both use the
// Unicode White_Space property; PCRE2's own \s differs (U+180E), so \s and \S are rewritten.
class Regex {
 public:
  // Compiles `pattern`; on failure returns nullptr and sets *error to a one-line reason.
  static std::unique_ptr<Regex> Compile(std::string_view pattern, std::string* error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Finds the first non-empty match in subject[start, size). Returns false when there is none.
  // The subject is bounded: lookarounds do not see outside [subject, subject + size).
  bool Find(std::string_view subject, size_t start, size_t* begin, size_t* end) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string pattern_;
};

// ---- Normalizers ------------------------------------------------------------------------------

class Normalizer {
 public:
  void AddNormalForm(NormalForm form);
  void AddPrepend(std::string prefix);
  void AddReplaceString(std::string from, std::string to);
  void AddReplaceRegex(std::unique_ptr<Regex> re, std::string to);
  void AddLowercase();
  bool empty() const { return steps_.empty(); }
  // Applies every step in order.
  void Apply(std::string* text) const;

 private:
  struct Step {
    enum class Kind { kForm, kPrepend, kReplaceString, kReplaceRegex, kLowercase };
    Kind kind = Kind::kForm;
    NormalForm form = NormalForm::kNfc;
    std::string a, b;
    std::shared_ptr<Regex> re;
  };
  std::vector<Step> steps_;
};

// ---- Pre-tokenizers ---------------------------------------------------------------------------

// Behaviour of a split, as in HF tokenizers' SplitDelimiterBehavior.
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct Range {
  uint32_t begin;
  uint32_t end;
};

// A pipeline of text transforms and splits. The transforms (a prefix space for ByteLevel with
// add_prefix_space, Metaspace's replacement and prepend) apply to the whole segment first; the
// splits then cut the segment into pieces, each split working inside the pieces of the previous.
class PreTokenizer {
 public:
  enum class PrependScheme { kNever, kFirst, kAlways };

  void AddRegexSplit(std::unique_ptr<Regex> re, SplitBehavior behavior, bool invert);
  void AddLiteralSplit(std::string literal, SplitBehavior behavior, bool invert);
  // ByteLevel(add_prefix_space): prepends ' ' to a segment that does not start with one. Must come
  // before any split.
  void SetBytePrefixSpace() { byte_prefix_space_ = true; }
  // Metaspace: ' ' -> replacement, then the prepend scheme. Must come before any split.
  void SetMetaspace(std::string replacement, PrependScheme scheme);
  bool has_splits() const { return !steps_.empty(); }
  bool has_transforms() const { return byte_prefix_space_ || metaspace_; }

  // Transforms *text in place (first_segment: the segment starts the input text) and appends the
  // pieces to *pieces (cleared first).
  void Run(std::string* text, bool first_segment, std::vector<Range>* pieces) const;

 private:
  struct Step {
    std::shared_ptr<Regex> re;
    std::string literal;
    SplitBehavior behavior;
    bool invert;
  };
  void SplitOne(const std::string& text, Range r, const Step& step, std::vector<Range>* out) const;

  std::vector<Step> steps_;
  bool byte_prefix_space_ = false;
  bool metaspace_ = false;
  std::string meta_replacement_;
  PrependScheme meta_prepend_ = PrependScheme::kNever;
};

// The regexes llama.cpp uses for a GGUF `tokenizer.ggml.pre` value (applied in order, each one
// splitting the pieces of the previous, matches and gaps both kept). Returns false for a value it
// does not know. *llama3_like is set for the pre types for which llama.cpp ignores merges and adds
// BOS by default.
bool LlamaCppPreRegexes(std::string_view pre, std::vector<std::string>* regexes, bool* llama3_like);
// The GPT-2 regex of HF's ByteLevel pre-tokenizer (use_regex = true).
extern const char* const kGpt2Regex;

// ---- Hash maps --------------------------------------------------------------------------------

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Open-addressing map from a token-id pair to (rank, merged id).
class PairMap {
 public:
  struct Value {
    int32_t rank;
    int32_t id;
  };
  void Reserve(size_t n);
  // Inserts or overwrites.
  void Set(int32_t a, int32_t b, Value v);
  const Value* Find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = Key(a, b);
    size_t i = Hash(key) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key;
    Value value;
  };
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  void Grow();
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// ---- BPE --------------------------------------------------------------------------------------

// Rank-based BPE (GPT-2 / HF tokenizers / llama.cpp llm_tokenizer_bpe): repeatedly merges the
// adjacent pair with the lowest merge rank, the leftmost one on ties. Symbols < 0 never merge.
// Merges in place; *symbols holds the result.
struct BpeScratch;
void BpeMerge(const PairMap& merges, std::vector<int32_t>* symbols, BpeScratch* scratch);

// SentencePiece-style BPE by scores (llama.cpp llm_tokenizer_spm): the text is split into UTF-8
// characters; the adjacent pair whose concatenation is a vocabulary entry with the highest score
// merges first (leftmost on ties). Characters left unmerged that are not in the vocabulary become
// byte tokens (byte_tokens[b], skipped when < 0).
struct SpmVocabView {
  const StringIdMap* vocab;
  const std::vector<float>* scores;
  const std::array<int32_t, 256>* byte_tokens;
};
void SpmScoreEncode(std::string_view text, const SpmVocabView& v, std::vector<int32_t>* out,
                    BpeScratch* scratch);

// Reusable buffers of one Encode call.
struct BpeScratch {
  std::vector<PairMap::Value> pairs;
  std::vector<int32_t> prev, next;
  std::vector<uint64_t> heap;
  struct SpmSymbol {
    int32_t prev, next;
    uint32_t begin, n;
  };
  std::vector<SpmSymbol> spm_symbols;
  struct SpmBigram {
    float score;
    int32_t left, right;
    uint32_t size;
  };
  std::vector<SpmBigram> spm_heap;
};

}  // namespace starattn::tokenizer_internal
