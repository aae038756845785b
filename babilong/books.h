// Background prose for BABILong: long books split into sentences. The reference uses PG19 and
// NLTK's Punkt splitter; here a book is any UTF-8 .txt file (by default the Jane Austen novels
// that tools/fetch_books writes to data/books) and the splitter is a small rule-based one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace starattn::babilong {

struct Book {
  std::string name;                    // file name without .txt
  std::vector<std::string> sentences;  // in reading order
};

// Splits prose into sentences. Paragraphs are separated by blank lines and never share a
// sentence; inside a paragraph, line breaks and runs of spaces become one space and '_' (the
// Gutenberg italics marker) is dropped. A sentence ends at '.', '!' or '?' (with any closing
// quotes or brackets after it) followed by a space and an upper-case letter or an opening quote,
// except after a title abbreviation (Mr. Mrs. Dr. St. ...) or a single capital initial.
std::vector<std::string> SplitSentences(std::string_view text);

// Every *.txt file in `dir`, sorted by file name. Throws Error when the folder is missing or
// has no .txt file (the message names tools/fetch_books).
std::vector<Book> LoadBooks(const std::string& dir);

}  // namespace starattn::babilong
