#include "engine/model/model.h"

#include <algorithm>
#include <cmath>

#include "engine/common/error.h"
#include "engine/model/rope.h"

namespace starattn {

void CheckForwardInputs(const ModelConfig& c, std::span<const int32_t> tokens,
                        std::span<const int32_t> positions) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (positions.size() != tokens.size()) {
    Fail("forward: {} tokens but {} positions", n, positions.size());
  }
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab_size) {
      Fail("forward: token id {} outside the vocabulary (size {})", tokens[t], c.vocab_size);
    }
    if (positions[t] < 0 || positions[t] >= c.max_positions) {
      Fail("forward: position {} outside the model's context length {}", positions[t],
           c.max_positions);
    }
  }
}

void ValidateWeights(const ModelConfig& c, const Weights& w, const std::string& source) {
  auto check = [&](const std::vector<float>& t, int64_t want, const std::string& name) {
    if (static_cast<int64_t>(t.size()) != want) {
      Fail("{}: tensor {} has {} elements, expected {}", source, name, t.size(), want);
    }
  };
  auto check_m = [&](const WeightMatrix& m, int64_t rows, int64_t cols, const std::string& name) {
    if (m.rows() != rows || m.cols() != cols) {
      Fail("{}: tensor {} is [{}, {}], expected [{}, {}]", source, name, m.rows(), m.cols(), rows,
           cols);
    }
  };
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  check_m(w.tok_embd, c.vocab_size, c.d_model, "token embedding");
  check(w.out_norm, c.d_model, "output norm");
  if (!c.tied_embeddings) check_m(w.output, c.vocab_size, c.d_model, "output");
  if (static_cast<int64_t>(w.layers.size()) != c.n_layers) {
    Fail("{}: {} layers of weights, expected {}", source, w.layers.size(), c.n_layers);
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    check(L.attn_norm, c.d_model, p + "attn_norm");
    check_m(L.wq, q_dim, c.d_model, p + "q");
    check_m(L.wk, kv_dim, c.d_model, p + "k");
    check_m(L.wv, kv_dim, c.d_model, p + "v");
    if (c.qkv_bias) {
      check(L.bq, q_dim, p + "q bias");
      check(L.bk, kv_dim, p + "k bias");
      check(L.bv, kv_dim, p + "v bias");
    }
    check_m(L.wo, c.d_model, q_dim, p + "attn_output");
    check(L.ffn_norm, c.d_model, p + "ffn_norm");
    check_m(L.w_gate, c.d_ff, c.d_model, p + "ffn_gate");
    check_m(L.w_up, c.d_ff, c.d_model, p + "ffn_up");
    check_m(L.w_down, c.d_model, c.d_ff, p + "ffn_down");
  }
}

Model::Model(ModelConfig config, Weights weights, std::unique_ptr<Tokenizer> tokenizer,
             std::string source)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      tokenizer_(std::move(tokenizer)),
      source_(std::move(source)) {
  config_.Validate(source_);
  ValidateWeights(config_, weights_, source_);
  inv_freq_ = RopeInvFreq(config_.rope_dims, config_.rope_theta, config_.rope_freq_factors);
  for (float& f : inv_freq_) f /= config_.rope_linear_scale;
}

const Tokenizer& Model::tokenizer() const {
  if (tokenizer_ == nullptr) Fail("{}: the model has no tokenizer", source_);
  return *tokenizer_;
}

ChatTemplate Model::chat_template() const {
  return tokenizer_ ? DetectChatTemplate(tokenizer_->chat_template_source()) : ChatTemplate::kBase;
}

std::optional<std::string> Model::default_system_prompt() const {
  return tokenizer_ ? DefaultSystemPrompt(tokenizer_->chat_template_source()) : std::nullopt;
}

}  // namespace starattn
