// bAbI parser: hand-made files, and the official v1.2 test split from the shared data.
#include "babilong/babi.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"

namespace starattn::babilong {
namespace {

TEST(BabiParse, StatementsQuestionsAndSupportingFacts) {
  const std::string text =
      "1 Mary moved to the bathroom.\n"
      "2 John went to the hallway.\n"
      "3 Where is Mary? \tbathroom\t1\n"
      "4 Daniel went back to the hallway.\n"
      "5 Where is Daniel? \thallway\t4\n"
      "1 Sandra got the milk there.\n"
      "2 Sandra went to the office.\n"
      "3 Where is the milk? |office|1 2\n";
  const std::vector<BabiSample> s = ParseBabi(text, "hand");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].facts,
            (std::vector<std::string>{"Mary moved to the bathroom.", "John went to the hallway."}));
  EXPECT_EQ(s[0].question, "Where is Mary?");
  EXPECT_EQ(s[0].answer, "bathroom");
  EXPECT_EQ(s[0].supporting_lines, std::vector<int>{1});
  EXPECT_EQ(s[0].question_line, 3);
  // Earlier questions are not facts; the story's earlier statements are.
  EXPECT_EQ(s[1].facts.size(), 3u);
  EXPECT_EQ(s[1].fact_lines, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(s[1].facts[2], "Daniel went back to the hallway.");
  // A new story starts at line 1; '|' separators are accepted.
  EXPECT_EQ(s[2].story, 1);
  EXPECT_EQ(s[2].facts.size(), 2u);
  EXPECT_EQ(s[2].answer, "office");
  EXPECT_EQ(s[2].supporting_lines, (std::vector<int>{1, 2}));
}

TEST(BabiParse, MultiAnswerAndNoSupport) {
  const auto s = ParseBabi(
      "1 Mary got the milk.\n2 Mary took the apple.\n3 What is Mary carrying?\tmilk,apple\n",
      "hand");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].answer, "milk,apple");
  EXPECT_TRUE(s[0].supporting_lines.empty());
}

TEST(BabiParse, RejectsMalformedLines) {
  EXPECT_THROW(ParseBabi("Mary moved to the bathroom.\n", "x"), Error);  // no number
  EXPECT_THROW(ParseBabi("1 A.\n3 B.\n", "x"), Error);                   // gap
  EXPECT_THROW(ParseBabi("2 A.\n", "x"), Error);                         // no story start
  EXPECT_THROW(ParseBabi("1 A.\n2 Where?\t\t1\n", "x"), Error);          // no answer
  EXPECT_THROW(ParseBabi("1 A.\n2 Where?\tx\t5\n", "x"), Error);         // forward support
  EXPECT_THAT([] { ParseBabi("1 A.\n3 B.\n", "file.txt"); },
              testing::ThrowsOneLineError("file.txt:2"));
}

TEST(BabiParse, TaskNames) {
  EXPECT_EQ(TaskNumber("qa1"), 1);
  EXPECT_EQ(TaskNumber("qa20"), 20);
  EXPECT_THROW(TaskNumber("qa0"), Error);
  EXPECT_THROW(TaskNumber("qa21"), Error);
  EXPECT_THROW(TaskNumber("qa01"), Error);
  EXPECT_THROW(TaskNumber("q1"), Error);
  EXPECT_EQ(AllTasks().size(), 20u);
}

// Independent count of question lines: a line whose text has a tab (or a '|' in place of it).
int CountQuestionLines(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    n += line.find('\t') != std::string::npos || line.find('|') != std::string::npos;
  return n;
}

class OfficialFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(OfficialFiles, OneSamplePerQuestionFactsBeforeItSupportingFactsInside) {
  STARATTN_REQUIRE_SHARED_DATA(shared);
  const std::string task = GetParam();
  const std::string path = FindBabiTestFile(shared + "/babi/en", task);
  const std::string text = ReadFileToString(path);
  const std::vector<BabiSample> samples = ParseBabi(text, path);
  // The bAbI v1.2 test split has 1000 questions per task.
  EXPECT_EQ(static_cast<int>(samples.size()), CountQuestionLines(text));
  EXPECT_EQ(samples.size(), 1000u);
  for (size_t i = 0; i < samples.size(); ++i) {
    const BabiSample& s = samples[i];
    SCOPED_TRACE(task + " sample " + std::to_string(i) + ": " + s.question);
    ASSERT_EQ(s.facts.size(), s.fact_lines.size());
    ASSERT_FALSE(s.facts.empty());
    ASSERT_FALSE(s.answer.empty());
    // Facts are earlier lines of the story, in order.
    EXPECT_TRUE(std::is_sorted(s.fact_lines.begin(), s.fact_lines.end()));
    EXPECT_LT(s.fact_lines.back(), s.question_line);
    for (const auto& f : s.facts) EXPECT_EQ(f.find('\t'), std::string::npos);
    // Every supporting fact is in the sample's facts.
    ASSERT_FALSE(s.supporting_lines.empty());
    for (const int id : s.supporting_lines) {
      EXPECT_TRUE(std::binary_search(s.fact_lines.begin(), s.fact_lines.end(), id)) << id;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTasks, OfficialFiles, ::testing::ValuesIn(AllTasks()));

}  // namespace
}  // namespace starattn::babilong
