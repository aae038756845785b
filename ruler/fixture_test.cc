// The committed fixture tasks/ruler-fixture/4096 (see its README): every record is well formed
// and sized with the default model's tokenizer, and the generation command regenerates it byte
// for byte.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/common/testing.h"
#include "engine/io/gguf.h"
#include "ruler/generate.h"
#include "ruler/text.h"

namespace starattn::ruler {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kLimit = 4096;
constexpr int kSamples = 10;

fs::path FixtureDir() { return fs::path(STARATTN_SOURCE_DIR) / "tasks" / "ruler-fixture" / "4096"; }

std::vector<std::string> Lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const Tokenizer& DefaultTokenizer(const std::string& path) {
  static std::unique_ptr<Tokenizer> tok = Tokenizer::FromGguf(GgufFile::Open(path));
  return *tok;
}

PromptFrame ChatFrame(const Tokenizer& tok) {
  return PromptFrame::Chat(DetectChatTemplate(tok.chat_template_source()),
                           DefaultSystemPrompt(tok.chat_template_source()));
}

TEST(RulerFixture, RecordsAreSizedAndWellFormed) {
  STARATTN_REQUIRE_DEFAULT_MODEL(model);
  const Tokenizer& tok = DefaultTokenizer(model);
  const PromptFrame frame = ChatFrame(tok);
  int files = 0;
  for (const TaskSpec& spec : AllTasks()) {
    const fs::path file = FixtureDir() / (std::string(spec.name) + ".jsonl");
    if (spec.kind == TaskKind::kQa) {
      EXPECT_FALSE(fs::exists(file)) << "QA data is not available offline";
      continue;
    }
    ASSERT_TRUE(fs::exists(file)) << file;
    ++files;
    const std::vector<std::string> lines = Lines(file);
    ASSERT_EQ(lines.size(), static_cast<size_t>(kSamples)) << file;
    for (size_t i = 0; i < lines.size(); ++i) {
      SCOPED_TRACE(fmt::format("{}:{}", file.string(), i + 1));
      const nlohmann::json j = nlohmann::json::parse(lines[i]);
      EXPECT_EQ(j["index"], i);
      EXPECT_EQ(j["task"], spec.name);
      EXPECT_EQ(j["length_limit"], kLimit);
      EXPECT_EQ(j["tokens_to_generate"], spec.tokens_to_generate);
      const std::string ctx = j["input_context"], query = j["input_query"], input = j["input"];
      EXPECT_EQ(input, ctx + query);
      EXPECT_TRUE(ctx.starts_with(frame.head));
      const int64_t length = j["length"];
      EXPECT_EQ(length, CountTokens(tok, input));
      EXPECT_LE(length + spec.tokens_to_generate, kLimit);
      EXPECT_GE(length + spec.tokens_to_generate, static_cast<int64_t>(std::ceil(0.98 * kLimit)));
      ASSERT_FALSE(j["outputs"].empty());
      for (const auto& out : j["outputs"])
        EXPECT_NE(ctx.find(out.get<std::string>()), std::string::npos);
    }
  }
  EXPECT_EQ(files, 11);
}

// The README's command, through the library: byte-identical records. Needs the books of
// tools/fetch_books (data/books) and the shared word lists.
TEST(RulerFixture, RegeneratesByteForByte) {
  STARATTN_REQUIRE_DEFAULT_MODEL(model);
  STARATTN_REQUIRE_SHARED_DATA(shared);
  const fs::path books = fs::path(STARATTN_SOURCE_DIR) / "data" / "books";
  if (!EssayHaystack::Present(books.string())) {
    GTEST_SKIP() << "data/books missing (run tools/fetch_books): cannot regenerate the fixture";
  }
  const Tokenizer& tok = DefaultTokenizer(model);
  const WordLists words = WordLists::Load(shared + "/wordlists");
  const EssayHaystack essays = EssayHaystack::FromDirectory(books.string());
  TaskData data;
  data.words = &words;
  data.essays = &essays;
  GenerateOptions opt;
  opt.length_limit = kLimit;
  opt.num_samples = kSamples;
  opt.seed = 42;
  opt.frame = ChatFrame(tok);
  opt.threads = 2;
  for (const TaskSpec& spec : AllTasks()) {
    if (spec.kind == TaskKind::kQa) continue;
    SCOPED_TRACE(std::string(spec.name));
    const auto gen = MakeGenerator(
        spec, data, kLimit, [&](std::string_view t) { return CountTokens(tok, t); }, opt.seed);
    std::vector<std::string> lines;
    GenerateTask(spec, *gen, tok, opt, [&](Sample&& s) {
      lines.push_back(SampleJson(spec, kLimit, s)
                          .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    });
    EXPECT_EQ(lines, Lines(FixtureDir() / (std::string(spec.name) + ".jsonl")))
        << "the generator changed: regenerate tasks/ruler-fixture (command in its README)";
  }
}

}  // namespace
}  // namespace starattn::ruler
