// BABILong sample construction with the default model's tokenizer: lengths within 2% of the
// target (1k..32k), prompt structure, facts in order, determinism. The background text in these
// tests is the Paul Graham essays of the shared data (any folder of .txt works as books).
#include "babilong/generate.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "babilong/metric.h"
#include "babilong/prompts.h"
#include "babilong/world.h"
#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace starattn::babilong {
namespace {

TEST(BabilongLength, Parse) {
  EXPECT_EQ(ParseLength("0k").tokens, 0);
  EXPECT_EQ(ParseLength("1k").tokens, 1000);
  EXPECT_EQ(ParseLength("4k").name, "4k");
  EXPECT_EQ(ParseLength("128K").tokens, 128000);
  EXPECT_EQ(ParseLength("128K").name, "128k");
  EXPECT_EQ(ParseLength("1M").tokens, 1000000);
  EXPECT_EQ(ParseLength("4096").tokens, 4096);
  for (const char* bad : {"", "k", "4kk", "-1k", "4.5k", "4 k", "1G"}) {
    EXPECT_THROW(ParseLength(bad), Error) << bad;
  }
}

TEST(BabilongPrompts, EveryTaskHasInstructionExamplesAndPostPrompt) {
  for (const auto& task : AllTasks()) {
    const TaskPrompt& p = PromptFor(task);
    EXPECT_FALSE(p.instruction.empty()) << task;
    EXPECT_NE(p.examples.find("<example>\n"), std::string::npos) << task;
    EXPECT_EQ(p.examples.rfind("</example>"), p.examples.size() - 10) << task;
    EXPECT_FALSE(p.post_prompt.empty()) << task;
    // The examples must not open a context block (the reference's qa10-qa13 examples do).
    EXPECT_EQ(p.examples.find("<context>"), std::string::npos) << task;
  }
  EXPECT_THROW(PromptFor("qa0"), Error);
}

// Shared fixtures: the default model's tokenizer and the essays as books, loaded once.
class BabilongBuild : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string model = testing::DefaultModelPath();
    const std::string shared = testing::SharedDataDir();
    if (model.empty() || shared.empty()) return;
    tok_ = Tokenizer::FromGguf(GgufFile::Open(model)).release();
    books_ = new std::vector<Book>(LoadBooks(shared + "/haystack/paul_graham_essays"));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete books_;
    tok_ = nullptr;
    books_ = nullptr;
  }
  void SetUp() override {
    STARATTN_REQUIRE_DEFAULT_MODEL(model);
    STARATTN_REQUIRE_SHARED_DATA(shared);
    babi_ = shared + "/babi/en";
  }

  SampleBuilder Builder(const std::string& tmpl = "chat") const {
    return SampleBuilder(*tok_, MakePromptFrame(*tok_, tmpl), *books_);
  }
  // The facts and question of a record must be in it as a BABILong sample requires.
  void CheckStructure(const Record& r, const PromptFrame& frame) const {
    EXPECT_EQ(r.input_context.rfind(frame.prefix, 0), 0u);
    ASSERT_GE(r.input_context.size(), 13u);
    EXPECT_EQ(r.input_context.substr(r.input_context.size() - 13), "\n</context>\n\n");
    EXPECT_EQ(r.input_query, "Question: " + r.question + frame.suffix);
    const size_t open = r.input_context.find("\n\n<context>\n");
    ASSERT_NE(open, std::string::npos);
    const std::string context =
        r.input_context.substr(open + 12, r.input_context.size() - 13 - open - 12);
    // Facts in story order, the question not in the context.
    size_t at = 0;
    for (const auto& f : r.facts) {
      at = context.find(f, at);
      ASSERT_NE(at, std::string::npos) << "fact missing or out of order: " << f;
      at += f.size();
    }
    EXPECT_EQ(context.find(r.question), std::string::npos);
    // Valid UTF-8 (a cut sentence never ends inside a character): dump() would throw.
    EXPECT_NO_THROW(RecordToJson(r).dump());
    // The recorded length is the token count of the full input.
    EXPECT_EQ(
        r.length,
        static_cast<int64_t>(
            tok_->Encode(r.input_context + r.input_query, tok_->add_bos_default(), true).size()));
  }

  static Tokenizer* tok_;
  static std::vector<Book>* books_;
  std::string babi_;
};
Tokenizer* BabilongBuild::tok_ = nullptr;
std::vector<Book>* BabilongBuild::books_ = nullptr;

TEST_F(BabilongBuild, ChatFrameOfTheDefaultModel) {
  const PromptFrame chat = MakePromptFrame(*tok_, "chat");
  EXPECT_EQ(chat.name, "chatml");
  EXPECT_EQ(chat.prefix.rfind("<|im_start|>system\n", 0), 0u) << chat.prefix;
  EXPECT_TRUE(chat.prefix.ends_with("<|im_start|>user\n")) << chat.prefix;
  EXPECT_EQ(chat.suffix, "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(MakePromptFrame(*tok_, "auto").prefix, chat.prefix);
  const PromptFrame base = MakePromptFrame(*tok_, "base");
  EXPECT_TRUE(base.prefix.empty());
  EXPECT_TRUE(base.suffix.empty());
  EXPECT_THROW(MakePromptFrame(*tok_, "nonsense"), Error);
}

struct LengthCase {
  const char* task;
  const char* length;
  int samples;
};

class BabilongLengths : public BabilongBuild, public ::testing::WithParamInterface<LengthCase> {};

// The whole prompt is at most the limit and within 2% of it.
TEST_P(BabilongLengths, WithinTwoPercentBelowTheTarget) {
  const LengthCase c = GetParam();
  const Length limit = ParseLength(c.length);
  const SampleBuilder builder = Builder();
  const PromptFrame frame = MakePromptFrame(*tok_, "chat");
  const SamplePool pool(c.task, babi_, 42);
  const std::vector<Record> records =
      GenerateTaskLength(builder, pool, c.task, limit, c.samples, 42);
  ASSERT_EQ(static_cast<int>(records.size()), c.samples);
  for (const Record& r : records) {
    SCOPED_TRACE(std::string(c.task) + " " + c.length + " sample " + std::to_string(r.index));
    EXPECT_LE(r.length, limit.tokens);
    EXPECT_GE(r.length, limit.tokens * 98 / 100);
    RecordProperty(std::string(c.task) + "_" + c.length + "_" + std::to_string(r.index),
                   std::to_string(r.length));
    CheckStructure(r, frame);
  }
}

std::vector<LengthCase> LengthGrid() {
  std::vector<LengthCase> out;
  for (const char* task : {"qa1", "qa2", "qa3", "qa4", "qa5"}) {
    for (const char* length : {"1k", "2k", "4k", "8k", "16k", "32k"})
      out.push_back({task, length, 2});
  }
  out.push_back({"qa1", "4096", 2});
  return out;
}
INSTANTIATE_TEST_SUITE_P(Official, BabilongLengths, ::testing::ValuesIn(LengthGrid()),
                         [](const auto& info) {
                           return std::string(info.param.task) + "_" + info.param.length;
                         });

TEST_F(BabilongBuild, SupportingFactsAreInTheContext) {
  const SampleBuilder builder = Builder();
  for (const std::string task : {"qa2", "qa3"}) {
    const std::vector<BabiSample> file = ReadBabiFile(FindBabiTestFile(babi_, task));
    const SamplePool pool(task, babi_, 5);
    const std::vector<Record> records =
        GenerateTaskLength(builder, pool, task, ParseLength("2k"), 3, 5);
    for (const Record& r : records) {
      const BabiSample s = *pool.Get(r.source);
      for (const int id : s.supporting_lines) {
        const auto it = std::find(s.fact_lines.begin(), s.fact_lines.end(), id);
        ASSERT_NE(it, s.fact_lines.end());
        EXPECT_NE(r.input_context.find(s.facts[it - s.fact_lines.begin()]), std::string::npos);
      }
    }
  }
}

TEST_F(BabilongBuild, ZeroLengthIsTheFactsOnly) {
  const SampleBuilder builder = Builder("base");
  BabiSample s;
  s.facts = {"Mary moved to the bathroom.", "John went to the hallway."};
  s.question = "Where is Mary?";
  s.answer = "bathroom";
  Rng rng(1);
  const auto r = builder.Build(s, "qa1", ParseLength("0k"), rng);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->input_context.ends_with(
      "<context>\nMary moved to the bathroom. John went to the hallway.\n</context>\n\n"));
  EXPECT_EQ(r->input_context.rfind(PromptFor("qa1").instruction + "\n\n", 0), 0u);
  EXPECT_EQ(r->input_query, "Question: Where is Mary?");
  EXPECT_EQ(r->outputs, std::vector<std::string>{"bathroom"});
  const auto j = RecordToJson(*r);
  for (const char* key : {"index", "task", "length_limit", "length", "outputs", "question",
                          "input_context", "input_query", "input"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["input"], r->input_context + r->input_query);
}

TEST_F(BabilongBuild, SamplesWhoseFactsDoNotFitAreSkipped) {
  const SampleBuilder builder = Builder();
  const std::vector<BabiSample> qa3 = ReadBabiFile(FindBabiTestFile(babi_, "qa3"));
  const auto longest = std::max_element(qa3.begin(), qa3.end(), [](const auto& a, const auto& b) {
    return a.facts.size() < b.facts.size();
  });
  ASSERT_GT(longest->facts.size(), 150u);
  Rng rng(1);
  EXPECT_FALSE(builder.Build(*longest, "qa3", ParseLength("1k"), rng));
  // At 1k some qa3 questions are skipped; those used fit.
  const SamplePool pool("qa3", babi_, 42);
  const auto records = GenerateTaskLength(builder, pool, "qa3", ParseLength("1k"), 20, 42);
  EXPECT_GT(records.back().source, records.back().index);  // some questions were skipped
  for (const auto& r : records) EXPECT_LE(r.length, 1000);
}

TEST_F(BabilongBuild, BooksWithoutLongSentencesAreAnError) {
  const std::vector<Book> books = {{"short", {"Hi.", "Yes, quite.", "No."}}};
  const SampleBuilder builder(*tok_, MakePromptFrame(*tok_, "base"), books);
  BabiSample s;
  s.facts = {"Mary moved to the bathroom."};
  s.question = "Where is Mary?";
  s.answer = "bathroom";
  Rng rng(1);
  EXPECT_THROW(builder.Build(s, "qa1", ParseLength("1k"), rng), Error);
}

TEST_F(BabilongBuild, CutSentencesStayValidUtf8) {
  // Multi-byte characters everywhere, so that token cuts land inside characters.
  std::vector<std::string> sentences;
  for (int i = 0; i < 200; ++i) {
    sentences.push_back("Ça va, Zoë? Ἀθῆναι и Москва — 東京と大阪 " + std::to_string(i) +
                        " naïve café.");
  }
  const std::vector<Book> books = {{"utf8", sentences}};
  const SampleBuilder builder(*tok_, MakePromptFrame(*tok_, "base"), books);
  BabiSample s;
  s.facts = {"Mary moved to the bathroom."};
  s.question = "Where is Mary?";
  s.answer = "bathroom";
  for (int64_t limit = 1000; limit < 1040; ++limit) {
    Rng rng(static_cast<uint64_t>(limit));
    const auto r = builder.Build(s, "qa1", Length{std::to_string(limit), limit}, rng);
    ASSERT_TRUE(r);
    EXPECT_LE(r->length, limit);
    EXPECT_NO_THROW(RecordToJson(*r).dump()) << limit;
  }
}

TEST_F(BabilongBuild, DeterministicAndSeedDependent) {
  const SampleBuilder builder = Builder();
  const SamplePool p42("qa1", babi_, 42), p43("qa1", babi_, 43);
  const auto a = GenerateTaskLength(builder, p42, "qa1", ParseLength("1k"), 2, 42);
  const auto b = GenerateTaskLength(builder, p42, "qa1", ParseLength("1k"), 2, 42);
  const auto c = GenerateTaskLength(builder, p43, "qa1", ParseLength("1k"), 2, 43);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(RecordToJson(a[i]).dump(), RecordToJson(b[i]).dump());
    EXPECT_NE(a[i].input_context, c[i].input_context);
  }
}

TEST_F(BabilongBuild, BuiltInGeneratorWithoutFiles) {
  const SampleBuilder builder = Builder();
  const SamplePool pool("qa5", "", 42);
  EXPECT_EQ(pool.size(), -1);
  const auto records = GenerateTaskLength(builder, pool, "qa5", ParseLength("1k"), 3, 42);
  ASSERT_EQ(records.size(), 3u);
  for (const auto& r : records) {
    EXPECT_LE(r.length, 1000);
    EXPECT_GE(r.length, 980);
    CheckStructure(r, MakePromptFrame(*tok_, "chat"));
  }
  EXPECT_THROW(SamplePool("qa6", "", 42), Error);
}

// The committed fixture (tasks/babilong-fixture): every line agrees with the default tokenizer;
// regenerated byte-identical from the command in its README when data/books is present.
class BabilongFixture : public BabilongBuild {
 protected:
  static std::string Dir() { return std::string(STARATTN_SOURCE_DIR) + "/tasks/babilong-fixture"; }
  static std::string File(const std::string& task, const std::string& len) {
    return Dir() + "/" + task + "_" + len + ".jsonl";
  }
};

TEST_F(BabilongFixture, LinesAreConsistent) {
  for (const std::string task : {"qa1", "qa2", "qa3", "qa4", "qa5"}) {
    for (const std::string len : {"2k", "4k"}) {
      SCOPED_TRACE(File(task, len));
      std::istringstream in(ReadFileToString(File(task, len)));
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["index"], n++);
        EXPECT_EQ(j["task"], task);
        EXPECT_EQ(j["length_name"], len);
        const int64_t limit = j["length_limit"], length = j["length"];
        EXPECT_EQ(limit, ParseLength(len).tokens);
        const std::string context = j["input_context"], query = j["input_query"],
                          input = j["input"];
        EXPECT_EQ(input, context + query);
        EXPECT_EQ(length,
                  static_cast<int64_t>(tok_->Encode(input, tok_->add_bos_default(), true).size()));
        EXPECT_LE(length, limit);
        EXPECT_GE(length, limit * 98 / 100);
        EXPECT_TRUE(context.ends_with("\n</context>\n\n"));
        EXPECT_EQ(query, "Question: " + j["question"].get<std::string>() +
                             "<|im_end|>\n<|im_start|>assistant\n");
        const std::string answer = j["outputs"][0];
        const auto& labels = TaskLabels(task);
        std::string lower = answer;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_NE(std::find(labels.begin(), labels.end(), lower), labels.end()) << answer;
      }
      EXPECT_EQ(n, 10);
    }
  }
}

TEST_F(BabilongFixture, RegeneratesByteIdentical) {
  const std::string books_dir = std::string(STARATTN_SOURCE_DIR) + "/data/books";
  if (!std::filesystem::is_directory(books_dir)) {
    GTEST_SKIP() << books_dir << " missing: run tools/fetch_books to check the fixture regenerates";
  }
  const std::vector<Book> books = LoadBooks(books_dir);
  const SampleBuilder builder(*tok_, MakePromptFrame(*tok_, "chat"), books);
  for (const std::string task : {"qa1", "qa2", "qa3", "qa4", "qa5"}) {
    const SamplePool pool(task, babi_, 42);
    for (const std::string len : {"2k", "4k"}) {
      std::string text;
      for (const Record& r : GenerateTaskLength(builder, pool, task, ParseLength(len), 10, 42)) {
        text += RecordToJson(r).dump() + "\n";
      }
      EXPECT_TRUE(text == ReadFileToString(File(task, len))) << File(task, len) << " differs";
    }
  }
}

}  // namespace
}  // namespace starattn::babilong
