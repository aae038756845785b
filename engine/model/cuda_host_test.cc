// Host-side logic of the CUDA backend that needs no device: the token-level greedy loop of the
// device path (DecodeGreedyTokens) makes the same choices as DecodeGreedy (engine/model/
// generate.h) on the same argmaxes: stop tokens, stop strings, the token budget and agreement
// across hosts (label: model, for the default model's tokenizer).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "engine/common/testing.h"
#include "engine/model/cuda_model.h"
#include "engine/model/generate.h"

namespace starattn {
namespace {

const Model& DefaultModel() {
  static std::unique_ptr<Model> model = [] {
    const std::string path = testing::DefaultModelPath();
    return path.empty() ? nullptr : Model::Load(path);
  }();
  return *model;
}

// Runs both loops over a scripted sequence of chosen tokens (script[i] is the argmax after the
// i-th step; script[0] after the prompt) and checks that they agree on everything.
void ExpectSameChoices(const std::vector<int32_t>& script, int64_t vocab, const Tokenizer* tok,
                       const GenerateOptions& opts, int32_t agree_offset, const std::string& what) {
  SCOPED_TRACE(what);
  auto logits_for = [&](size_t i) {
    std::vector<float> l(vocab, 0.0f);
    l[script.at(i)] = 1.0f;
    return l;
  };
  // agree: what the query host would broadcast (here: a shifted token, to see it is used).
  auto agree = [&](int32_t t) { return static_cast<int32_t>((t + agree_offset) % vocab); };
  std::vector<std::pair<int32_t, int64_t>> steps_a, steps_b;
  const GenerateResult a =
      DecodeGreedy(logits_for(0), tok, opts, agree, [&](int32_t token, int64_t index) {
        steps_a.emplace_back(token, index);
        return logits_for(index + 1);
      });
  const GenerateResult b =
      DecodeGreedyTokens(script.at(0), tok, opts, agree, [&](int32_t token, int64_t index) {
        steps_b.emplace_back(token, index);
        return script.at(index + 1);
      });
  EXPECT_EQ(b.tokens, a.tokens);
  EXPECT_EQ(b.text, a.text);
  EXPECT_EQ(b.stop_reason, a.stop_reason);
  EXPECT_EQ(steps_b, steps_a);
}

TEST(CudaHostLogicTest, DecodeGreedyTokensMakesDecodeGreedysChoices) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  const Model& m = DefaultModel();
  const Tokenizer& tok = m.tokenizer();
  const int64_t vocab = m.config().vocab_size;
  std::vector<int32_t> text =
      tok.Encode(" Hello there, world. STOP and then more words", false, true);
  int32_t eog = -1;
  for (int32_t id = 0; id < vocab && eog < 0; ++id) {
    if (tok.IsEog(id)) eog = id;
  }
  ASSERT_GE(eog, 0) << "the default model has an end-of-generation token";
  text.push_back(eog);
  // Enough ordinary tokens after it for every budget below (64 steps).
  for (int32_t i = 0; i < 80; ++i) text.push_back(300 + i);

  GenerateOptions plain;
  plain.max_new_tokens = 6;
  ExpectSameChoices(text, vocab, nullptr, plain, 0, "no tokenizer, budget");
  ExpectSameChoices(text, vocab, &tok, plain, 0, "tokenizer, budget");
  GenerateOptions none;
  none.max_new_tokens = 0;
  ExpectSameChoices(text, vocab, &tok, none, 0, "no tokens to generate");
  GenerateOptions stop;
  stop.max_new_tokens = 64;
  stop.stop_strings = {"STOP", ""};
  ExpectSameChoices(text, vocab, &tok, stop, 0, "stop string");
  GenerateOptions eog_only;
  eog_only.max_new_tokens = 64;
  ExpectSameChoices(text, vocab, &tok, eog_only, 0, "end-of-generation token");
  eog_only.stop_at_eog = false;
  ExpectSameChoices(text, vocab, &tok, eog_only, 0, "end-of-generation ignored");
  ExpectSameChoices(text, vocab, &tok, plain, 1, "the agreed token is the one used");
}

}  // namespace
}  // namespace starattn
