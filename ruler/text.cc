#include "ruler/text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include "engine/common/error.h"
#include "engine/common/utf8.h"

namespace starattn::ruler {
namespace {

constexpr std::array<std::string_view, 48> kAbbreviations = {
    "mr",  "mrs",  "ms",  "dr",   "prof", "sr",     "jr",  "st",  "vs",  "etc", "inc",    "ltd",
    "co",  "corp", "no",  "vol",  "fig",  "jan",    "feb", "mar", "apr", "jun", "jul",    "aug",
    "sep", "sept", "oct", "nov",  "dec",  "mt",     "gen", "col", "lt",  "sgt", "capt",   "rev",
    "gov", "sen",  "rep", "dept", "univ", "approx", "esp", "cf",  "al",  "ca",  "messrs", "viz"};

bool IsClosing(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }

}  // namespace

std::string CollapseWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_space = false;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t n = utf8::Decode(s, i, &cp);
    if (utf8::IsPyWhitespace(cp)) {
      in_space = true;
    } else {
      if (in_space && !out.empty()) out += ' ';
      in_space = false;
      if (cp == utf8::kInvalid) {
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

std::string FormatTemplate(
    std::string_view tmpl,
    const std::vector<std::pair<std::string_view, std::string_view>>& fields) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    const size_t open = tmpl.find('{', pos);
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) Fail("template has an unclosed '{{': {}", tmpl);
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    auto it =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; });
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
    const bool next_lower = i + 1 < words.size() && !words[i + 1].empty() &&
                            words[i + 1][0] >= 'a' && words[i + 1][0] <= 'z';
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
