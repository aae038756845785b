// Prompt assembly with the model template, sizing with the default model's tokenizer (every
// sample within the limit and within 2% below it), and determinism.
#include "ruler/generate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "engine/io/gguf.h"
#include "ruler/rng.h"
#include "ruler/testdata.h"

namespace starattn::ruler {
namespace {

const Tokenizer* DefaultTokenizer(const std::string& path) {
  static std::unique_ptr<Tokenizer> tok = Tokenizer::FromGguf(GgufFile::Open(path));
  return tok.get();
}

PromptFrame SmolFrame(const Tokenizer& tok) {
  const ChatTemplate t = DetectChatTemplate(tok.chat_template_source());
  return PromptFrame::Chat(t, DefaultSystemPrompt(tok.chat_template_source()));
}

TEST(RulerFrame, ChatmlHeadAndTail) {
  const PromptFrame f = PromptFrame::Chat(ChatTemplate::kChatml, std::string("You are helpful."));
  EXPECT_EQ(f.head, "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n");
  EXPECT_EQ(f.tail, "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_FALSE(f.strips_leading);
  EXPECT_FALSE(f.strips_trailing);
  const PromptFrame b = PromptFrame::Base();
  EXPECT_TRUE(b.head.empty() && b.tail.empty());
}

// For every family, head + task + tail is exactly what the chat template renders for the task
// as the user message (including templates that strip it), and the singular rewrite of NIAH
// never touches the system prompt.
TEST(RulerFrame, AssembleMatchesRenderChat) {
  const std::optional<std::string> system = "You are a helpful assistant.";
  for (const ChatTemplate t :
       {ChatTemplate::kChatml, ChatTemplate::kLlama3, ChatTemplate::kLlama2}) {
    const PromptFrame f = PromptFrame::Chat(t, system);
    TaskPrompt p;
    p.context_part = "  Some text.\n{context}";
    p.query_part = "\nWhat? ";
    p.answer_prefix = " Answer:";
    const auto [ctx, query] = f.Assemble(p);
    EXPECT_EQ(ctx + query, RenderChat(t, {{"user", p.context_part + p.query_part}}, true, system) +
                               p.answer_prefix)
        << ChatTemplateName(t);
    EXPECT_NE(ctx.find("You are a helpful assistant."), std::string::npos);
  }
}

TEST(RulerSizing, SearchSizeFindsTheWindow) {
  // Linear with an offset, and a wobbly one (tokens not strictly monotone).
  const std::vector<std::function<int64_t(int64_t)>> fns = {
      [](int64_t s) { return 100 + 3 * s; },
      [](int64_t s) { return 37 + s * 13 / 10 + ((s * 7919) % 5); },
      [](int64_t s) { return 500 + 22 * s; },
  };
  for (size_t i = 0; i < fns.size(); ++i) {
    for (const int64_t start : {int64_t{1}, int64_t{500}, int64_t{100000}}) {
      int64_t evals = 0;
      const auto r = SearchSize(fns[i], 1, 100000, start, 1.0, 4000, 3920, &evals);
      ASSERT_TRUE(r.has_value()) << i;
      EXPECT_EQ(r->tokens, fns[i](r->size));
      EXPECT_LE(r->tokens, 4000) << i;
      EXPECT_GE(r->tokens, 3920) << i << " start " << start;
      EXPECT_LE(evals, 20) << i << " start " << start;
    }
  }
  // Nothing fits.
  EXPECT_FALSE(
      SearchSize([](int64_t s) { return 5000 + s; }, 1, 100, 50, 1.0, 4000, 3920).has_value());
  // The data runs out before the window: the largest size.
  const auto capped = SearchSize([](int64_t s) { return 10 * s; }, 1, 100, 50, 1.0, 4000, 3920);
  ASSERT_TRUE(capped.has_value());
  EXPECT_EQ(capped->size, 100);
}

struct Generated {
  std::vector<std::string> lines;
  TaskStats stats;
};

Generated RunTask(const TaskSpec& spec, const TaskData& data, const Tokenizer& tok, int64_t limit,
                  int64_t samples, uint64_t seed, int threads) {
  GenerateOptions opt;
  opt.length_limit = limit;
  opt.num_samples = samples;
  opt.seed = seed;
  opt.frame = SmolFrame(tok);
  opt.threads = threads;
  const auto gen = MakeGenerator(
      spec, data, limit, [&](std::string_view t) { return CountTokens(tok, t); }, seed);
  Generated out;
  out.stats = GenerateTask(spec, *gen, tok, opt, [&](Sample&& s) {
    out.lines.push_back(SampleJson(spec, limit, s).dump());
  });
  return out;
}

// Every task at 4K with the default model's tokenizer and chat template: each sample's length is
// the token count of its input, within the limit, and within 2% below it.
TEST(RulerSizing, EveryTaskFillsFourK) {
  STARATTN_REQUIRE_DEFAULT_MODEL(model);
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const Tokenizer& tok = *DefaultTokenizer(model);
  const PromptFrame frame = SmolFrame(tok);
  constexpr int64_t kLimit = 4096;
  for (const TaskSpec& spec : AllTasks()) {
    SCOPED_TRACE(std::string(spec.name));
    const Generated g = RunTask(spec, d.big, tok, kLimit, 10, 42, 2);
    ASSERT_EQ(g.lines.size(), 10u);
    EXPECT_EQ(g.stats.under_filled, 0);
    for (size_t i = 0; i < g.lines.size(); ++i) {
      const nlohmann::json j = nlohmann::json::parse(g.lines[i]);
      EXPECT_EQ(j["index"], i);
      EXPECT_EQ(j["task"], spec.name);
      EXPECT_EQ(j["length_limit"], kLimit);
      EXPECT_EQ(j["tokens_to_generate"], spec.tokens_to_generate);
      const std::string input = j["input"], ctx = j["input_context"], query = j["input_query"];
      EXPECT_EQ(input, ctx + query);
      EXPECT_TRUE(ctx.starts_with(frame.head));
      EXPECT_TRUE(query.find(frame.tail) != std::string::npos);
      const int64_t length = j["length"];
      EXPECT_EQ(length, CountTokens(tok, input));
      EXPECT_LE(length + spec.tokens_to_generate, kLimit);
      EXPECT_GE(length + spec.tokens_to_generate, static_cast<int64_t>(std::ceil(0.98 * kLimit)));
      // Star Attention tokenizes the two parts separately: the sum stays within the limit too.
      const int64_t split =
          CountTokens(tok, ctx) + static_cast<int64_t>(tok.Encode(query, false, true).size());
      EXPECT_LE(std::abs(split - length), 2) << "context/query split moves the count";
      // Every expected output appears in the context (QA answers are inside their documents).
      for (const auto& out : j["outputs"]) {
        EXPECT_NE(ctx.find(out.get<std::string>()), std::string::npos) << out;
      }
    }
  }
}

TEST(RulerSizing, DeterministicAcrossRunsAndThreads) {
  STARATTN_REQUIRE_DEFAULT_MODEL(model);
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const Tokenizer& tok = *DefaultTokenizer(model);
  for (const TaskSpec& spec : AllTasks()) {
    SCOPED_TRACE(std::string(spec.name));
    const Generated a = RunTask(spec, d.big, tok, 4096, 3, 42, 1);
    const Generated b = RunTask(spec, d.big, tok, 4096, 3, 42, 2);
    const Generated c = RunTask(spec, d.big, tok, 4096, 3, 43, 1);
    EXPECT_EQ(a.lines, b.lines) << "same seed, same bytes";
    for (size_t i = 0; i < a.lines.size(); ++i) {
      EXPECT_NE(a.lines[i], c.lines[i]) << "another seed, another sample " << i;
    }
  }
}

TEST(RulerSizing, TooSmallALimitIsAnError) {
  STARATTN_REQUIRE_DEFAULT_MODEL(model);
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const Tokenizer& tok = *DefaultTokenizer(model);
  EXPECT_THROW(RunTask(*FindTask("vt"), d.big, tok, 256, 1, 42, 1), Error);
  EXPECT_THROW(RunTask(*FindTask("qa_1"), d.big, tok, 4096, 100000, 42, 1),
               Error);  // too few questions
}

}  // namespace
}  // namespace starattn::ruler
