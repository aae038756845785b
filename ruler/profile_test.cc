// The RULER profiles: star-attention's CWE counts (300/30), budgets (FWE 120 new tokens) and split
// point (the context part ends with the newline(s) after {context}, as the context templates of
// NVIDIA/Star-Attention's ruler/data/synthetic/constants.py end), against ruler's (NVIDIA/RULER);
// overrides and their record.
#include "ruler/profile.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "engine/tokenizer/tokenizer.h"
#include "ruler/generate.h"
#include "ruler/rng.h"
#include "ruler/testdata.h"

namespace starattn::ruler {
namespace {

using ::starattn::testing::ThrowsOneLineError;

int64_t ApproxTokens(std::string_view s) { return static_cast<int64_t>(s.size() / 4 + 1); }

TEST(RulerProfiles, StarAttentionParametersAndBudgets) {
  const Profile ruler = ProfileNamed("ruler");
  const Profile star = ProfileNamed("star-attention");
  const TaskSpec cwe = star.Apply(*FindTask("cwe"));
  EXPECT_EQ(cwe.freq_cw, 300);
  EXPECT_EQ(cwe.freq_ucw, 30);
  EXPECT_EQ(cwe.num_cw, 10);
  EXPECT_EQ(cwe.tokens_to_generate, 120);
  EXPECT_EQ(star.Apply(*FindTask("fwe")).tokens_to_generate, 120);
  // The rest as NVIDIA/RULER has it (synthetic_inference_config.yaml of the Star-Attention copy).
  const std::map<std::string, int> budgets = {
      {"niah_single_1", 128}, {"niah_multiquery", 128}, {"vt", 30}, {"qa_1", 32}, {"qa_2", 32}};
  for (const auto& [task, tokens] : budgets) {
    EXPECT_EQ(star.Apply(*FindTask(task)).tokens_to_generate, tokens) << task;
  }
  for (const TaskSpec& t : AllTasks()) {
    SCOPED_TRACE(std::string(t.name));
    EXPECT_EQ(star.Apply(t).split, ContextSplit::kAfterContextLine);
    // The ruler profile is the task table unchanged.
    const TaskSpec r = ruler.Apply(t);
    EXPECT_EQ(r.tokens_to_generate, t.tokens_to_generate);
    EXPECT_EQ(r.freq_cw, t.freq_cw);
    EXPECT_EQ(r.freq_ucw, t.freq_ucw);
    EXPECT_EQ(r.split, ContextSplit::kAfterContext);
  }
  EXPECT_EQ(ruler.Apply(*FindTask("cwe")).freq_cw, 30);
  EXPECT_EQ(ruler.Apply(*FindTask("fwe")).tokens_to_generate, 50);
  EXPECT_TRUE(IsPlainDefault(ruler));
  EXPECT_FALSE(IsPlainDefault(star));
}

// Where each task's text is cut: ruler right after the context (the query starts with the
// newline), star-attention after the newline(s) (the query starts with the question; qa's with
// its repeated instruction). The whole text is the same.
TEST(RulerProfiles, SplitPoint) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const std::map<std::string, std::pair<std::string, std::string>> starts = {
      // task: (star-attention's query starts with, the newlines that end its context part)
      {"niah_single_1", {"What is the special magic number for ", "\n"}},
      {"niah_multivalue", {"What are all the special magic numbers for ", "\n"}},
      {"vt", {"Question: Find all variables", "\n"}},
      {"cwe", {"Question: What are the 10 most common words", "\n"}},
      {"fwe", {"Question: Do not provide any explanation.", "\n"}},
      {"qa_1", {"Answer the question based on the given documents.", "\n\n"}},
      {"qa_2", {"Answer the question based on the given documents.", "\n\n"}},
  };
  for (const auto& [task, want] : starts) {
    SCOPED_TRACE(task);
    const TaskSpec ruler = ProfileNamed("ruler").Apply(*FindTask(task));
    TaskSpec star = ProfileNamed("star-attention").Apply(*FindTask(task));
    // The same parameters but the split, so that the texts compare.
    star.freq_cw = ruler.freq_cw;
    star.freq_ucw = ruler.freq_ucw;
    const uint64_t seed = SampleSeed(42, task, 4096, 0);
    const int64_t size = task.starts_with("qa") ? 2 : 40;
    const TaskPrompt a = MakeGenerator(ruler, d.data, 4096, ApproxTokens, 42)->Build(size, seed, 0);
    const TaskPrompt b = MakeGenerator(star, d.data, 4096, ApproxTokens, 42)->Build(size, seed, 0);
    EXPECT_EQ(a.context_part + a.query_part, b.context_part + b.query_part);
    EXPECT_EQ(b.context_part, a.context_part + want.second);
    EXPECT_TRUE(b.query_part.starts_with(want.first)) << b.query_part;
    EXPECT_TRUE(a.query_part.starts_with(want.second + want.first)) << a.query_part;
    EXPECT_EQ(a.answer_prefix, b.answer_prefix);
  }
}

// star-attention's CWE list: the 10 common words 300 times each, the others 30 times (at 4K and
// above; below, the reference's small-length counts 6 / 1 apply to both profiles).
TEST(RulerProfiles, StarAttentionCweCounts) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const TaskSpec star = ProfileNamed("star-attention").Apply(*FindTask("cwe"));
  const TaskPrompt p = MakeGenerator(star, d.data, 8192, ApproxTokens, 42)
                           ->Build(25, SampleSeed(42, "cwe", 8192, 0), 0);
  const std::string marker = "Memorize the ones that appear most often.\n";
  const std::string list = p.context_part.substr(p.context_part.rfind(marker) + marker.size());
  std::map<std::string, int> counts;
  int64_t n = 1;
  for (size_t pos = 0; pos < list.size(); ++n) {
    const std::string num = fmt::format("{}. ", n);
    ASSERT_EQ(list.compare(pos, num.size(), num), 0) << "entry " << n;
    pos += num.size();
    size_t end = list.find(fmt::format(" {}. ", n + 1), pos);
    if (end == std::string::npos) end = list.find('\n', pos);
    if (end == std::string::npos) end = list.size();
    ++counts[list.substr(pos, end - pos)];
    pos = end + 1;
  }
  ASSERT_EQ(counts.size(), 25u);
  ASSERT_EQ(p.outputs.size(), 10u);
  for (const std::string& w : p.outputs) EXPECT_EQ(counts[w], 300) << w;
  int others = 0;
  for (const auto& [w, c] : counts) {
    if (std::find(p.outputs.begin(), p.outputs.end(), w) == p.outputs.end()) {
      EXPECT_EQ(c, 30) << w;
      ++others;
    }
  }
  EXPECT_EQ(others, 15);
}

// The budget counts against the limit and is what the data tells the runner to generate.
TEST(RulerProfiles, StarAttentionFweBudgetInTheData) {
  STARATTN_REQUIRE_SHARED_DATA(shared);
  const auto tok = Tokenizer::FromJsonFile(shared + "/tokenizers/llama3/tokenizer.json");
  const TaskSpec fwe = ProfileNamed("star-attention").Apply(*FindTask("fwe"));
  GenerateOptions opt;
  opt.length_limit = 4096;
  opt.num_samples = 2;
  const auto gen = MakeGenerator(
      fwe, TaskData{}, 4096, [&](std::string_view t) { return CountTokens(*tok, t); }, 42);
  const nlohmann::ordered_json tags = {{"profile", "star-attention"}};
  int n = 0;
  GenerateTask(fwe, *gen, *tok, opt, [&](Sample&& s) {
    const auto j = SampleJson(fwe, 4096, s, tags);
    EXPECT_EQ(j["tokens_to_generate"], 120);
    EXPECT_EQ(j["profile"], "star-attention");
    EXPECT_LE(s.length + 120, 4096);
    EXPECT_GE(s.length + 120, 4096 * 98 / 100);
    EXPECT_TRUE(s.input_context.ends_with("\n"));
    EXPECT_TRUE(s.input_query.starts_with("Question: "));
    ++n;
  });
  EXPECT_EQ(n, 2);
}

TEST(RulerProfiles, OverridesAreRecordedAndChecked) {
  Profile p = ProfileNamed("star-attention");
  SetProfileValue(p, "tokens_to_generate", {{"fwe", 50}, {"cwe", 120}});
  EXPECT_EQ(p.Apply(*FindTask("fwe")).tokens_to_generate, 50);
  EXPECT_EQ(p.overrides.at("tokens_to_generate"), nlohmann::json({{"fwe", 50}}));  // cwe: own
  SetProfileValue(p, "split", "context");
  SetProfileValue(p, "cwe_freq_cw", 300);  // its own value: no override
  const auto j = ProfileJson(p);
  EXPECT_EQ(j["profile"], "star-attention");
  EXPECT_EQ(j["settings"]["cwe_freq_cw"], 300);
  EXPECT_EQ(j["settings"]["split"], "context");
  EXPECT_EQ(j["overrides"],
            nlohmann::ordered_json({{"split", "context"}, {"tokens_to_generate", {{"fwe", 50}}}}));
  SetProfileValue(p, "tokens_to_generate", {{"fwe", 120}});  // back to its own
  EXPECT_EQ(p.overrides.count("tokens_to_generate"), 0u);
  EXPECT_THAT([] { ProfileNamed("nvidia"); },
              ThrowsOneLineError("unknown RULER profile 'nvidia'", "ruler, star-attention"));
  EXPECT_THAT([&] { SetProfileValue(p, "match", "word"); },
              ThrowsOneLineError("'match' is not a RULER profile setting"));
  EXPECT_THAT([&] { SetProfileValue(p, "split", "middle"); },
              ThrowsOneLineError("split: 'middle' is not a split"));
  EXPECT_THAT([&] { SetProfileValue(p, "cwe_freq_ucw", 0); },
              ThrowsOneLineError("cwe_freq_ucw: expected a positive integer"));
  EXPECT_THAT([&] { SetProfileValue(p, "tokens_to_generate", 120); },
              ThrowsOneLineError("tokens_to_generate: expected an object"));
  EXPECT_THAT(
      [&] {
        SetProfileValue(p, "tokens_to_generate", {{"fwx", 1}});
      },
      ThrowsOneLineError("'fwx' is not a RULER task"));
}

}  // namespace
}  // namespace starattn::ruler
