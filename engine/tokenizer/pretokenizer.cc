// Pre-tokenization: UTF-8 helpers, the GPT-2 byte-level mapping, Unicode normalization
// (utf8proc), PCRE2 regexes, normalizer and pre-tokenizer pipelines, and llama.cpp's regex lists
// per GGUF pre-tokenizer type.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/common/error.h"
#include "engine/tokenizer/internal.h"

namespace starattn::tokenizer_internal {

// ---- GPT-2 byte-level mapping -----------------------------------------------------------------

namespace {

struct ByteTables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> to_byte{};
  std::array<std::string, 256> to_utf8;
  ByteTables() {
    to_byte.fill(-1);
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = printable[b] ? static_cast<uint32_t>(b) : next++;
      to_byte[to_cp[b]] = static_cast<int16_t>(b);
      AppendUtf8(to_cp[b], &to_utf8[b]);
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables t;
  return t;
}

}  // namespace

const std::array<uint32_t, 256>& ByteToCodepoint() { return Tables().to_cp; }

int CodepointToByte(uint32_t cp) { return cp < 324 ? Tables().to_byte[cp] : -1; }

std::string ByteLevelEncode(std::string_view raw) {
  const ByteTables& t = Tables();
  std::string out;
  out.reserve(raw.size() * 2);
  for (const char c : raw) out += t.to_utf8[static_cast<uint8_t>(c)];
  return out;
}

bool ByteLevelDecode(std::string_view piece, std::string* out) {
  const size_t start = out->size();
  for (size_t i = 0; i < piece.size();) {
    uint32_t cp;
    i += DecodeUtf8(piece, i, &cp);
    const int b = CodepointToByte(cp);
    if (b < 0) {
      out->resize(start);
      return false;
    }
    out->push_back(static_cast<char>(b));
  }
  return true;
}

// ---- Unicode normalization --------------------------------------------------------------------

std::string Normalize(std::string_view text, NormalForm form) {
  // Code points below U+0300 are stable under every normal form except the compatibility ones
  // (which map e.g. U+00A0 and U+00B2); their UTF-8 never has a byte >= 0xCC.
  const bool compat = form == NormalForm::kNfkc || form == NormalForm::kNfkd;
  bool trivial = true;
  for (const char c : text) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= (compat ? 0x80 : 0xCC)) {
      trivial = false;
      break;
    }
  }
  if (trivial) return std::string(text);
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &dst,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    std::free(dst);
    return std::string(text);
  }
  std::string out(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  std::free(dst);
  return out;
}

// ---- Regexes ----------------------------------------------------------------------------------

namespace {

// The Unicode White_Space property (what Oniguruma's and llama.cpp's \s match).
constexpr std::string_view kWhiteSpaceClass =
    "\\x{9}-\\x{D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

// Rewrites \s and \S to the White_Space class. Returns false for \S inside a character class.
bool RewriteWhitespace(std::string_view in, std::string* out) {
  bool in_class = false;
  size_t class_start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      const char n = in[i + 1];
      if (n == 's') {
        if (in_class) {
          *out += kWhiteSpaceClass;
        } else {
          *out += '[';
          *out += kWhiteSpaceClass;
          *out += ']';
        }
      } else if (n == 'S') {
        if (in_class) return false;
        *out += "[^";
        *out += kWhiteSpaceClass;
        *out += ']';
      } else {
        *out += c;
        *out += n;
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      *out += c;
      class_start = i + 1;
      if (class_start < in.size() && in[class_start] == '^') {
        *out += '^';
        ++i;
        ++class_start;
      }
      // A ']' right at the start of a class is a literal.
      if (class_start < in.size() && in[class_start] == ']') {
        *out += ']';
        i = class_start;
      }
      continue;
    }
    if (in_class && c == ']') in_class = false;
    *out += c;
  }
  return true;
}

// Per-thread match data and JIT stack (match data with one pair serves every pattern).
struct MatchState {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchState() {
    md = pcre2_match_data_create(1, nullptr);
    mctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(mctx, nullptr, stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(mctx);
    pcre2_match_data_free(md);
  }
};

MatchState& ThreadMatchState() {
  thread_local MatchState state;
  return state;
}

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof(buf)) < 0) return fmt::format("error {}", code);
  return std::string(reinterpret_cast<const char*>(buf));
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

Regex::~Regex() = default;

std::unique_ptr<Regex> Regex::Compile(std::string_view pattern, std::string* error) {
  std::string rewritten;
  if (!RewriteWhitespace(pattern, &rewritten)) {
    *error = "\\S inside a character class is not supported";
    return nullptr;
  }
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(rewritten.data()), rewritten.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset, nullptr);
  if (code == nullptr) {
    *error = fmt::format("{} at offset {}", Pcre2Message(err), err_offset);
    return nullptr;
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
  std::unique_ptr<Regex> re(new Regex());
  re->impl_ = std::make_unique<Impl>();
  re->impl_->code = code;
  re->pattern_ = std::string(pattern);
  return re;
}

bool Regex::Find(std::string_view subject, size_t start, size_t* begin, size_t* end) const {
  MatchState& st = ThreadMatchState();
  while (start <= subject.size()) {
    const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()),
                               subject.size(), start, 0, st.md, st.mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) Fail("tokenizer regex '{}': match failed: {}", pattern_, Pcre2Message(rc));
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
    if (ov[1] > ov[0]) {
      *begin = ov[0];
      *end = ov[1];
      return true;
    }
    // Empty match: look again one character further.
    if (ov[1] >= subject.size()) return false;
    start = ov[1] + CharLen(subject, ov[1]);
  }
  return false;
}

// ---- Normalizers ------------------------------------------------------------------------------

void Normalizer::AddNormalForm(NormalForm form) {
  Step s;
  s.kind = Step::Kind::kForm;
  s.form = form;
  steps_.push_back(std::move(s));
}

void Normalizer::AddPrepend(std::string prefix) {
  Step s;
  s.kind = Step::Kind::kPrepend;
  s.a = std::move(prefix);
  steps_.push_back(std::move(s));
}

void Normalizer::AddReplaceString(std::string from, std::string to) {
  Step s;
  s.kind = Step::Kind::kReplaceString;
  s.a = std::move(from);
  s.b = std::move(to);
  steps_.push_back(std::move(s));
}

void Normalizer::AddReplaceRegex(std::unique_ptr<Regex> re, std::string to) {
  Step s;
  s.kind = Step::Kind::kReplaceRegex;
  s.re = std::move(re);
  s.b = std::move(to);
  steps_.push_back(std::move(s));
}

void Normalizer::AddLowercase() {
  Step s;
  s.kind = Step::Kind::kLowercase;
  steps_.push_back(std::move(s));
}

void Normalizer::Apply(std::string* text) const {
  for (const Step& s : steps_) {
    switch (s.kind) {
      case Step::Kind::kForm:
        *text = Normalize(*text, s.form);
        break;
      case Step::Kind::kPrepend:
        if (!text->empty()) text->insert(0, s.a);
        break;
      case Step::Kind::kReplaceString: {
        if (s.a.empty() || text->find(s.a) == std::string::npos) break;
        std::string out;
        out.reserve(text->size() + text->size() / 4);
        size_t pos = 0;
        while (true) {
          const size_t hit = text->find(s.a, pos);
          if (hit == std::string::npos) break;
          out.append(*text, pos, hit - pos);
          out += s.b;
          pos = hit + s.a.size();
        }
        out.append(*text, pos, std::string::npos);
        *text = std::move(out);
        break;
      }
      case Step::Kind::kReplaceRegex: {
        std::string out;
        size_t pos = 0, b = 0, e = 0;
        while (s.re->Find(*text, pos, &b, &e)) {
          out.append(*text, pos, b - pos);
          out += s.b;
          pos = e;
        }
        out.append(*text, pos, std::string::npos);
        *text = std::move(out);
        break;
      }
      case Step::Kind::kLowercase: {
        std::string out;
        out.reserve(text->size());
        for (size_t i = 0; i < text->size();) {
          uint32_t cp;
          const size_t n = DecodeUtf8(*text, i, &cp);
          if (cp == 0xFFFD && n == 1) {
            out.push_back((*text)[i]);
          } else {
            AppendUtf8(static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))),
                       &out);
          }
          i += n;
        }
        *text = std::move(out);
        break;
      }
    }
  }
}

// ---- Pre-tokenizers ---------------------------------------------------------------------------

void PreTokenizer::AddRegexSplit(std::unique_ptr<Regex> re, SplitBehavior behavior, bool invert) {
  steps_.push_back(Step{std::move(re), std::string(), behavior, invert});
}

void PreTokenizer::AddLiteralSplit(std::string literal, SplitBehavior behavior, bool invert) {
  steps_.push_back(Step{nullptr, std::move(literal), behavior, invert});
}

void PreTokenizer::SetMetaspace(std::string replacement, PrependScheme scheme) {
  metaspace_ = true;
  meta_replacement_ = std::move(replacement);
  meta_prepend_ = scheme;
}

void PreTokenizer::SplitOne(const std::string& text, Range r, const Step& step,
                            std::vector<Range>* out) const {
  // Parts covering r: (range, is_match), as HF's find_matches.
  struct Part {
    Range r;
    bool match;
  };
  thread_local std::vector<Part> parts;
  parts.clear();
  const std::string_view sub(text.data() + r.begin, r.end - r.begin);
  size_t pos = 0;
  size_t b = 0, e = 0;
  while (pos < sub.size()) {
    bool found;
    if (step.re) {
      found = step.re->Find(sub, pos, &b, &e);
    } else {
      b = step.literal.empty() ? std::string_view::npos : sub.find(step.literal, pos);
      found = b != std::string_view::npos;
      e = b + step.literal.size();
    }
    if (!found) break;
    if (b > pos) parts.push_back({{r.begin + uint32_t(pos), r.begin + uint32_t(b)}, false});
    parts.push_back({{r.begin + uint32_t(b), r.begin + uint32_t(e)}, true});
    pos = e;
  }
  if (pos < sub.size()) parts.push_back({{r.begin + uint32_t(pos), r.end}, false});
  if (step.invert) {
    for (Part& p : parts) p.match = !p.match;
  }
  switch (step.behavior) {
    case SplitBehavior::kIsolated:
      for (const Part& p : parts) out->push_back(p.r);
      break;
    case SplitBehavior::kRemoved:
      for (const Part& p : parts) {
        if (!p.match) out->push_back(p.r);
      }
      break;
    case SplitBehavior::kMergedWithPrevious: {
      const size_t first = out->size();
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.match && !previous_match && out->size() > first) {
          out->back().end = p.r.end;
        } else {
          out->push_back(p.r);
        }
        previous_match = p.match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      std::vector<Range> acc;
      bool previous_match = false;
      for (size_t i = parts.size(); i-- > 0;) {
        const Part& p = parts[i];
        if (p.match && !previous_match && !acc.empty()) {
          acc.back().begin = p.r.begin;
        } else {
          acc.push_back(p.r);
        }
        previous_match = p.match;
      }
      out->insert(out->end(), acc.rbegin(), acc.rend());
      break;
    }
    case SplitBehavior::kContiguous: {
      const size_t first = out->size();
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.match == previous_match && out->size() > first) {
          out->back().end = p.r.end;
        } else {
          out->push_back(p.r);
        }
        previous_match = p.match;
      }
      break;
    }
  }
}

void PreTokenizer::Run(std::string* text, bool first_segment, std::vector<Range>* pieces) const {
  pieces->clear();
  if (text->empty()) return;
  if (byte_prefix_space_ && (*text)[0] != ' ') text->insert(0, 1, ' ');
  if (metaspace_) {
    if (text->find(' ') != std::string::npos) {
      std::string out;
      out.reserve(text->size() + text->size() / 2);
      for (const char c : *text) {
        if (c == ' ') {
          out += meta_replacement_;
        } else {
          out += c;
        }
      }
      *text = std::move(out);
    }
    const bool prepend = meta_prepend_ == PrependScheme::kAlways ||
                         (meta_prepend_ == PrependScheme::kFirst && first_segment);
    if (prepend && text->compare(0, meta_replacement_.size(), meta_replacement_) != 0) {
      text->insert(0, meta_replacement_);
    }
  }
  pieces->push_back({0, static_cast<uint32_t>(text->size())});
  thread_local std::vector<Range> next;
  for (const Step& step : steps_) {
    next.clear();
    for (const Range r : *pieces) SplitOne(*text, r, step, &next);
    pieces->swap(next);
  }
}

// ---- llama.cpp pre-tokenizer regexes ----------------------------------------------------------

const char* const kGpt2Regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

bool LlamaCppPreRegexes(std::string_view pre, std::vector<std::string>* regexes,
                        bool* llama3_like) {
  // llama.cpp's GPT-2 regex (without the final \s+: unmatched gaps are pieces anyway).
  static const std::string kGpt2 =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
  static const std::string kLlama3 =
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
      "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  static const std::string kQwen2 =
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
      "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  auto in = [&](std::initializer_list<std::string_view> names) {
    for (const auto n : names) {
      if (pre == n) return true;
    }
    return false;
  };
  *llama3_like = false;
  regexes->clear();
  if (in({"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"})) {
    *regexes = {kLlama3};
    *llama3_like = true;
  } else if (in({"dbrx", "smaug-bpe"})) {
    *regexes = {kLlama3};
  } else if (in({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva"})) {
    *regexes = {"\\p{N}", kGpt2};
  } else if (in({"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "trillion"})) {
    *regexes = {kGpt2};
  } else if (in({"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan"})) {
    *regexes = {kQwen2};
  } else if (in({"default"})) {
    *regexes = {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
  } else {
    return false;
  }
  return true;
}

}  // namespace starattn::tokenizer_internal
