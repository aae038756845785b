// The data the ruler tasks draw from: the wonderwords word lists, an essay (or book) haystack,
// and the SQuAD / HotpotQA question sets. Loaders throw Error naming the file on a problem.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::ruler {

// adjectivelist.txt, nounlist.txt, verblist.txt of the wonderwords package (one word a line,
// read as wonderwords does: every line right-stripped, file order).
struct WordLists {
  std::vector<std::string> adjectives;
  std::vector<std::string> nouns;
  std::vector<std::string> verbs;

  static WordLists Load(const std::string& dir);
  // True when dir holds the three files.
  static bool Present(const std::string& dir);
};

// The essay haystack: the text of every *.txt of a directory (sorted by file name, joined with
// "\n"), whitespace-collapsed as the reference does (re.sub(r'\s+', ' ', text)), as words with
// their sentence ends.
class EssayHaystack {
 public:
  static EssayHaystack FromDirectory(const std::string& dir);
  static EssayHaystack FromText(std::string_view text);
  // True when dir holds at least one *.txt file.
  static bool Present(const std::string& dir);

  int64_t num_words() const { return static_cast<int64_t>(word_begin_.size()); }
  const std::string& text() const { return text_; }  // single-spaced
  // Byte range of word i in text().
  size_t word_begin(int64_t i) const { return word_begin_[i]; }
  size_t word_end(int64_t i) const { return word_end_[i]; }
  bool ends_sentence(int64_t i) const { return ends_sentence_[i]; }

 private:
  std::string text_;
  std::vector<size_t> word_begin_, word_end_;
  std::vector<bool> ends_sentence_;
};

// One question of a QA set, with the indexes (into QaData::docs) of its gold documents and, for
// SQuAD, of the other paragraphs of the same article (the reference's `more_context`).
struct QaItem {
  std::string question;
  std::vector<std::string> answers;
  std::vector<int32_t> gold;
  std::vector<int32_t> related;
};

struct QaData {
  std::vector<std::string> docs;  // unique documents, sorted (as the reference)
  std::vector<QaItem> items;      // in file order

  // SQuAD v2.0 (or v1.1) JSON: documents are the paragraph contexts; items are the answerable
  // questions, with every answer text.
  static QaData LoadSquad(const std::string& path);
  // HotpotQA (dev distractor) JSON: documents are "{title}\n{sentences joined}"; the gold documents
  // of an item are all the paragraphs of its context; one answer.
  static QaData LoadHotpotQa(const std::string& path);
};

}  // namespace starattn::ruler
