// The model against independent references: llama.cpp's logits on the default model, and the
// same tiny random model loaded from GGUF and from safetensors.
#include "engine/model/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "engine/common/mapped_file.h"
#include "engine/common/parse.h"
#include "engine/common/testing.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/gemm.h"
#include "engine/model/generate.h"
#include "engine/model/model_testing.h"

namespace starattn {
namespace {

using testing::FixturePath;

std::vector<int32_t> Iota(int64_t from, int64_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), static_cast<int32_t>(from));
  return v;
}

// All logits of a prompt: [n, vocab].
std::vector<float> AllLogits(const Model& m, const std::vector<int32_t>& ids) {
  testing::CpuHost h(m);
  KvCache cache(*h.be, static_cast<int64_t>(ids.size()));
  return h.t.Forward(ids, Iota(0, ids.size()), cache, LogitsFor::kAll);
}

const Model& DefaultModel() {
  static std::unique_ptr<Model> model = [] {
    const std::string path = testing::DefaultModelPath();
    return path.empty() ? nullptr : Model::Load(path);
  }();
  return *model;
}

struct GoldenStats {
  int64_t positions = 0;
  int64_t top1_mismatch = 0;        // our argmax != reference top-1
  int64_t top1_mismatch_clear = 0;  // ... where the reference margin exceeds the tolerance
  double max_abs_diff = 0;          // over the reference's top-k entries
  double sum_abs_diff = 0;
};

// Compares against one llama.cpp fixture. A top-1 disagreement is allowed only where the
// reference's own top-2 margin is within `tie_margin` (a tie at this precision).
GoldenStats CompareGolden(const std::string& fixture, double tie_margin) {
  const nlohmann::json j = nlohmann::json::parse(ReadFileToString(FixturePath(fixture)));
  const Model& m = DefaultModel();
  const int64_t vocab = m.config().vocab_size;
  GoldenStats s;
  for (const auto& p : j["prompts"]) {
    const auto ids = p["ids"].get<std::vector<int32_t>>();
    const auto logits = AllLogits(m, ids);
    const auto& top = p["top"];
    EXPECT_EQ(top.size(), ids.size());
    for (size_t t = 0; t < ids.size(); ++t) {
      const float* row = logits.data() + t * vocab;
      const int32_t ours = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
      const int32_t ref_top1 = top[t][0][0].get<int32_t>();
      const double margin = top[t][0][1].get<double>() - top[t][1][1].get<double>();
      for (const auto& entry : top[t]) {
        const double d = std::abs(row[entry[0].get<int32_t>()] - entry[1].get<double>());
        s.max_abs_diff = std::max(s.max_abs_diff, d);
        s.sum_abs_diff += d;
      }
      ++s.positions;
      if (ours != ref_top1) {
        ++s.top1_mismatch;
        if (margin > tie_margin) {
          ++s.top1_mismatch_clear;
          ADD_FAILURE() << p["name"].get<std::string>() << " position " << t << ": ours " << ours
                        << " (" << row[ours] << "), llama.cpp " << ref_top1 << " (" << top[t][0][1]
                        << "), reference margin " << margin;
        }
      }
    }
  }
  std::printf(
      "%s: %lld positions, top-1 mismatches %lld (all within the tie margin %.3f: %s), "
      "max |dlogit| %.5f, mean |dlogit| %.6f\n",
      fixture.c_str(), static_cast<long long>(s.positions), static_cast<long long>(s.top1_mismatch),
      tie_margin, s.top1_mismatch_clear == 0 ? "yes" : "no", s.max_abs_diff,
      s.sum_abs_diff / (s.positions * j["top_k"].get<double>()));
  return s;
}

TEST(GoldenLogitsTest, MatchesLlamaCppOnSameF32Weights) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  // Same fp32 weights and an fp32 KV cache on both sides: the differences are summation order
  // and llama.cpp's fp32 RoPE angle recurrence. Measured: max 0.0008 on logits of magnitude
  // 10-30; the bound leaves 6x room. Top-1 must agree everywhere except exact ties.
  constexpr double kMaxAbsDiff = 0.005;
  const GoldenStats s = CompareGolden("logits/smollm2_f32.json", kMaxAbsDiff * 2);
  EXPECT_GE(s.positions, 10000);
  EXPECT_LE(s.max_abs_diff, kMaxAbsDiff);
  EXPECT_EQ(s.top1_mismatch_clear, 0);
}

TEST(GoldenLogitsTest, MatchesLlamaCppOnQ4_1) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  // llama.cpp quantizes activations to Q8_1 (8 bits per value, one scale per 32) before every
  // Q4_1 matmul; we multiply the dequantized weights by fp32 activations. That rounding, through
  // 30 layers, moves logits by 0.16 on average (measured) and by up to ~2 at a few of the
  // ~13K positions. So: the mean stays small, the worst entry bounded, and top-1 may differ only
  // where the reference's own top-2 margin is under kTieMargin (a tie at this precision).
  constexpr double kMaxAbsDiff = 3.0;
  constexpr double kMeanAbsDiff = 0.25;
  constexpr double kTieMargin = 1.0;
  const GoldenStats s = CompareGolden("logits/smollm2_q4_1.json", kTieMargin);
  EXPECT_LE(s.max_abs_diff, kMaxAbsDiff);
  EXPECT_LE(s.sum_abs_diff / (4.0 * s.positions), kMeanAbsDiff);
  EXPECT_LE(s.top1_mismatch, s.positions / 100) << "top-1 agreement below 99%";
}

TEST(DefaultModelTest, AnswersParis) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  const Model& m = DefaultModel();
  const std::string prompt =
      RenderChat(m.chat_template(), {{"user", "What is the capital of France?"}}, true,
                 m.default_system_prompt());
  const auto ids = m.tokenizer().Encode(prompt, m.tokenizer().add_bos_default(), true);
  GenerateOptions opts;
  opts.max_new_tokens = 32;
  testing::CpuHost h(m);
  const GenerateResult r = GenerateGreedy(h.t, &m.tokenizer(), ids, opts);
  std::printf("answer: %s\n", r.text.c_str());
  EXPECT_NE(r.text.find("Paris"), std::string::npos) << r.text;
  EXPECT_EQ(r.stop_reason, "eog");
}

TEST(DefaultModelTest, IncrementalDecodeEqualsOneShotPrefill) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  const Model& m = DefaultModel();
  testing::Rng rng(42);
  SCOPED_TRACE(testing::SeedTrace(42));
  std::vector<int32_t> ids(70);
  for (auto& id : ids) id = static_cast<int32_t>(rng.NextU64() % m.config().vocab_size);
  const auto full = AllLogits(m, ids);
  // Prefill 50 in chunks of 17, then one token at a time.
  testing::CpuHost h(m);
  KvCache cache(*h.be, 70);
  std::vector<float> step;
  for (int64_t i = 0; i < 70;) {
    const int64_t n = i < 50 ? std::min<int64_t>(17, 50 - i) : 1;
    std::vector<int32_t> chunk(ids.begin() + i, ids.begin() + i + n);
    step = h.t.Forward(chunk, Iota(i, n), cache, LogitsFor::kLast);
    const int64_t vocab = m.config().vocab_size;
    testing::AllClose(step.data(), full.data() + (i + n - 1) * vocab, vocab, testing::kFp32Model,
                      "logits at " + std::to_string(i + n - 1));
    i += n;
  }
  EXPECT_EQ(cache.size(), 70);
}

// The bf16 path (bf16 operands of the prefill GEMMs and attention, bf16 K/V) against the fp32 path
// on the golden prompts (20 prompts, 12,907 positions): the fidelity gate of the default
// precision. Top-1 agreement >= 99%; the largest logit difference is printed. Run a second time
// by CTest with AVX512-BF16 forced off (STARATTN_NO_AVX512BF16=1, ONEDNN_MAX_CPU_ISA=AVX512_CORE):
// the fallback must pass the same gate, on the even-numbered 10 prompts (STARATTN_PROMPT_STRIDE=2,
// 5,937 positions: the emulated path took 175 s of CI's time on all 20; all 20 passed on
// 2026-12-06).
TEST(PrecisionTest, Bf16AgreesWithF32OnGoldenPrompts) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  const char* stride_env = std::getenv("STARATTN_PROMPT_STRIDE");
  const int64_t stride =
      stride_env == nullptr ? 1 : ParseInt(stride_env, "STARATTN_PROMPT_STRIDE", 1);
  const Model& m = DefaultModel();
  const nlohmann::json j =
      nlohmann::json::parse(ReadFileToString(FixturePath("logits/smollm2_f32.json")));
  testing::CpuHost f32(m);
  const auto bf16_dm = cpu::NewCpuDeviceModel(m, cpu::Compute::kBf16, DType::kBf16);
  const auto bf16_be = bf16_dm->NewHost(1);
  Transformer bf16(*bf16_be);
  const int64_t vocab = m.config().vocab_size;
  int64_t positions = 0, agree = 0;
  double max_diff = 0, sum_diff = 0;
  for (size_t k = 0; k < j["prompts"].size(); k += static_cast<size_t>(stride)) {
    const auto ids = j["prompts"][k]["ids"].get<std::vector<int32_t>>();
    const int64_t n = static_cast<int64_t>(ids.size());
    KvCache c32(*f32.be, n), c16(*bf16_be, n);
    const auto want = f32.t.Forward(ids, Iota(0, n), c32, LogitsFor::kAll);
    const auto got = bf16.Forward(ids, Iota(0, n), c16, LogitsFor::kAll);
    for (int64_t t = 0; t < n; ++t) {
      const std::span<const float> a(got.data() + t * vocab, vocab),
          b(want.data() + t * vocab, vocab);
      agree += ArgmaxHost(a) == ArgmaxHost(b);
      for (int64_t i = 0; i < vocab; ++i) {
        const double d = std::abs(double(a[i]) - b[i]);
        max_diff = std::max(max_diff, d);
        sum_diff += d;
      }
      ++positions;
    }
  }
  std::printf(
      "bf16 vs f32 (%s; bf16 attention kernels %s; oneDNN %s): %lld positions, top-1 "
      "agreement %.3f%% (%lld differ), max |dlogit| %.4f, mean |dlogit| %.5f\n",
      bf16_dm->precision().c_str(), cpu::HaveAvx512Bf16() ? "AVX512-BF16" : "fallback",
      cpu::GemmImplementation(512, 576, 576, cpu::Compute::kBf16).c_str(),
      static_cast<long long>(positions), 100.0 * agree / positions,
      static_cast<long long>(positions - agree), max_diff, sum_diff / (double(positions) * vocab));
  EXPECT_GE(positions, stride == 1 ? 10000 : 5000);
  EXPECT_GE(agree, positions * 99 / 100) << "top-1 agreement below 99%";
}

class TinyModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyModelTest, GgufAndSafetensorsGiveTheSameLogits) {
  const std::string dir = FixturePath("tiny/" + GetParam());
  auto gguf = Model::Load(dir + "/model.gguf");
  auto hf = Model::Load(dir + "/hf");
  ASSERT_EQ(gguf->config().vocab_size, hf->config().vocab_size);
  EXPECT_EQ(gguf->config().tied_embeddings, hf->config().tied_embeddings);
  EXPECT_EQ(gguf->config().rope_freq_factors.size(), hf->config().rope_freq_factors.size());
  for (size_t i = 0; i < gguf->config().rope_freq_factors.size(); ++i) {
    EXPECT_NEAR(gguf->config().rope_freq_factors[i], hf->config().rope_freq_factors[i], 1e-5);
  }
  testing::Rng rng(7);
  SCOPED_TRACE(testing::SeedTrace(7));
  std::vector<int32_t> ids(40);
  for (auto& id : ids) id = static_cast<int32_t>(rng.NextU64() % gguf->config().vocab_size);
  const auto a = AllLogits(*gguf, ids);
  const auto b = AllLogits(*hf, ids);
  // Identical fp32 weights; the two RoPE layouts rotate permuted copies of the same numbers, so
  // the only difference is summation order.
  testing::AllClose(a, b, testing::kFp32Model, "tiny " + GetParam());
  // Non-trivial outputs: logits vary across positions.
  double spread = 0;
  for (size_t i = 0; i < a.size(); ++i) spread = std::max(spread, std::abs(double(a[i]) - a[0]));
  EXPECT_GT(spread, 1e-3);
}

TEST_P(TinyModelTest, MatchesFloat64Reference) {
  // tools/make_tiny_models.py computed these logits with a float64 numpy forward pass of HF
  // semantics (checked against transformers to 3e-6).
  const std::string dir = FixturePath("tiny/" + GetParam());
  const nlohmann::json ref = nlohmann::json::parse(ReadFileToString(dir + "/reference.json"));
  const auto ids = ref["tokens"].get<std::vector<int32_t>>();
  const std::string raw = ReadFileToString(dir + "/" + ref["logits_file"].get<std::string>());
  std::vector<float> want(raw.size() / sizeof(float));
  std::memcpy(want.data(), raw.data(), raw.size());
  for (const char* form : {"/model.gguf", "/hf"}) {
    auto m = Model::Load(dir + form);
    ASSERT_EQ(want.size(), ids.size() * m->config().vocab_size);
    testing::AllClose(AllLogits(*m, ids), want, testing::kFp32Model, GetParam() + form);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, TinyModelTest,
                         ::testing::Values("llama-tied", "llama3-scaled", "qwen2"));

}  // namespace
}  // namespace starattn
