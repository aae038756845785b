// Sweep config validation: every malformed config is a one-line error naming file and place.
#include "harness/lib/sweep_config.h"

#include <gtest/gtest.h>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "harness/lib/sweep.h"

namespace starattn::cli {
namespace {

nlohmann::json Valid() {
  return nlohmann::json::parse(R"({
    "name": "t", "samples": 2, "seed": 1, "template": "chat",
    "models": [{"label": "m", "path": "models/x.gguf"}],
    "ruler": {"tasks": ["niah_single_1"], "lengths": [4096, "8k"], "books": "data/books"},
    "babilong": {"tasks": ["qa1"], "lengths": ["2k"]},
    "attention": [{"label": "dense", "mode": "dense"},
                  {"label": "star", "mode": "star", "hosts": 2, "block": "L/4", "anchor": 512},
                  {"label": "ring", "mode": "ring", "hosts": 4}]
  })");
}

// Errors start with the file name, are one line and contain `needle`.
void ExpectError(const nlohmann::json& j, const std::string& needle) {
  EXPECT_THAT([&] { ParseSweepConfigJson(j, "cfg.json"); },
              testing::ThrowsOneLineErrorAt("cfg.json: ", needle));
}

TEST(SweepConfigTest, ParsesAValidConfig) {
  const SweepConfig c = ParseSweepConfigJson(Valid(), "cfg.json");
  EXPECT_EQ(c.name, "t");
  ASSERT_EQ(c.benchmarks.size(), 2u);
  EXPECT_EQ(c.benchmarks[0].lengths, (std::vector<std::string>{"4096", "8k"}));
  ASSERT_EQ(c.attention.size(), 3u);
  const DistConfig star = c.attention[1].At(LengthTokens("ruler", "8k"));
  EXPECT_EQ(star.block_size, 2048);
  EXPECT_EQ(star.anchor_size, 512);
  EXPECT_EQ(star.hosts, 2);
  EXPECT_EQ(c.attention[2].At(4096).mode, AttnMode::kRing);
}

TEST(SweepConfigTest, Lengths) {
  EXPECT_EQ(LengthTokens("ruler", "4k"), 4096);
  EXPECT_EQ(LengthTokens("babilong", "4k"), 4000);
  EXPECT_EQ(LengthTokens("ruler", "4096"), 4096);
  EXPECT_EQ(LengthLabel("4096"), "4k");
  EXPECT_EQ(LengthLabel("131072"), "128k");
  EXPECT_EQ(LengthLabel("4K"), "4k");
  EXPECT_EQ(LengthLabel("1000"), "1000");
  EXPECT_THROW(LengthTokens("ruler", "four"), Error);
}

TEST(SweepConfigTest, ValidationErrors) {
  auto with = [](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = Valid();
    edit(j);
    return j;
  };
  ExpectError(with([](auto& j) { j.erase("name"); }), "'name' must be a non-empty string");
  ExpectError(with([](auto& j) { j["colour"] = 1; }), "unknown key 'colour'");
  ExpectError(with([](auto& j) { j["models"] = nlohmann::json::array(); }),
              "'models' must be a non-empty list");
  ExpectError(with([](auto& j) { j["models"].push_back(j["models"][0]); }),
              "duplicate model label 'm'");
  ExpectError(with([](auto& j) {
                j.erase("ruler");
                j.erase("babilong");
              }),
              "at least one benchmark");
  ExpectError(with([](auto& j) { j["ruler"]["lengths"] = {"4q"}; }), "'4q' is not a length");
  ExpectError(with([](auto& j) { j["ruler"].erase("tasks"); }), "needs 'tasks' and 'lengths'");
  ExpectError(with([](auto& j) { j["samples"] = 0; }), "'samples' must be a positive integer");
  ExpectError(with([](auto& j) { j["attention"][0]["mode"] = "sparse"; }),
              "unknown attention mode 'sparse'");
  ExpectError(with([](auto& j) { j["attention"][0]["hosts"] = 2; }),
              "dense attention runs on one host");
  ExpectError(with([](auto& j) { j["attention"][1].erase("block"); }), "star needs 'block'");
  ExpectError(with([](auto& j) { j["attention"][1]["block"] = "L/0"; }),
              "block (L/k): 0 must be positive");
  ExpectError(with([](auto& j) { j["attention"][1]["block"] = "L/99999999999999999999"; }),
              "block (L/k): 99999999999999999999 is out of range");
  ExpectError(with([](auto& j) { j["attention"][1]["block"] = 18446744073709551615u; }),
              "18446744073709551615 is out of range");
  ExpectError(with([](auto& j) { j["ruler"]["lengths"] = {"9999999999999999k"}; }),
              "9999999999999999k is out of range");
  ExpectError(with([](auto& j) { j["ruler"]["lengths"] = {4096.5}; }), "4096.5 is not a length");
  // Labels name directories of the results tree: one component each.
  ExpectError(with([](auto& j) { j["models"][0]["label"] = ".."; }),
              "models[0].'label' must name one directory (no '/', not '.' or '..'), got '..'");
  ExpectError(with([](auto& j) { j["attention"][0]["label"] = "a/b"; }), "must name one directory");
  ExpectError(with([](auto& j) { j["name"] = "."; }), "'name' must name one directory");
  ExpectError(with([](auto& j) { j["attention"][1]["block"] = "half"; }),
              "expected a token count or \"L/k\"");
  ExpectError(with([](auto& j) { j["attention"][2]["block"] = 64; }), "apply to star only");
  ExpectError(with([](auto& j) { j["attention"][1]["label"] = "dense"; }),
              "duplicate attention label 'dense'");
  ExpectError(with([](auto& j) { j["attention"][1]["anchor_source"] = "middle"; }),
              "unknown anchor source");
  ExpectError(with([](auto& j) { j["attention"][1]["hosts"] = 0; }),
              "hosts must be a positive integer");
  ExpectError(
      with([](auto& j) { j["babilong"]["wordlists"] = "w"; }),
      "babilong: unknown key 'wordlists' (tasks, lengths, profile, data: babi, books; "
      "profile settings: prompts, subset, sizing, match, sample_order, tokens_to_generate)");
  ExpectError(with([](auto& j) { j["ruler"]["books"] = 3; }), "ruler.books must be a path string");
}

TEST(SweepConfigTest, SparseModes) {
  nlohmann::json j = Valid();
  j["attention"] = nlohmann::json::parse(R"([
    {"label": "stream", "mode": "streaming", "sink": 64, "local": 256},
    {"label": "stream-blocks", "mode": "streaming", "sink": 1, "local": 3, "unit": "blocks"},
    {"label": "bs", "mode": "block-sparse", "density": 0.25, "sparse_block": 64},
    {"label": "topk", "mode": "topk-kv", "topk_fraction": 0.25, "recency": 128}
  ])");
  const SweepConfig c = ParseSweepConfigJson(j, "cfg.json");
  const DistConfig stream = c.attention[0].At(4096);
  EXPECT_EQ(stream.mode, AttnMode::kStreaming);
  ASSERT_NE(stream.sparse, nullptr);
  EXPECT_EQ(stream.sparse->sink, 64);
  EXPECT_EQ(stream.sparse->local, 256);
  EXPECT_FALSE(stream.sparse->streaming_in_blocks);
  EXPECT_TRUE(c.attention[1].At(4096).sparse->streaming_in_blocks);
  const DistConfig bs = c.attention[2].At(8192);
  EXPECT_DOUBLE_EQ(bs.sparse->density, 0.25);
  EXPECT_EQ(bs.sparse->block, 64);
  const DistConfig topk = c.attention[3].At(4096);
  EXPECT_EQ(topk.mode, AttnMode::kTopkKv);
  EXPECT_DOUBLE_EQ(topk.topk_fraction, 0.25);
  EXPECT_EQ(topk.topk_recency, 128);
  EXPECT_EQ(topk.topk_sink, 64);  // the default
  EXPECT_EQ(topk.sparse, nullptr);

  auto with = [](const std::string& entry) {
    nlohmann::json j = Valid();
    j["attention"] = nlohmann::json::array({nlohmann::json::parse(entry)});
    return j;
  };
  ExpectError(with(R"({"label": "s", "mode": "streaming", "sink": 0, "local": 0})"),
              "attention[0]: streaming needs --sink >= 0, --local >= 0 and --sink + --local > 0, "
              "got 0 + 0");
  ExpectError(with(R"({"label": "s", "mode": "streaming", "sink": 4})"),
              "streaming needs sink and local");
  ExpectError(with(R"({"label": "s", "mode": "streaming", "sink": "4", "local": 1})"),
              "attention[0].sink must be an integer");
  ExpectError(with(R"({"label": "b", "mode": "block-sparse", "density": 0})"),
              "--density must be in (0, 1], got 0");
  ExpectError(with(R"({"label": "b", "mode": "block-sparse", "density": 1.5})"), "got 1.5");
  ExpectError(with(R"({"label": "b", "mode": "block-sparse"})"), "block-sparse needs density");
  ExpectError(with(R"({"label": "b", "mode": "block-sparse", "density": 0.5, "sink": 3})"),
              "sink applies to attention streaming only");
  ExpectError(with(R"({"label": "t", "mode": "topk-kv"})"), "topk-kv needs one of topk");
  ExpectError(with(R"({"label": "t", "mode": "topk-kv", "topk_fraction": 0})"),
              "topk-kv needs one of topk");
  ExpectError(with(R"({"label": "t", "mode": "topk-kv", "topk_fraction": 2})"),
              "topk_fraction must be in (0, 1], got 2");
  ExpectError(with(R"({"label": "t", "mode": "topk-kv", "topk": 4, "density": 0.5})"),
              "density applies to attention block-sparse only");
  ExpectError(with(R"({"label": "d", "mode": "dense", "topk": 4})"),
              "topk applies to attention topk-kv only");
  ExpectError(with(R"({"label": "s", "mode": "streaming", "mask_file": "no-such-mask.json"})"),
              "no-such-mask.json");
  ExpectError(with(R"({"label": "s", "mode": "streaming", "window": 3})"), "unknown key 'window'");
}

// A mask file named by a sweep config is found beside the config.
TEST(SweepConfigTest, MaskFilesAreRelativeToTheConfig) {
  const std::string tasks = std::string(STARATTN_SOURCE_DIR) + "/tasks";
  const SweepConfig c = ParseSweepConfig(tasks + "/sparse-smollm2.json");
  bool found = false;
  for (const SweepAttention& a : c.attention) {
    const DistConfig d = a.At(4096);
    if (d.sparse != nullptr && d.sparse->source != "flags") {
      found = true;
      EXPECT_EQ(d.sparse->source, tasks + "/masks/smollm2-half-dense-streaming.json");
      EXPECT_EQ(d.sparse->head_types.size(), 30u);
    }
  }
  EXPECT_TRUE(found);
}

// Profiles: an unknown profile, a profile of the other benchmark, a setting of the other
// benchmark, a bad value, the reference profile without its prompts file.
TEST(SweepConfigTest, ProfileErrors) {
  auto with = [](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = Valid();
    edit(j);
    return j;
  };
  ExpectError(with([](auto& j) { j["babilong"]["profile"] = "paper"; }),
              "babilong: unknown BABILong profile 'paper' (BABILong profiles: project, reference)");
  ExpectError(with([](auto& j) { j["ruler"]["profile"] = "reference"; }),
              "ruler: profile 'reference' is a BABILong profile, not a RULER one (RULER profiles: "
              "ruler, star-attention)");
  ExpectError(with([](auto& j) { j["babilong"]["profile"] = "star-attention"; }),
              "babilong: profile 'star-attention' is a RULER profile, not a BABILong one");
  ExpectError(with([](auto& j) { j["ruler"]["match"] = "word"; }), "ruler: unknown key 'match'");
  ExpectError(with([](auto& j) { j["babilong"]["match"] = "fuzzy"; }),
              "babilong: match: unknown match mode 'fuzzy'");
  ExpectError(with([](auto& j) {
                j["ruler"]["tokens_to_generate"] = {{"fwe", 0}};
              }),
              "ruler: tokens_to_generate.fwe: expected a positive integer, got 0");
  ExpectError(with([](auto& j) {
                j["ruler"]["tokens_to_generate"] = {{"fwx", 9}};
              }),
              "'fwx' is not a RULER task");
  ExpectError(with([](auto& j) { j["babilong"]["profile"] = "reference"; }),
              "babilong: profile reference needs a prompts file: set 'prompts'");
  ExpectError(with([](auto& j) { j["babilong"]["profile"] = 3; }),
              "babilong.profile must be a non-empty string");
}

TEST(SweepConfigTest, ProfilesAndSettings) {
  nlohmann::json j = Valid();
  j["ruler"]["profile"] = "star-attention";
  j["ruler"]["tokens_to_generate"] = {{"fwe", 50}};
  j["babilong"]["profile"] = "reference";
  j["babilong"]["prompts"] = "p.json";
  j["babilong"]["match"] = "word";
  const SweepConfig c = ParseSweepConfigJson(j, "cfg.json");
  EXPECT_EQ(c.benchmarks[0].profile, "star-attention");
  EXPECT_EQ(c.benchmarks[0].settings, nlohmann::json({{"tokens_to_generate", {{"fwe", 50}}}}));
  EXPECT_EQ(c.benchmarks[1].profile, "reference");
  EXPECT_EQ(c.benchmarks[1].settings, nlohmann::json({{"prompts", "p.json"}, {"match", "word"}}));
  // Without "profile", each benchmark gets its default.
  const SweepConfig d = ParseSweepConfigJson(Valid(), "cfg.json");
  EXPECT_EQ(d.benchmarks[0].profile, "ruler");
  EXPECT_EQ(d.benchmarks[1].profile, "project");
  EXPECT_TRUE(d.benchmarks[1].settings.empty());
}

TEST(SweepConfigTest, ShippedConfigsParse) {
  for (const char* name : {"demo", "ruler-smollm2", "babilong-smollm2", "paper-llama3.1-8b",
                           "babilong-profiles-smollm2-project",
                           "babilong-profiles-smollm2-reference", "sparse-smollm2"}) {
    EXPECT_NO_THROW(ParseSweepConfig(std::string(STARATTN_SOURCE_DIR) + "/tasks/" + name + ".json"))
        << name;
  }
}

// --samples N keeps the samples whose index is below N, in their order; a sample without an
// integer index cannot be selected.
TEST(SweepConfigTest, FirstSamplesSelectsByIndex) {
  std::vector<RunInput> in;
  for (const auto& [task, index] : std::vector<std::pair<std::string, int>>{
           {"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}, {"b", 1}, {"b", 2}}) {
    in.push_back({{{"task", task}, {"index", index}}, task + "/" + std::to_string(index)});
  }
  auto keys = [](const std::vector<RunInput>& v) {
    std::vector<std::string> k;
    for (const RunInput& r : v) k.push_back(r.key);
    return k;
  };
  EXPECT_EQ(keys(FirstSamples(in, 2)), (std::vector<std::string>{"a/0", "a/1", "b/0", "b/1"}));
  EXPECT_EQ(keys(FirstSamples(in, -1)), keys(in));
  EXPECT_TRUE(FirstSamples(in, 0).empty());
  in.push_back({{{"task", "c"}, {"index", "3"}}, "c/\"3\""});
  EXPECT_THAT([&] { FirstSamples(in, 2); },
              testing::ThrowsOneLineErrorAt("sample 'c/\"3\"'", "has no integer index"));
}

}  // namespace
}  // namespace starattn::cli
