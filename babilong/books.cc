#include "babilong/books.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn::babilong {
namespace {

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsClosing(char c) { return c == '"' || c == '\'' || c == ')' || c == ']'; }

bool IsAbbreviation(std::string_view word) {
  static constexpr std::array<std::string_view, 16> kTitles = {
      "Mr",  "Mrs", "Messrs", "Dr", "St", "Esq", "Col", "Capt",
      "Rev", "Gen", "Lt",     "Ms", "Sr", "Jr",  "Mt",  "viz"};
  if (word.size() == 1 && IsUpper(word[0])) return true;  // an initial
  return std::find(kTitles.begin(), kTitles.end(), word) != kTitles.end();
}

// One paragraph (already joined to a single line) -> sentences.
void SplitParagraph(const std::string& p, std::vector<std::string>& out) {
  size_t start = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < p.size() && (p[j] == '.' || p[j] == '!' || p[j] == '?')) ++j;
    while (j < p.size() && IsClosing(p[j])) ++j;
    if (j + 1 >= p.size() || p[j] != ' ') continue;
    const char next = p[j + 1];
    if (!IsUpper(next) && next != '"' && next != '\'' && next != '(') continue;
    if (c == '.' && j == i + 1) {
      size_t w = i;
      while (w > start && IsLetter(p[w - 1])) --w;
      if (IsAbbreviation(std::string_view(p).substr(w, i - w))) continue;
    }
    out.push_back(p.substr(start, j - start));
    start = j + 1;
    i = j;
  }
  if (start < p.size()) out.push_back(p.substr(start));
}

}  // namespace

std::vector<std::string> SplitSentences(std::string_view text) {
  std::vector<std::string> out;
  std::string para;
  auto flush = [&] {
    while (!para.empty() && para.back() == ' ') para.pop_back();
    if (!para.empty()) SplitParagraph(para, out);
    para.clear();
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    bool blank = true;
    for (const char c : line) blank = blank && (c == ' ' || c == '\t' || c == '\r');
    if (blank) {
      flush();
      continue;
    }
    for (const char c : line) {
      if (c == '_') continue;
      const bool space = c == ' ' || c == '\t' || c == '\r';
      if (space) {
        if (!para.empty() && para.back() != ' ') para.push_back(' ');
      } else {
        para.push_back(c);
      }
    }
    if (!para.empty() && para.back() != ' ') para.push_back(' ');
  }
  flush();
  return out;
}

std::vector<Book> LoadBooks(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) {
    Fail("books folder {} does not exist (run tools/fetch_books, or pass --books DIR)", dir);
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  }
  if (files.empty()) Fail("no .txt book in {} (run tools/fetch_books, or pass --books DIR)", dir);
  std::sort(files.begin(), files.end());
  std::vector<Book> books;
  for (const auto& f : files) {
    Book b{f.stem().string(), SplitSentences(ReadFileToString(f.string()))};
    if (!b.sentences.empty()) books.push_back(std::move(b));
  }
  if (books.empty()) Fail("the books in {} have no text", dir);
  return books;
}

}  // namespace starattn::babilong
