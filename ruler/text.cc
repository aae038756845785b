#include "ruler/text.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "engine/common/error.h"

namespace starattn::ruler {
namespace {

// Decodes the code point at s[i]; returns its length (1 for an invalid byte, cp = 0xFFFFFFFF).
size_t Decode(std::string_view s, size_t i, uint32_t* cp) {
  utf8proc_int32_t c = -1;
  const utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                              static_cast<utf8proc_ssize_t>(s.size() - i), &c);
  if (n <= 0) {
    *cp = 0xFFFFFFFFu;
    return 1;
  }
  *cp = static_cast<uint32_t>(c);
  return static_cast<size_t>(n);
}

// Start of the code point that ends at s[end) (end > 0).
size_t PrevStart(std::string_view s, size_t end) {
  size_t p = end - 1;
  while (p > 0 && end - p < 4 && (static_cast<uint8_t>(s[p]) & 0xC0) == 0x80) --p;
  return p;
}

// Strips trailing whitespace from [0, e) and returns the new end.
size_t StripEnd(std::string_view s, size_t b, size_t e) {
  while (e > b) {
    const size_t p = PrevStart(s, e);
    uint32_t cp;
    const size_t n = Decode(s, p, &cp);
    if (p + n != e || !IsPyWhitespace(cp)) break;
    e = p;
  }
  return e;
}

constexpr std::array<std::string_view, 48> kAbbreviations = {
    "mr",   "mrs",  "ms",   "dr",    "prof", "sr",   "jr",   "st",   "vs",    "etc",
    "inc",  "ltd",  "co",   "corp",  "no",   "vol",  "fig",  "jan",  "feb",   "mar",
    "apr",  "jun",  "jul",  "aug",   "sep",  "sept", "oct",  "nov",  "dec",   "mt",
    "gen",  "col",  "lt",   "sgt",   "capt", "rev",  "gov",  "sen",  "rep",   "dept",
    "univ", "approx", "esp", "cf",   "al",   "ca",   "messrs", "viz"};

bool IsClosing(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }

}  // namespace

bool IsPyWhitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string PyRstrip(std::string_view s) { return std::string(s.substr(0, StripEnd(s, 0, s.size()))); }

std::string PyStrip(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    uint32_t cp;
    const size_t n = Decode(s, b, &cp);
    if (!IsPyWhitespace(cp)) break;
    b += n;
  }
  const size_t e = StripEnd(s, b, s.size());
  return std::string(s.substr(b, e - b));
}

std::string PyLower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out += static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b);
      ++i;
      continue;
    }
    uint32_t cp;
    const size_t n = Decode(s, i, &cp);
    if (cp == 0xFFFFFFFFu) {
      out += s[i];
    } else {
      utf8proc_uint8_t buf[4];
      const utf8proc_ssize_t m =
          utf8proc_encode_char(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)), buf);
      out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(m));
    }
    i += n;
  }
  return out;
}

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_space = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t n = Decode(s, i, &cp);
    if (IsPyWhitespace(cp)) {
      in_space = true;
    } else {
      if (in_space && !out.empty()) out += ' ';
      in_space = false;
      if (cp == 0xFFFFFFFFu) {
        out += "\xEF\xBF\xBD";  // an invalid byte becomes U+FFFD
      } else {
        out.append(s.data() + i, n);
      }
    }
    i += n;
  }
  return out;
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos || from.empty()) break;
    out.append(s.data() + pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.data() + pos, s.size() - pos);
  return out;
}

std::string FormatTemplate(std::string_view tmpl,
                           const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    const size_t open = tmpl.find('{', pos);
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) Fail("template has an unclosed '{{': {}", tmpl);
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const auto& f) { return f.first == name; });
    if (it == fields.end()) Fail("template field {{{}}} has no value", name);
    out.append(tmpl.data() + pos, open - pos);
    out.append(it->second);
    pos = close + 1;
  }
  out.append(tmpl.data() + pos, tmpl.size() - pos);
  return out;
}

std::vector<bool> SentenceEnds(const std::vector<std::string_view>& words) {
  std::vector<bool> ends(words.size(), false);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view w = words[i];
    while (!w.empty() && IsClosing(w.back())) w.remove_suffix(1);
    if (w.empty()) continue;
    const char last = w.back();
    if (last == '!' || last == '?') {
      ends[i] = true;
      continue;
    }
    if (last != '.') continue;
    std::string_view stem = w;
    while (!stem.empty() && stem.back() == '.') stem.remove_suffix(1);
    while (!stem.empty() && (stem.front() == '"' || stem.front() == '\'' || stem.front() == '(' ||
                             stem.front() == '[')) {
      stem.remove_prefix(1);
    }
    const bool ellipsis = w.size() - stem.size() >= 3 || w.ends_with("..");
    const bool next_lower =
        i + 1 < words.size() && !words[i + 1].empty() && words[i + 1][0] >= 'a' && words[i + 1][0] <= 'z';
    if (ellipsis) {
      ends[i] = !next_lower;
      continue;
    }
    if (stem.empty()) continue;
    // Initials ("J.") and dotted abbreviations ("e.g.", "U.S.").
    if (stem.size() == 1 && std::isalpha(static_cast<unsigned char>(stem[0]))) continue;
    if (stem.find('.') != std::string_view::npos) continue;
    std::string lower(stem);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(kAbbreviations.begin(), kAbbreviations.end(), lower) != kAbbreviations.end()) {
      continue;
    }
    ends[i] = true;
  }
  if (!ends.empty()) ends.back() = true;
  return ends;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read {}", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) Fail("error reading {}", path);
  return ss.str();
}

}  // namespace starattn::ruler
