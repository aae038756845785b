// Sentence splitting of the background books.
#include "babilong/books.h"

#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "engine/common/testing.h"

namespace starattn::babilong {
namespace {

using V = std::vector<std::string>;

TEST(SplitSentences, PunctuationQuotesAndAbbreviations) {
  EXPECT_EQ(SplitSentences("It rained. Then it stopped! Did it? Yes."),
            (V{"It rained.", "Then it stopped!", "Did it?", "Yes."}));
  // Titles and initials do not end a sentence.
  EXPECT_EQ(SplitSentences("Mr. Darcy met Mrs. Bennet and Dr. J. Smith. They spoke."),
            (V{"Mr. Darcy met Mrs. Bennet and Dr. J. Smith.", "They spoke."}));
  // Closing quotes stay with their sentence; a quote may open the next one.
  EXPECT_EQ(
      SplitSentences("\"Which do you mean?\" He turned. \"She is tolerable.\" 'Well!' she said."),
      (V{"\"Which do you mean?\"", "He turned.", "\"She is tolerable.\"", "'Well!' she said."}));
  // A lower-case word after '!' or '?' continues the sentence (Austen: "Oh! my dear").
  EXPECT_EQ(SplitSentences("Oh! my dear Mr. Bennet, come. Now."),
            (V{"Oh! my dear Mr. Bennet, come.", "Now."}));
  // Ellipses and "?!" end once.
  EXPECT_EQ(SplitSentences("Wait... What?! No."), (V{"Wait...", "What?!", "No."}));
}

TEST(SplitSentences, ParagraphsLineBreaksAndItalics) {
  const std::string text =
      "CHAPTER I\n\n\nEmma Woodhouse, handsome, clever, and rich, with a comfortable\n"
      "home. Between _them_ it was more the intimacy of sisters\n\n"
      "A new paragraph   with  spaces.\n";
  EXPECT_EQ(
      SplitSentences(text),
      (V{"CHAPTER I", "Emma Woodhouse, handsome, clever, and rich, with a comfortable home.",
         "Between them it was more the intimacy of sisters", "A new paragraph with spaces."}));
  EXPECT_TRUE(SplitSentences("").empty());
  EXPECT_TRUE(SplitSentences("\n\n  \n").empty());
}

TEST(LoadBooks, FolderOfTextFiles) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "babilong_books";
  std::filesystem::remove_all(dir);
  EXPECT_THROW(LoadBooks(dir.string()), Error);
  std::filesystem::create_directories(dir);
  EXPECT_THROW(LoadBooks(dir.string()), Error);  // no .txt
  std::ofstream(dir / "b.txt") << "Second book. Two.";
  std::ofstream(dir / "a.txt") << "First book.";
  std::ofstream(dir / "notes.md") << "Ignored.";
  const std::vector<Book> books = LoadBooks(dir.string());
  ASSERT_EQ(books.size(), 2u);
  EXPECT_EQ(books[0].name, "a");
  EXPECT_EQ(books[1].sentences, (V{"Second book.", "Two."}));
  std::filesystem::remove_all(dir);
}

TEST(LoadBooks, TheEssaysOfTheSharedData) {
  STARATTN_REQUIRE_SHARED_DATA(shared);
  const std::vector<Book> books = LoadBooks(shared + "/haystack/paul_graham_essays");
  size_t sentences = 0;
  for (const Book& b : books) sentences += b.sentences.size();
  EXPECT_EQ(books.size(), 49u);
  EXPECT_GT(sentences, 3000u);
}

}  // namespace
}  // namespace starattn::babilong
