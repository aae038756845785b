// Test data of ruler_test (header only: not part of the library): the shared word lists and
// essays, tiny hand-written SQuAD / HotpotQA files, and larger SQuAD / HotpotQA-format files cut
// from the essays (to fill 4K prompts), all written to a temporary directory and read back with
// the real loaders.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/common/testing.h"
#include "ruler/data.h"
#include "ruler/tasks.h"

namespace starattn::ruler {

struct TestData {
  bool ok = false;
  std::string why;
  std::filesystem::path dir;  // temporary directory of the JSON files
  WordLists words;
  EssayHaystack essays;
  QaData squad, hotpotqa;          // tiny, hand-written
  QaData big_squad, big_hotpotqa;  // cut from the essays
  TaskData data;                   // words, essays, squad, hotpotqa (the tiny ones)
  TaskData big;                    // words, essays, big_squad, big_hotpotqa
};

inline void WriteJson(const std::filesystem::path& path, const nlohmann::json& j) {
  std::ofstream(path) << j.dump();
}

inline nlohmann::json TinySquad() {
  using J = nlohmann::json;
  auto qa = [](const char* q, std::vector<std::string> answers, bool impossible) {
    J a = J::array();
    for (const auto& t : answers) a.push_back({{"text", t}, {"answer_start", 0}});
    return J{{"question", q}, {"id", q}, {"answers", a}, {"is_impossible", impossible}};
  };
  J a1 = {{"title", "A"},
          {"paragraphs",
           J::array({{{"context", "Alpha lives in the north."},
                      {"qas",
                       J::array({qa("Where is alpha?", {"the north", "north", "the north"}, false),
                                 qa("Is it impossible?", {}, true)})}},
                     {{"context", "Beta is a letter."},
                      {"qas", J::array({qa("What is beta?", {"a letter"}, false)})}},
                     {{"context", "Gamma was written by Homer."},
                      {"qas", J::array({qa("Who wrote gamma?", {"Homer"}, false)})}}})}};
  J a2 = {{"title", "B"},
          {"paragraphs", J::array({{{"context", "Delta was in 1999."},
                                    {"qas", J::array({qa("When was delta?", {"1999"}, false)})}},
                                   {{"context", "Epsilon is small."},
                                    {"qas", J::array({qa("Unanswerable?", {}, true)})}}})}};
  return J{{"version", "v2.0"}, {"data", J::array({a1, a2})}};
}

inline nlohmann::json TinyHotpot() {
  using J = nlohmann::json;
  auto para = [](const char* title, std::vector<std::string> sents) {
    return J::array({title, sents});
  };
  const J a = para("Title A", {"Sentence one.", " Sentence two."});
  return J::array({
      J{{"_id", "1"},
        {"question", "Which title is first?"},
        {"answer", "Title A"},
        {"context", J::array({a, para("Title B", {"B sentence."})})}},
      J{{"_id", "2"},
        {"question", "Q2?"},
        {"answer", "yes"},
        {"context", J::array({para("Title C", {"C one."}), para("Title D", {"D one."})})}},
      J{{"_id", "3"},
        {"question", "Q3?"},
        {"answer", "no"},
        {"context", J::array({para("Title E", {"E one."}), a})}},
  });
}

// Paragraphs of ~60 words cut from the essays; SQuAD: 10 articles of 30 paragraphs, one question
// a paragraph; HotpotQA: 60 questions of 10 paragraphs (2 of them shared with other questions).
inline void BigQaFiles(const EssayHaystack& essays, const std::filesystem::path& squad,
                       const std::filesystem::path& hotpot) {
  using J = nlohmann::json;
  std::vector<std::string> paras;
  for (int64_t w = 0; w + 60 <= essays.num_words() && paras.size() < 600; w += 60) {
    paras.push_back(
        essays.text().substr(essays.word_begin(w), essays.word_end(w + 59) - essays.word_begin(w)));
  }
  J data = J::array();
  for (int a = 0; a < 10; ++a) {
    J ps = J::array();
    for (int p = 0; p < 30; ++p) {
      const std::string& text = paras[a * 30 + p];
      const std::string answer = text.substr(0, text.find(' '));
      ps.push_back(
          {{"context", text},
           {"qas",
            J::array({{{"question", fmt::format("Which word opens paragraph {}?", a * 30 + p)},
                       {"answers", J::array({{{"text", answer}}})},
                       {"is_impossible", false}}})}});
    }
    data.push_back({{"title", fmt::format("T{}", a)}, {"paragraphs", ps}});
  }
  WriteJson(squad, J{{"data", data}});
  J qs = J::array();
  for (int q = 0; q < 60; ++q) {
    J ctx = J::array();
    for (int p = 0; p < 10; ++p) {
      const std::string& text = paras[(q * 8 + p) % paras.size()];
      ctx.push_back(J::array({fmt::format("P{}", (q * 8 + p) % paras.size()), J::array({text})}));
    }
    qs.push_back({{"question", fmt::format("Question {}?", q)},
                  {"answer", fmt::format("P{}", q * 8)},
                  {"context", ctx}});
  }
  WriteJson(hotpot, qs);
}

inline void FillTestData(TestData& d) {
  const std::string shared = testing::SharedDataDir();
  if (shared.empty()) {
    d.why = "shared data missing: expected ../shared/data beside the clone or STARATTN_SHARED_DATA";
    return;
  }
  d.dir = std::filesystem::temp_directory_path() / fmt::format("ruler_test_{}", ::getpid());
  std::filesystem::create_directories(d.dir);
  d.words = WordLists::Load(shared + "/wordlists");
  d.essays = EssayHaystack::FromDirectory(shared + "/haystack/paul_graham_essays");
  WriteJson(d.dir / "squad.json", TinySquad());
  WriteJson(d.dir / "hotpot.json", TinyHotpot());
  BigQaFiles(d.essays, d.dir / "big_squad.json", d.dir / "big_hotpot.json");
  d.squad = QaData::LoadSquad((d.dir / "squad.json").string());
  d.hotpotqa = QaData::LoadHotpotQa((d.dir / "hotpot.json").string());
  d.big_squad = QaData::LoadSquad((d.dir / "big_squad.json").string());
  d.big_hotpotqa = QaData::LoadHotpotQa((d.dir / "big_hotpot.json").string());
  d.data = TaskData{&d.words, &d.essays, &d.squad, &d.hotpotqa};
  d.big = TaskData{&d.words, &d.essays, &d.big_squad, &d.big_hotpotqa};
  std::filesystem::remove_all(d.dir);
  d.ok = true;
}

// Loaded once per test binary; d.ok is false (and d.why says why) when the shared data is missing.
inline const TestData& SharedTestData() {
  static TestData d;
  static const bool filled = (FillTestData(d), true);
  (void)filled;
  return d;
}

}  // namespace starattn::ruler
