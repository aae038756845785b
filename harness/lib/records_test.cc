// The one reader and appender of prediction records: fields and defaults, the scorers' views,
// errors that name the file, line and field, torn and unterminated last lines, resuming.
#include "harness/lib/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn::records {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class RecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("starattn_records_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(RecordsTest, ReadsFieldsAndDefaults) {
  const std::string path =
      Write("niah_single_2.jsonl",
            R"({"index": 0, "pred": "x 1", "outputs": ["1"], "length_limit": 4096})"
            "\n\n"
            R"({"index": 5, "pred": "y", "output": "z", "task": "qa_1", "sample_key": "k"})"
            "\n"
            R"({"pred": "w", "outputs": "v", "task": "qa1", "length_name": "2k"})"
            "\n");
  ReadOptions opts;
  opts.default_task = "niah_single_2";
  const RecordFile f = ReadRecords(path, opts);
  ASSERT_EQ(f.records.size(), 3u);
  EXPECT_FALSE(f.torn_last_line);
  const Record& a = f.records[0];
  EXPECT_EQ(a.task, "niah_single_2");  // the default
  EXPECT_EQ(a.key, "niah_single_2/0");
  EXPECT_EQ(a.references, std::vector<std::string>{"1"});
  EXPECT_EQ(a.length_limit, 4096);
  EXPECT_EQ(LengthLabel(a, "x"), "4k");
  const Record& b = f.records[1];
  EXPECT_EQ(b.line, 3);
  EXPECT_EQ(b.key, "k");
  EXPECT_EQ(b.index, 5);
  EXPECT_EQ(b.references, std::vector<std::string>{"z"});
  EXPECT_EQ(LengthLabel(b, "fallback"), "fallback");
  const Record& c = f.records[2];
  EXPECT_EQ(c.index, 3);  // line 4 - 1
  EXPECT_EQ(LengthLabel(c, "x"), "2k");

  const ruler::Prediction p = ToRulerPrediction(b);
  EXPECT_EQ(p.task, "qa_1");
  EXPECT_EQ(p.index, 5);
  EXPECT_EQ(p.references, std::vector<std::string>{"z"});
  EXPECT_EQ(p.record["sample_key"], "k");
}

TEST_F(RecordsTest, DropInputsKeepsTheQuery) {
  const std::string path = Write(
      "a.jsonl",
      R"({"pred": "x", "outputs": ["1"], "task": "vt", "input_context": "long", "input": "long q", "input_query": "q"})"
      "\n");
  ReadOptions opts;
  opts.drop_inputs = true;
  const Record r = ReadRecords(path, opts).records.at(0);
  EXPECT_FALSE(r.json.contains("input_context"));
  EXPECT_FALSE(r.json.contains("input"));
  EXPECT_EQ(r.json["input_query"], "q");
}

TEST_F(RecordsTest, BadRecordsNameFileLineAndField) {
  const struct {
    std::string text;
    const char* error;
  } cases[] = {
      {R"({"outputs": ["1"], "task": "vt"})", "a.jsonl:1: no string field \"pred\""},
      {R"({"pred": "x", "task": "vt"})", "a.jsonl:1: no field \"outputs\""},
      {R"({"pred": "x", "outputs": [1], "task": "vt"})", "must be a string or a non-empty list"},
      {R"({"pred": "x", "outputs": [], "task": "vt"})", "must be a string or a non-empty list"},
      {R"({"pred": "x", "outputs": ["1"]})", "a.jsonl:1: no string field \"task\""},
      {R"({"pred": "x", "outputs": ["1"], "task": 3})", "\"task\" must be a non-empty string"},
      {R"([1, 2])", "a.jsonl:1: not a JSON object"},
      {"not json", "a.jsonl:1: invalid JSON"},
      // Deeper than any record nests: the writers' dump() would recurse once per level.
      {R"({"pred": "x", "outputs": ["1"], "task": "vt", "deep": )" + std::string(100000, '[') +
           std::string(100000, ']') + "}",
       "a.jsonl:1: JSON nested deeper than 64 levels"},
  };
  for (const auto& c : cases) {
    const std::string path = Write("a.jsonl", c.text + "\n");
    EXPECT_THAT([&] { ReadRecords(path); }, ThrowsMessage<Error>(HasSubstr(c.error)))
        << c.text.substr(0, 80);
  }
  EXPECT_THAT([&] { ReadRecords((dir_ / "missing.jsonl").string()); },
              ThrowsMessage<Error>(HasSubstr("missing.jsonl: no such file")));
  // The same sample twice (at one length) is an error naming both lines.
  const std::string dup =
      Write("dup.jsonl", R"({"pred": "x", "outputs": ["1"], "task": "vt", "index": 2})"
                         "\n"
                         R"({"pred": "y", "outputs": ["1"], "task": "vt", "index": 2})"
                         "\n");
  EXPECT_THAT([&] { ReadRecords(dup); },
              ThrowsMessage<Error>(HasSubstr("dup.jsonl:2: sample vt/2 appears twice (first at "
                                             "line 1)")));
}

TEST_F(RecordsTest, TornLastLineIsSkippedAnUnterminatedCompleteOneIsRead) {
  const std::string line = R"({"pred": "x", "outputs": ["1"], "task": "vt", "index": 0})";
  const std::string torn = Write("torn.jsonl", line + "\n" + R"({"pred": "y", "outp)");
  const RecordFile t = ReadRecords(torn);
  EXPECT_EQ(t.records.size(), 1u);
  EXPECT_TRUE(t.torn_last_line);
  const std::string complete = Write("complete.jsonl", line);  // no newline
  const RecordFile c = ReadRecords(complete);
  EXPECT_EQ(c.records.size(), 1u);
  EXPECT_FALSE(c.torn_last_line);
  // Not at the end, a broken line is an error.
  const std::string middle = Write("middle.jsonl", R"({"pred": "y", "outp)"
                                                   "\n" +
                                                       line + "\n");
  EXPECT_THAT([&] { ReadRecords(middle); },
              ThrowsMessage<Error>(HasSubstr("middle.jsonl:1: invalid JSON")));
}

TEST_F(RecordsTest, BabilongView) {
  const std::string path = Write(
      "preds.jsonl",
      R"({"pred":"x","outputs":["garden"],"task":"qa1","input_query":"Where is Mary?","length_limit":16000})"
      "\n"
      R"({"pred":"x","outputs":["a"],"question":"Q?","input_query":"not this"})"
      "\n"
      R"({"pred":"x","outputs":["a"],"task":"qa1","length_limit":4096})"
      "\n"
      R"({"pred":"x","outputs":["a"],"task":"qa1","index":9})"
      "\n");
  ReadOptions opts;
  opts.default_task = "qa2";
  const RecordFile f = ReadRecords(path, opts);
  const babilong::Prediction a = ToBabilongPrediction(f.records[0], path);
  EXPECT_EQ(a.question, "Where is Mary?");
  EXPECT_EQ(a.target, "garden");
  EXPECT_EQ(a.length_name, "16k");
  const babilong::Prediction b = ToBabilongPrediction(f.records[1], path);
  EXPECT_EQ(b.task, "qa2");
  EXPECT_EQ(b.question, "Q?");
  EXPECT_EQ(ToBabilongPrediction(f.records[2], path).length_name, "4k");
  EXPECT_EQ(ToBabilongPrediction(f.records[3], path).length_name, "all");
  const std::string bad = Write("bad.jsonl",
                                "\n\n\n\n\n\n"
                                R"({"pred":"a","outputs":["a"],"task":"qa99"})"
                                "\n");
  const RecordFile g = ReadRecords(bad);
  EXPECT_THAT([&] { ToBabilongPrediction(g.records[0], bad); },
              ThrowsMessage<Error>(HasSubstr("bad.jsonl:7: unknown BABILong task 'qa99'")));
}

TEST_F(RecordsTest, BabilongMetricScoresThroughTheRegistry) {
  ruler::MetricRegistry metrics;
  AddBabilongMetric(metrics);
  const ruler::MetricFn* fn = metrics.Find(ruler::kBabilongMetric);
  ASSERT_NE(fn, nullptr);
  ruler::Prediction right, wrong;
  right.task = wrong.task = "qa1";
  right.references = wrong.references = {"garden"};
  right.record = wrong.record = {{"input_query", "Where is Mary?"}};
  right.pred = "The garden.";
  wrong.pred = "The kitchen.";
  EXPECT_DOUBLE_EQ((*fn)({right, wrong}), 50.0);
}

// A record's "match" (written by the reference profile) chooses the label matching: the
// reference's substring test finds "one" inside "none", so a correct "none" is scored wrong.
TEST_F(RecordsTest, BabilongMetricFollowsTheRecordsMatch) {
  ruler::MetricRegistry metrics;
  AddBabilongMetric(metrics);
  const ruler::MetricFn* fn = metrics.Find(ruler::kBabilongMetric);
  ASSERT_NE(fn, nullptr);
  ruler::Prediction p;
  p.task = "qa7";
  p.references = {"none"};
  p.pred = "none";
  p.record = {{"question", "How many objects is Mary carrying?"}};
  EXPECT_DOUBLE_EQ((*fn)({p}), 100.0);  // no "match": whole words
  p.record["match"] = "substring";
  EXPECT_DOUBLE_EQ((*fn)({p}), 0.0);
  p.record["match"] = "word";
  EXPECT_DOUBLE_EQ((*fn)({p}), 100.0);
  EXPECT_EQ(MatchOf(p.record, "f:1"), babilong::MatchMode::kWord);
  EXPECT_EQ(MatchOf(nlohmann::json::object(), "f:1"), std::nullopt);
  p.record["match"] = "fuzzy";
  EXPECT_THAT([&] { (*fn)({p}); },
              ThrowsMessage<Error>(HasSubstr("qa7 sample 0: unknown match mode 'fuzzy'")));
}

TEST_F(RecordsTest, WriterResumesWithoutLossOrDuplicates) {
  const std::string path = (dir_ / "sub" / "pred.jsonl").string();
  {
    RecordWriter w(path);  // creates the folder
    EXPECT_EQ(w.size(), 0);
    w.Append({{"sample_key", "a"}, {"pred", "1"}});
    w.Append({{"sample_key", "b"}, {"pred", "2"}});
    EXPECT_THAT(
        [&] {
          w.Append({{"sample_key", "a"}, {"pred", "again"}});
        },
        ThrowsMessage<Error>(HasSubstr("sample a is already there")));
  }
  // A kill mid-write leaves a torn line: cut, and the sample is not counted as done.
  std::ofstream(path, std::ios::app) << R"({"sample_key": "c", "pr)";
  {
    RecordWriter w(path);
    EXPECT_TRUE(w.Has("a"));
    EXPECT_TRUE(w.Has("b"));
    EXPECT_FALSE(w.Has("c"));
    w.Append({{"sample_key", "c"}, {"pred", "3"}});
  }
  // A complete last record without its newline is kept and ended.
  std::ofstream(path, std::ios::app) << R"({"sample_key": "d", "pred": "4"})";
  {
    RecordWriter w(path);
    EXPECT_TRUE(w.Has("d"));
    EXPECT_EQ(w.size(), 4);
    w.Append({{"sample_key", "e"}, {"pred", "5"}});
  }
  std::vector<std::string> keys;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    keys.push_back(nlohmann::json::parse(line)["sample_key"].get<std::string>());
  }
  EXPECT_THAT(keys, ElementsAre("a", "b", "c", "d", "e"));
}

TEST_F(RecordsTest, WriterEndsACompleteDeepLastLineAndThenRefusesIt) {
  // A complete last line (a JSON object) nested too deep: ended with its newline (nothing is cut),
  // then refused with the reader's error; the earlier line is kept.
  const std::string first = R"({"sample_key": "a", "pred": "x", "outputs": ["1"], "task": "vt"})";
  const std::string deep =
      R"({"sample_key": "b", "deep": )" + std::string(5000, '[') + std::string(5000, ']') + "}";
  const std::string path = Write("deep.jsonl", first + "\n" + deep);
  EXPECT_THAT([&] { RecordWriter w(path); },
              ThrowsMessage<Error>(HasSubstr("deep.jsonl:2: JSON nested deeper than 64 levels")));
  EXPECT_EQ(ReadFileToString(path), first + "\n" + deep + "\n");
}

TEST_F(RecordsTest, WriterRefusesFilesItDidNotWrite) {
  const std::string path = Write("other.jsonl", R"({"pred": "x"})"
                                                "\n");
  EXPECT_THAT([&] { RecordWriter w(path); },
              ThrowsMessage<Error>(HasSubstr("other.jsonl:1: no string field \"sample_key\"")));
  EXPECT_EQ(ReadFileToString(path), R"({"pred": "x"})"
                                    "\n");  // untouched
}

}  // namespace
}  // namespace starattn::records
