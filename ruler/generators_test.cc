// The structure of every generator's samples: needle counts, expected outputs present in the
// context exactly as needed, depth spread, VT chains, CWE and FWE frequencies, QA gold documents.
// These build task prompts directly (no tokenizer); sizing is tested in generate_test.cc.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <regex>
#include <set>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "ruler/rng.h"
#include "ruler/tasks.h"
#include "ruler/testdata.h"
#include "ruler/text.h"

namespace starattn::ruler {
namespace {

int64_t CountOf(std::string_view text, std::string_view what) {
  int64_t n = 0;
  for (size_t pos = text.find(what); pos != std::string_view::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

// A rough counter: the generators only use it for the VT example and QA document costs.
int64_t ApproxTokens(std::string_view s) { return static_cast<int64_t>(s.size() / 4 + 1); }

// The generator of `task`; null, with a failure, when there is no such task (callers ASSERT_NE).
std::unique_ptr<Generator> Make(std::string_view task, const TaskData& data, int64_t limit = 4096) {
  const TaskSpec* spec = FindTask(task);
  if (spec == nullptr) {
    ADD_FAILURE() << "no task " << task;
    return nullptr;
  }
  return MakeGenerator(*spec, data, limit, ApproxTokens, 42);
}

TEST(RulerTasks, TableMatchesTheReference) {
  ASSERT_EQ(AllTasks().size(), 13u);
  const std::vector<std::string> names = {"niah_single_1",
                                          "niah_single_2",
                                          "niah_single_3",
                                          "niah_multikey_1",
                                          "niah_multikey_2",
                                          "niah_multikey_3",
                                          "niah_multivalue",
                                          "niah_multiquery",
                                          "vt",
                                          "cwe",
                                          "fwe",
                                          "qa_1",
                                          "qa_2"};
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(AllTasks()[i].name, names[i]);
  EXPECT_EQ(FindTask("niah_multiquery")->num_k, 4);  // max(k, q)
  EXPECT_EQ(FindTask("niah_multiquery")->num_q, 4);
  EXPECT_EQ(FindTask("niah_multivalue")->num_v, 4);
  EXPECT_EQ(FindTask("niah_multikey_1")->num_k, 4);
  EXPECT_EQ(FindTask("vt")->tokens_to_generate, 30);
  EXPECT_EQ(FindTask("cwe")->tokens_to_generate, 120);
  EXPECT_EQ(FindTask("fwe")->tokens_to_generate, 50);
  EXPECT_EQ(FindTask("qa_2")->tokens_to_generate, 32);
  EXPECT_EQ(FindTask("niah_single_3")->tokens_to_generate, 128);
  const std::vector<int>& depths = NeedleDepths();
  ASSERT_EQ(depths.size(), 40u);
  for (size_t k = 0; k < depths.size(); ++k) {
    EXPECT_EQ(depths[k], static_cast<int>(std::nearbyint(100.0 * static_cast<double>(k) / 39.0)));
  }
}

struct NiahCase {
  const char* task;
  int needles;    // needles in the context
  int outputs;    // expected answers
  int queried;    // keys in the question
  bool singular;  // singular wording
};

class RulerNiah : public ::testing::TestWithParam<NiahCase> {};

TEST_P(RulerNiah, NeedlesAndOutputs) {
  const NiahCase c = GetParam();
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const auto gen = Make(c.task, d.data);
  ASSERT_NE(gen, nullptr);
  const TaskSpec& spec = *FindTask(c.task);
  const std::string type_v = spec.value_type == NeedleType::kUuids ? "uuids" : "numbers";
  const std::string type_1 = type_v.substr(0, type_v.size() - 1);
  for (int64_t index = 0; index < 20; ++index) {
    const uint64_t seed = SampleSeed(42, c.task, 4096, index);
    SCOPED_TRACE(testing::SeedTrace(seed));
    const TaskPrompt p = gen->Build(200, seed, index);
    ASSERT_EQ(static_cast<int>(p.outputs.size()), c.outputs);
    const std::string needle_head = "One of the special magic " + type_v + " for ";
    // Every expected value sits in exactly one needle of a queried key, and that key is in the
    // question; the needles of the real keys number num_k * num_v.
    std::set<std::string> real_keys;
    for (const std::string& v : p.outputs) {
      EXPECT_EQ(CountOf(p.context_part, " is: " + v + "."), 1) << v;
      const size_t at = p.context_part.find(" is: " + v + ".");
      ASSERT_NE(at, std::string::npos);
      const size_t head = p.context_part.rfind(needle_head, at);
      ASSERT_NE(head, std::string::npos);
      const std::string key =
          p.context_part.substr(head + needle_head.size(), at - head - needle_head.size());
      EXPECT_NE(p.query_part.find(key), std::string::npos) << key;
      real_keys.insert(key);
    }
    EXPECT_EQ(static_cast<int>(real_keys.size()), c.queried);
    if (spec.haystack == HaystackKind::kNeedle) {
      EXPECT_EQ(CountOf(p.context_part, needle_head), 200 + c.needles);
      for (const std::string& k : real_keys)
        EXPECT_EQ(CountOf(p.context_part, " for " + k + " is: "), 1);
    } else {
      EXPECT_EQ(CountOf(p.context_part, needle_head), c.needles);
    }
    if (spec.haystack == HaystackKind::kNoise) {
      EXPECT_EQ(CountOf(p.context_part, "The grass is green."), 200);
    }
    // Wording: singular rewrite on the task text only.
    if (c.singular) {
      EXPECT_TRUE(p.context_part.starts_with("A special magic " + type_1 + " is hidden"));
      EXPECT_TRUE(p.query_part.starts_with("\nWhat is the special magic " + type_1 + " for "));
      EXPECT_TRUE(p.answer_prefix.starts_with(" The special magic " + type_1 + " for "));
      EXPECT_TRUE(p.answer_prefix.ends_with(" mentioned in the provided text is"));
    } else {
      EXPECT_TRUE(p.context_part.starts_with("Some special magic " + type_v + " are hidden"));
      EXPECT_TRUE(p.query_part.starts_with("\nWhat are all the special magic " + type_v + " for "));
      EXPECT_TRUE(p.answer_prefix.ends_with(" mentioned in the provided text are"));
    }
    EXPECT_TRUE(p.query_part.ends_with(" mentioned in the provided text?"));
    // Value forms.
    for (const std::string& v : p.outputs) {
      if (spec.value_type == NeedleType::kNumbers) {
        EXPECT_TRUE(std::regex_match(v, std::regex("[1-9][0-9]{6}"))) << v;
      } else {
        EXPECT_TRUE(std::regex_match(
            v, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
            << v;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllNiah, RulerNiah,
    ::testing::Values(
        //        task               needles outputs queried singular
        NiahCase{"niah_single_1", 1, 1, 1, true}, NiahCase{"niah_single_2", 1, 1, 1, true},
        NiahCase{"niah_single_3", 1, 1, 1, true}, NiahCase{"niah_multikey_1", 4, 1, 1, true},
        NiahCase{"niah_multikey_2", 1, 1, 1, true}, NiahCase{"niah_multikey_3", 1, 1, 1, true},
        NiahCase{"niah_multivalue", 4, 4, 1, false}, NiahCase{"niah_multiquery", 4, 4, 4, false}),
    [](const auto& info) { return std::string(info.param.task); });

TEST(RulerNiah, MultiQueryJoinsKeys) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  const auto gen = Make("niah_multiquery", d.data);
  ASSERT_NE(gen, nullptr);
  const TaskPrompt p = gen->Build(300, SampleSeed(1, "niah_multiquery", 4096, 0), 0);
  EXPECT_TRUE(std::regex_search(p.query_part,
                                std::regex(" for [^ ,]+, [^ ,]+, [^ ,]+, and [^ ,]+ mentioned")))
      << p.query_part;
}

// The needle lands at int(n_sent * depth / 100) for a depth drawn from the 40 depths: with an
// essay of 1000 equal sentences every needle position names its depth exactly.
TEST(RulerNiah, DepthsSpreadOverTheFortyDepths) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  std::string essay;
  for (int i = 0; i < 1000; ++i) essay += "Alpha beta gamma delta. ";
  const EssayHaystack uniform = EssayHaystack::FromText(essay);
  TaskData data = d.data;
  data.essays = &uniform;
  const auto gen = Make("niah_single_2", data);
  ASSERT_NE(gen, nullptr);
  const std::set<int> allowed(NeedleDepths().begin(), NeedleDepths().end());
  std::map<int, int> hits;
  const std::string head = "the number afterwards.\n";
  constexpr int kSamples = 800;
  for (int64_t index = 0; index < kSamples; ++index) {
    const TaskPrompt p = gen->Build(4000, SampleSeed(42, "depths", 0, index), index);
    const size_t needle = p.context_part.find("One of the special magic");
    ASSERT_NE(needle, std::string::npos);
    const std::string_view before = std::string_view(p.context_part).substr(0, needle);
    const int64_t sentences = CountOf(before, "delta.");
    // 1000 sentences: position = int(1000 * depth / 100) = 10 * depth.
    ASSERT_EQ(sentences % 10, 0) << sentences;
    const int depth = static_cast<int>(sentences / 10);
    EXPECT_EQ(allowed.count(depth), 1u) << depth;
    ++hits[depth];
  }
  EXPECT_EQ(hits.size(), 40u) << "every depth is drawn";
  for (const auto& [depth, n] : hits) {
    EXPECT_GE(n, 5) << "depth " << depth;  // expected 20 each
    EXPECT_LE(n, 40) << "depth " << depth;
  }
}

TEST(RulerNiah, MultikeyDepthsDistinct) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  std::string essay;
  for (int i = 0; i < 1000; ++i) essay += "Alpha beta gamma delta. ";
  const EssayHaystack uniform = EssayHaystack::FromText(essay);
  TaskData data = d.data;
  data.essays = &uniform;
  const auto gen = Make("niah_multikey_1", data);
  ASSERT_NE(gen, nullptr);
  for (int64_t index = 0; index < 50; ++index) {
    const TaskPrompt p = gen->Build(4000, SampleSeed(42, "mk", 0, index), index);
    std::set<int64_t> positions;
    for (size_t at = p.context_part.find("One of the special"); at != std::string::npos;
         at = p.context_part.find("One of the special", at + 1)) {
      positions.insert(CountOf(std::string_view(p.context_part).substr(0, at), "delta."));
    }
    EXPECT_EQ(positions.size(), 4u) << "four needles at four different depths";
  }
}

// Chains: "VAR A = 12345" then "VAR B = VAR A " ...; following the assignments from the value
// gives exactly the outputs.
TEST(RulerVt, ChainsResolveToTheOutputs) {
  const TestData& d = SharedTestData();
  const auto gen = Make("vt", d.data);
  ASSERT_NE(gen, nullptr);
  const std::regex assign_value("VAR ([A-Z]+) = ([0-9]+)");
  const std::regex assign_var("VAR ([A-Z]+) = VAR ([A-Z]+)");
  for (int64_t index = 0; index < 30; ++index) {
    const uint64_t seed = SampleSeed(42, "vt", 4096, index);
    SCOPED_TRACE(testing::SeedTrace(seed));
    const TaskPrompt p = gen->Build(100, seed, index);
    // The task text follows the in-context example.
    const std::string task_start = "Memorize and track";
    const size_t task_at = p.context_part.rfind(task_start);
    ASSERT_NE(task_at, std::string::npos);
    ASSERT_GT(task_at, 0u) << "the example precedes the task";
    const std::string example = p.context_part.substr(0, task_at);
    const std::string task = p.context_part.substr(task_at);
    EXPECT_TRUE(example.ends_with("\n\n\n\n"));
    EXPECT_EQ(CountOf(task, "The grass is green."), 100);

    std::map<std::string, std::string> value_of;  // variable -> number
    std::map<std::string, std::string> parent;    // variable -> variable it copies
    std::vector<std::string> order;
    for (std::sregex_iterator it(task.begin(), task.end(), assign_var), end; it != end; ++it) {
      parent[(*it)[1]] = (*it)[2];
      order.push_back((*it)[1]);
    }
    for (std::sregex_iterator it(task.begin(), task.end(), assign_value), end; it != end; ++it) {
      value_of[(*it)[1]] = (*it)[2];
    }
    ASSERT_EQ(value_of.size(), 1u);
    ASSERT_EQ(parent.size(), 4u);
    const std::string value = value_of.begin()->second;
    EXPECT_EQ(value.size(), 5u);
    std::set<std::string> resolved;
    for (const auto& [var, v] : value_of) resolved.insert(var);
    for (const auto& [var, src] : parent) {
      std::string cur = var;
      int guard = 0;
      while (parent.count(cur) && guard++ < 10) cur = parent.at(cur);
      if (value_of.count(cur) && value_of.at(cur) == value) resolved.insert(var);
    }
    EXPECT_EQ(resolved, std::set<std::string>(p.outputs.begin(), p.outputs.end()));
    ASSERT_EQ(p.outputs.size(), 5u);
    for (const std::string& v : p.outputs)
      EXPECT_TRUE(std::regex_match(v, std::regex("[A-Z]{5}"))) << v;
    // The chain appears in order: output i is assigned before output i+1.
    size_t prev = 0;
    for (const std::string& v : p.outputs) {
      const size_t at = task.find("VAR " + v + " = ");
      ASSERT_NE(at, std::string::npos);
      EXPECT_GE(at, prev);
      prev = at;
    }
    EXPECT_NE(p.query_part.find("assigned the value " + value + " in the text above."),
              std::string::npos);
    EXPECT_NE(p.answer_prefix.find("5 variables are assigned the value " + value + ", they are: "),
              std::string::npos);
    // The example: 3-letter chain, its question, prefix and answer.
    EXPECT_TRUE(std::regex_search(
        example, std::regex("they are:  [A-Z]{3} [A-Z]{3} [A-Z]{3} [A-Z]{3} [A-Z]{3}\n\n")))
        << example.substr(example.size() > 200 ? example.size() - 200 : 0);
  }
}

// The numbered list: the 10 common words 30 times each, the others 3 times each.
TEST(RulerCwe, Frequencies) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  for (const int64_t limit : {4096, 2048}) {
    const auto gen = Make("cwe", d.data, limit);
    ASSERT_NE(gen, nullptr);
    const int common = limit >= 4096 ? 30 : 6, uncommon = limit >= 4096 ? 3 : 1;
    for (int64_t index = 0; index < 10; ++index) {
      const uint64_t seed = SampleSeed(42, "cwe", limit, index);
      SCOPED_TRACE(testing::SeedTrace(seed));
      const int64_t size = 60;
      const TaskPrompt p = gen->Build(size, seed, index);
      const std::string marker = "Memorize the ones that appear most often.\n";
      const size_t at = p.context_part.rfind(marker);
      ASSERT_NE(at, std::string::npos);
      ASSERT_NE(p.context_part.find(marker), at) << "an example precedes the task";
      const std::string list = p.context_part.substr(at + marker.size());
      // Parse "1. w 2. w ..." with consecutive numbers (words may hold spaces or hyphens).
      std::map<std::string, int> counts;
      int64_t expected_number = 1;
      size_t pos = 0;
      while (pos < list.size()) {
        const std::string num = std::to_string(expected_number) + ". ";
        ASSERT_EQ(list.compare(pos, num.size(), num), 0) << "entry " << expected_number;
        pos += num.size();
        const std::string next = fmt::format(" {}. ", expected_number + 1);
        size_t end = list.find(next, pos);
        if (end == std::string::npos) end = list.size();
        ++counts[list.substr(pos, end - pos)];
        pos = end == list.size() ? end : end + 1;
        ++expected_number;
      }
      EXPECT_EQ(expected_number - 1, 10 * common + (size - 10) * uncommon);
      EXPECT_EQ(static_cast<int64_t>(counts.size()), size);
      ASSERT_EQ(p.outputs.size(), 10u);
      for (const std::string& w : p.outputs) EXPECT_EQ(counts[w], common) << w;
      int64_t others = 0;
      for (const auto& [w, n] : counts) {
        if (std::find(p.outputs.begin(), p.outputs.end(), w) == p.outputs.end()) {
          EXPECT_EQ(n, uncommon) << w;
          ++others;
        }
      }
      EXPECT_EQ(others, size - 10);
      EXPECT_EQ(p.query_part, "\nQuestion: What are the 10 most common words in the above list?");
    }
  }
}

// count of rank k = int(n * k^-2 / zeta(2)); rank 1 is "...", the outputs are ranks 2-4.
TEST(RulerFwe, Frequencies) {
  const TestData& d = SharedTestData();
  const auto gen = Make("fwe", d.data, 4096);
  ASSERT_NE(gen, nullptr);
  const double zeta2 = std::numbers::pi * std::numbers::pi / 6;
  for (int64_t index = 0; index < 10; ++index) {
    const uint64_t seed = SampleSeed(42, "fwe", 4096, index);
    SCOPED_TRACE(testing::SeedTrace(seed));
    const int64_t n = 2000;
    const TaskPrompt p = gen->Build(n, seed, index);
    const std::string head = "Find the three most frequently appeared coded words. ";
    const size_t at = p.context_part.find(head);
    ASSERT_NE(at, std::string::npos);
    std::map<std::string, int64_t> counts;
    std::string_view rest = std::string_view(p.context_part).substr(at + head.size());
    while (!rest.empty()) {
      size_t sp = rest.find(' ');
      if (sp == std::string_view::npos) sp = rest.size();
      ++counts[std::string(rest.substr(0, sp))];
      rest.remove_prefix(std::min(rest.size(), sp + 1));
    }
    EXPECT_EQ(counts["..."], static_cast<int64_t>(n / zeta2));
    ASSERT_EQ(p.outputs.size(), 3u);
    for (int k = 2; k <= 4; ++k) {
      const std::string& w = p.outputs[k - 2];
      EXPECT_TRUE(std::regex_match(w, std::regex("[a-z]{6}"))) << w;
      EXPECT_EQ(counts[w], static_cast<int64_t>(static_cast<double>(n) * std::pow(k, -2.0) / zeta2))
          << w;
    }
    const int64_t third = counts[p.outputs[2]];
    for (const auto& [w, c] : counts) {
      if (w == "..." || std::find(p.outputs.begin(), p.outputs.end(), w) != p.outputs.end())
        continue;
      EXPECT_LT(c, third) << w;
    }
    EXPECT_LE(static_cast<int64_t>(counts.size()), 4096 / 50);
  }
}

TEST(RulerQa, SquadGoldDocumentsAndDistractors) {
  const TestData& d = SharedTestData();
  const auto gen = Make("qa_1", d.data);
  ASSERT_NE(gen, nullptr);
  const QaData& squad = *d.data.squad;
  ASSERT_EQ(gen->MaxSamples(), static_cast<int64_t>(squad.items.size()));
  for (int64_t index = 0; index < gen->MaxSamples(); ++index) {
    const QaItem& item = squad.items[index];
    // Small budget: the gold document alone.
    const TaskPrompt small = gen->Build(0, SampleSeed(42, "qa_1", 4096, index), index);
    EXPECT_EQ(CountOf(small.context_part, "Document "), 1);
    EXPECT_NE(small.context_part.find("Document 1:\n" + squad.docs[item.gold[0]]),
              std::string::npos);
    // Large budget: every document, the gold one among them, numbered 1..n.
    const TaskPrompt all = gen->Build(1 << 20, SampleSeed(42, "qa_1", 4096, index), index);
    EXPECT_EQ(CountOf(all.context_part, "Document "), static_cast<int64_t>(squad.docs.size()));
    for (size_t i = 0; i < squad.docs.size(); ++i) {
      EXPECT_EQ(CountOf(all.context_part, "\n" + squad.docs[i]), 1);
      EXPECT_EQ(CountOf(all.context_part, fmt::format("Document {}:\n", i + 1)), 1);
    }
    EXPECT_EQ(all.outputs, item.answers);
    EXPECT_EQ(
        all.query_part,
        "\n\nAnswer the question based on the given documents. Only give me the answer and do "
        "not output any other words.\n\nQuestion: " +
            item.question);
    EXPECT_EQ(all.answer_prefix, " Answer:");
  }
}

TEST(RulerQa, SquadSkipsUnanswerableAndKeepsFileOrder) {
  const TestData& d = SharedTestData();
  const QaData& squad = *d.data.squad;
  std::vector<std::string> questions;
  for (const QaItem& q : squad.items) questions.push_back(q.question);
  EXPECT_EQ(questions, (std::vector<std::string>{"Where is alpha?", "What is beta?",
                                                 "Who wrote gamma?", "When was delta?"}));
  EXPECT_EQ(squad.items[0].answers, (std::vector<std::string>{"the north", "north", "the north"}));
  EXPECT_EQ(squad.docs.size(), 5u);
  // Same-article paragraphs are the related documents.
  EXPECT_EQ(squad.items[0].related.size(), 2u);
  EXPECT_EQ(squad.items[3].related.size(), 1u);
}

TEST(RulerQa, HotpotAllParagraphsAreGold) {
  const TestData& d = SharedTestData();
  const auto gen = Make("qa_2", d.data);
  ASSERT_NE(gen, nullptr);
  const QaData& hotpot = *d.data.hotpotqa;
  ASSERT_EQ(hotpot.items.size(), 3u);
  for (int64_t index = 0; index < 3; ++index) {
    const QaItem& item = hotpot.items[index];
    ASSERT_EQ(item.gold.size(), 2u);
    const TaskPrompt p = gen->Build(0, SampleSeed(7, "qa_2", 4096, index), index);
    EXPECT_EQ(CountOf(p.context_part, "Document "), 2);
    for (const int32_t g : item.gold) {
      EXPECT_NE(p.context_part.find(hotpot.docs[g]), std::string::npos) << hotpot.docs[g];
    }
    EXPECT_EQ(p.outputs, item.answers);
  }
  EXPECT_NE(
      std::find(hotpot.docs.begin(), hotpot.docs.end(), "Title A\nSentence one. Sentence two."),
      hotpot.docs.end());
}

TEST(RulerQa, DistractorsDifferBySeed) {
  const TestData& d = SharedTestData();
  const auto gen = Make("qa_2", d.data);
  ASSERT_NE(gen, nullptr);
  // A budget for the gold paragraphs and some of the other four.
  const TaskPrompt a = gen->Build(40, SampleSeed(1, "qa_2", 4096, 0), 0);
  const TaskPrompt b = gen->Build(40, SampleSeed(2, "qa_2", 4096, 0), 0);
  const TaskPrompt a2 = gen->Build(40, SampleSeed(1, "qa_2", 4096, 0), 0);
  EXPECT_EQ(a.context_part, a2.context_part);
  EXPECT_GT(CountOf(a.context_part, "Document "), 2);
  EXPECT_NE(a.context_part, b.context_part);
}

TEST(RulerData, MissingDataIsReported) {
  EXPECT_FALSE(WordLists::Present("/nonexistent"));
  EXPECT_FALSE(EssayHaystack::Present("/nonexistent"));
  EXPECT_THROW(WordLists::Load("/nonexistent"), Error);
  EXPECT_THROW(EssayHaystack::FromDirectory("/nonexistent"), Error);
  EXPECT_THROW(QaData::LoadSquad("/nonexistent.json"), Error);
  const TaskSpec& cwe = *FindTask("cwe");
  EXPECT_THROW(MakeGenerator(cwe, TaskData{}, 4096, ApproxTokens, 1), Error);
  EXPECT_TRUE(NeedsOf(cwe).wordlists);
  EXPECT_TRUE(NeedsOf(*FindTask("niah_single_1")).wordlists);
  EXPECT_FALSE(NeedsOf(*FindTask("niah_single_1")).essays);
  EXPECT_FALSE(NeedsOf(*FindTask("niah_multikey_3")).wordlists);
  EXPECT_TRUE(NeedsOf(*FindTask("qa_1")).squad);
  EXPECT_TRUE(NeedsOf(*FindTask("qa_2")).hotpotqa);
}

TEST(RulerData, SharedWordListsAreTheWonderwordsLists) {
  const TestData& d = SharedTestData();
  ASSERT_TRUE(d.ok) << d.why;
  EXPECT_EQ(d.words.adjectives.size(), 912u);
  EXPECT_EQ(d.words.nouns.size(), 6782u);
  EXPECT_EQ(d.words.verbs.size(), 1042u);
  EXPECT_EQ(d.words.nouns[0], "ATM");
  EXPECT_GT(d.essays.num_words(), 100000);
}

}  // namespace
}  // namespace starattn::ruler
