// Mask files and flag specs of the sparse modes: what they parse to, the patterns each layer's
// heads get, and one-line errors naming the file, the field, the expected and the actual value.
#include "engine/model/sparse_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "engine/common/testing.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;
using testing::ThrowsOneLineError;

class SparseSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("starattn_sparse_spec_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const std::string path = (dir_ / ("mask" + std::to_string(n_++) + ".json")).string();
    std::ofstream(path) << text;
    return path;
  }
  // A model of 2 layers, 4 query heads over 2 KV heads.
  static ModelConfig Model() {
    ModelConfig c;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    c.d_model = 32;
    return c;
  }
  fs::path dir_;
  int n_ = 0;
};

TEST_F(SparseSpecTest, AMixedFileGivesEachHeadItsPattern) {
  // GQA: heads 0 and 1 share KV head 0 with different types.
  const std::string path = Write(R"({
    "block_size": 2,
    "head_mask_type": [0, -1, 1, -2],
    "streaming": {"sink": 1, "local": 3, "unit": "blocks"},
    "base_masks": [[[1, 0, 0], [1, 1, 0], [0, 1, 1]]],
    "density": 0.5,
    "description": "test"
  })");
  const auto spec = LoadSparseSpec(path);
  spec->Validate(Model(), 6);
  std::vector<HeadPattern> p(4);
  for (int64_t layer = 0; layer < 2; ++layer) {
    const SparseMask m = spec->LayerMask(layer, &p);
    EXPECT_EQ(m.block, 2);
    EXPECT_EQ(p[0].kind, HeadPatternKind::kDense);
    EXPECT_EQ(p[1].kind, HeadPatternKind::kStreamingBlocks);
    EXPECT_EQ(p[1].sink, 1);
    EXPECT_EQ(p[1].local, 3);
    EXPECT_EQ(p[2].kind, HeadPatternKind::kBlockSparse);
    EXPECT_EQ(p[2].mask_rows, 3);
    EXPECT_EQ(p[2].mask_cols, 3);
    EXPECT_EQ(p[2].mask[3], 1);  // row 1, column 0
    EXPECT_EQ(p[2].mask[2], 0);
    EXPECT_EQ(p[3].kind, HeadPatternKind::kBlockEstimated);
    EXPECT_DOUBLE_EQ(p[3].density, 0.5);
  }
}

TEST_F(SparseSpecTest, PerLayerRows) {
  const auto spec = LoadSparseSpec(Write(R"({
    "block_size": 128, "head_mask_type": [[0, 0, -1, -1], [-1, -1, 0, 0]],
    "streaming": {"sink": 64, "local": 256}})"));
  spec->Validate(Model(), 8192);
  std::vector<HeadPattern> p(4);
  spec->LayerMask(1, &p);
  EXPECT_EQ(p[0].kind, HeadPatternKind::kStreamingTokens);
  EXPECT_EQ(p[2].kind, HeadPatternKind::kDense);
  // One per-layer row is not "every layer": a 2-layer model rejects it.
  const auto one =
      LoadSparseSpec(Write(R"({"block_size": 128, "head_mask_type": [[0, 0, 0, 0]]})"));
  EXPECT_THAT([&] { one->Validate(Model(), 100); },
              ThrowsOneLineError("'head_mask_type' has 1 layers, the model 2"));
}

TEST_F(SparseSpecTest, FlagSpecsCoverEveryHead) {
  std::vector<HeadPattern> p(4);
  StreamingSpec(64, 256, false, 128)->LayerMask(0, &p);
  for (const auto& h : p) EXPECT_EQ(h.kind, HeadPatternKind::kStreamingTokens);
  EstimatedSpec(0.25, 128)->LayerMask(1, &p);
  for (const auto& h : p) {
    EXPECT_EQ(h.kind, HeadPatternKind::kBlockEstimated);
    EXPECT_DOUBLE_EQ(h.density, 0.25);
  }
  EXPECT_THAT([] { StreamingSpec(0, 0, false, 128); }, ThrowsOneLineError("--sink + --local > 0"));
  EXPECT_THAT([] { StreamingSpec(-1, 4, false, 128); }, ThrowsOneLineError("--sink >= 0"));
  EXPECT_THAT([] { EstimatedSpec(0, 128); },
              ThrowsOneLineError("--density must be in (0, 1], got 0"));
  EXPECT_THAT([] { EstimatedSpec(1.5, 128); }, ThrowsOneLineError("got 1.5"));
  EXPECT_THAT([] { EstimatedSpec(0.5, 0); }, ThrowsOneLineError("--sparse-block must be positive"));
}

TEST_F(SparseSpecTest, FilesThatDoNotFitTheModelOrLength) {
  const std::string heads = Write(R"({"block_size": 128, "head_mask_type": [0, 0, 0]})");
  EXPECT_THAT([&] { LoadSparseSpec(heads)->Validate(Model(), 100); },
              ThrowsOneLineError(heads, "'head_mask_type' has 3 heads, the model 4"));
  const std::string layers =
      Write(R"({"block_size": 128, "head_mask_type": [[0,0,0,0],[0,0,0,0],[0,0,0,0]]})");
  EXPECT_THAT([&] { LoadSparseSpec(layers)->Validate(Model(), 100); },
              ThrowsOneLineError(layers, "has 3 layers, the model 2"));
  // A base mask of 2 x 2 blocks of 4 tokens covers 8 tokens, not 9.
  const std::string small = Write(R"({"block_size": 4, "head_mask_type": [1, 1, 0, 0],
                                      "base_masks": [[[1, 0], [1, 1]]]})");
  LoadSparseSpec(small)->Validate(Model(), 8);
  EXPECT_THAT(
      [&] { LoadSparseSpec(small)->Validate(Model(), 9); },
      ThrowsOneLineError(small, "base mask 1 is 2 x 2 blocks, the 9-token sequence needs 3 x 3",
                         "block size 4"));
}

TEST_F(SparseSpecTest, MalformedFiles) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1, 2]", "a mask file is a JSON object"},
      {"{", "not a JSON mask file"},
      {R"({"head_mask_type": [0]})", "missing field 'block_size'"},
      {R"({"block_size": 0, "head_mask_type": [0]})",
       "'block_size' must be a positive integer, got 0"},
      {R"({"block_size": 128})", "missing field 'head_mask_type'"},
      {R"({"block_size": 128, "head_mask_type": []})", "'head_mask_type' must be a non-empty list"},
      {R"({"block_size": 128, "head_mask_type": [0, -3]})", "integers in [-2, 2^20], got -3"},
      {R"({"block_size": 128, "head_mask_type": [0, "x"]})", "got \"x\""},
      {R"({"block_size": 128, "head_mask_type": [0, 2], "base_masks": [[[1]]]})",
       "head type 2 names base mask 2, but 'base_masks' has 1"},
      {R"({"block_size": 128, "head_mask_type": [1]})", "missing field 'base_masks'"},
      {R"({"block_size": 128, "head_mask_type": [1], "base_masks": [[[1, 0], [1]]]})",
       "base mask 1 row 1 has 1 entries, expected 2"},
      {R"({"block_size": 128, "head_mask_type": [1], "base_masks": [[[1, 2]]]})",
       "base mask 1 row 0 entries must be 0 or 1, got 2"},
      {R"({"block_size": 128, "head_mask_type": [-1]})", "missing field 'streaming'"},
      {R"({"block_size": 128, "head_mask_type": [-1], "streaming": {"sink": 0, "local": 0}})",
       "sink + local > 0, got 0 + 0"},
      {R"({"block_size": 128, "head_mask_type": [-1], "streaming": {"sink": "a", "local": 0}})",
       "'streaming.sink' must be an integer >= 0, got \"a\""},
      {R"({"block_size": 128, "head_mask_type": [-1], "streaming": {"sink": 1, "local": 1, "unit": "rows"}})",
       "'streaming.unit' must be tokens or blocks, got 'rows'"},
      {R"({"block_size": 128, "head_mask_type": [-2]})", "missing field 'density'"},
      {R"({"block_size": 128, "head_mask_type": [-2], "density": 0})",
       "'density' must be in (0, 1], got 0"},
      {R"({"block_size": 128, "head_mask_type": [-2], "density": 1.01})", "got 1.01"},
      {R"({"block_size": 128, "head_mask_type": [0], "base_mask": []})", "unknown key 'base_mask'"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string path = Write(text);
    EXPECT_THAT([&] { LoadSparseSpec(path); }, ThrowsOneLineError(path, needle)) << text;
  }
  EXPECT_THAT([&] { LoadSparseSpec((dir_ / "missing.json").string()); },
              ThrowsOneLineError("missing.json"));
}

}  // namespace
}  // namespace starattn
