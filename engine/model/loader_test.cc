// Malformed models give one-line errors that name the file and the problem.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"
#include "engine/model/model.h"
#include "engine/model/model_testing.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOfArray;
using testing::FixturePath;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ThrowsMessage;

class LoaderErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           ("starattn_loader_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }

  // A copy of the tiny llama GGUF with `from` replaced by `to` (same length) at its first
  // occurrence.
  std::string PatchedGguf(const std::string& from, const std::string& to) {
    EXPECT_EQ(from.size(), to.size());
    std::string bytes = ReadFileToString(FixturePath("tiny/llama-tied/model.gguf"));
    const size_t at = bytes.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    bytes.replace(at, from.size(), to);
    const std::string path = (tmp_ / "model.gguf").string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // A copy of the tiny llama HF directory with config.json edited by `edit`.
  std::string PatchedHf(const std::function<void(nlohmann::json&)>& edit) {
    const fs::path src = FixturePath("tiny/llama-tied/hf");
    const fs::path dst = tmp_ / "hf";
    fs::create_directories(dst);
    fs::copy_file(src / "model.safetensors", dst / "model.safetensors");
    nlohmann::json j = nlohmann::json::parse(ReadFileToString((src / "config.json").string()));
    edit(j);
    std::ofstream(dst / "config.json") << j.dump();
    return dst.string();
  }

  // Expects Model::Load to throw an Error whose single-line message contains each of `parts`.
  void ExpectLoadError(const std::string& path, const std::vector<std::string>& parts) {
    std::vector<::testing::Matcher<std::string>> want = {Not(HasSubstr("\n"))};
    for (const auto& p : parts) want.push_back(HasSubstr(p));
    EXPECT_THAT([&] { Model::Load(path); }, ThrowsMessage<Error>(AllOfArray(want))) << path;
  }

  fs::path tmp_;
};

TEST_F(LoaderErrorTest, MissingPath) {
  ExpectLoadError("/nonexistent/x.gguf", {"/nonexistent/x.gguf", "no such"});
}

TEST_F(LoaderErrorTest, DirectoryWithoutConfig) {
  ExpectLoadError(tmp_.string(), {tmp_.string(), "config.json"});
}

TEST_F(LoaderErrorTest, GgufUnsupportedArchitecture) {
  const std::string p = PatchedGguf(std::string("\x05\0\0\0\0\0\0\0llama", 13),
                                    std::string("\x05\0\0\0\0\0\0\0gpt2x", 13));
  ExpectLoadError(p, {p, "unsupported architecture 'gpt2x'"});
}

TEST_F(LoaderErrorTest, GgufMissingTensor) {
  const std::string p = PatchedGguf("blk.1.ffn_up.weight", "blk.1.ffn_up.weighx");
  ExpectLoadError(p, {p, "missing tensor 'blk.1.ffn_up.weight'"});
}

TEST_F(LoaderErrorTest, GgufMissingMetadata) {
  const std::string p = PatchedGguf("llama.feed_forward_length", "llama.feed_forward_lengtX");
  ExpectLoadError(p, {p, "feed_forward_length"});
}

TEST_F(LoaderErrorTest, GgufShapeMismatch) {
  // Tensor info: name, n_dims (u32) = 2, dims (u64) {64, 128}; make it {64, 96}.
  const std::string name = "blk.0.ffn_gate.weight";
  const std::string dims_from("\x02\0\0\0\x40\0\0\0\0\0\0\0\x80\0\0\0\0\0\0\0", 20);
  const std::string dims_to("\x02\0\0\0\x40\0\0\0\0\0\0\0\x60\0\0\0\0\0\0\0", 20);
  const std::string p = PatchedGguf(name + dims_from, name + dims_to);
  ExpectLoadError(p, {p, "'blk.0.ffn_gate.weight' has GGML dims [64, 96], expected [64, 128]"});
}

TEST_F(LoaderErrorTest, HfBadJson) {
  const fs::path dst = tmp_ / "hf";
  fs::create_directories(dst);
  std::ofstream(dst / "config.json") << "{\"model_type\": \"llama\", ";
  ExpectLoadError(dst.string(), {"config.json", "invalid JSON"});
}

TEST_F(LoaderErrorTest, HfUnsupportedModelType) {
  const std::string d = PatchedHf([](nlohmann::json& j) { j["model_type"] = "gemma"; });
  ExpectLoadError(d, {"config.json", "unsupported model_type 'gemma'"});
}

// Fields of the wrong type or range name the file and the field (fuzz finding F1: a numeric
// model_type escaped as a JSON library exception). Each edit is one class of bad config.json.
TEST_F(LoaderErrorTest, HfFieldsOfTheWrongTypeNameTheField) {
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](nlohmann::json& j) { j["model_type"] = 7; }, "'model_type' must be a string, got 7"},
      {[](nlohmann::json& j) { j["hidden_size"] = "64"; }, "'hidden_size'"},
      {[](nlohmann::json& j) { j["hidden_size"] = 64.5; }, "'hidden_size'"},
      {[](nlohmann::json& j) { j["num_hidden_layers"] = -2; }, "'num_hidden_layers'"},
      {[](nlohmann::json& j) { j["vocab_size"] = 18446744073709551615ull; }, "'vocab_size'"},
      {[](nlohmann::json& j) { j["rms_norm_eps"] = "tiny"; }, "'rms_norm_eps'"},
      {[](nlohmann::json& j) { j["tie_word_embeddings"] = 1; },
       "'tie_word_embeddings' must be true or false, got 1"},
      {[](nlohmann::json& j) { j["sliding_window"] = "all"; }, "'sliding_window'"},
      {[](nlohmann::json& j) { j["rope_scaling"] = 8; }, "'rope_scaling' must be an object"},
      {[](nlohmann::json& j) {
         j["rope_scaling"] = {{"rope_type", 3}};
       },
       "'rope_type'"},
      {[](nlohmann::json& j) {
         j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", "8"}};
       },
       "'factor'"},
      {[](nlohmann::json& j) {
         j["rope_scaling"] = {{"rope_type", "llama3"}, {"low_freq_factor", 4.0}};
       },
       "high_freq_factor (4) must exceed low_freq_factor (4)"},
      {[](nlohmann::json& j) {
         j = nlohmann::json::array({1, 2});
       },
       "expected a JSON object"},
  };
  for (const auto& [edit, want] : cases) {
    SCOPED_TRACE(want);
    const std::string d = PatchedHf(edit);
    ExpectLoadError(d, {"config.json", want});
    fs::remove_all(d);
  }
}

TEST_F(LoaderErrorTest, HfShapeMismatch) {
  const std::string d = PatchedHf([](nlohmann::json& j) { j["intermediate_size"] = 96; });
  ExpectLoadError(d, {"model.safetensors", "mlp.gate_proj.weight", "expected [96, 64]"});
}

TEST_F(LoaderErrorTest, HfInconsistentHeads) {
  const std::string d = PatchedHf([](nlohmann::json& j) { j["num_key_value_heads"] = 3; });
  ExpectLoadError(d, {"not a multiple of kv head count 3"});
}

TEST_F(LoaderErrorTest, HfSlidingWindowRejected) {
  const std::string d = PatchedHf([](nlohmann::json& j) {
    j["model_type"] = "mistral";
    j["sliding_window"] = 16;
  });
  ExpectLoadError(d, {"sliding-window"});
}

TEST_F(LoaderErrorTest, HfMissingTensor) {
  const std::string d = PatchedHf([](nlohmann::json& j) { j["tie_word_embeddings"] = false; });
  ExpectLoadError(d, {"missing tensor 'lm_head.weight'"});
}

TEST(ForwardErrorTest, TokenOutsideVocabularyAndFullCache) {
  auto m = Model::Load(FixturePath("tiny/llama-tied/model.gguf"));
  testing::CpuHost h(*m);
  KvCache cache(*h.be, 4);
  std::vector<int32_t> ids = {1, 256}, pos = {0, 1};
  EXPECT_THAT([&] { h.t.Forward(ids, pos, cache, LogitsFor::kLast); },
              ThrowsMessage<Error>(HasSubstr("token id 256 outside the vocabulary (size 256)")));
  std::vector<int32_t> many(5, 1), many_pos = {0, 1, 2, 3, 4};
  EXPECT_THAT([&] { h.t.Forward(many, many_pos, cache, LogitsFor::kLast); },
              ThrowsMessage<Error>(HasSubstr("KV cache full")));
}

}  // namespace
}  // namespace starattn
