#include "engine/model/model.h"

#include <algorithm>
#include <cmath>

#include "engine/common/error.h"
#include "engine/cpu/ops.h"

namespace starattn {

KvCache::KvCache(const ModelConfig& c, int64_t capacity)
    : capacity_(capacity),
      row_floats_(c.n_kv_heads * c.head_dim),
      head_dim_(c.head_dim),
      group_(c.n_heads / c.n_kv_heads) {
  k_.resize(c.n_layers);
  v_.resize(c.n_layers);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    k_[l].resize(capacity * row_floats_);
    v_[l].resize(capacity * row_floats_);
  }
}

void KvCache::Resize(int64_t n) {
  if (n < 0 || n > capacity_) Fail("KV cache: size {} outside capacity {}", n, capacity_);
  size_ = n;
}

int64_t KvCache::used_bytes() const {
  return 2 * static_cast<int64_t>(k_.size()) * size_ * row_floats_ * sizeof(float);
}
int64_t KvCache::reserved_bytes() const {
  return 2 * static_cast<int64_t>(k_.size()) * capacity_ * row_floats_ * sizeof(float);
}

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

int64_t Weights::int8_bytes() const {
  int64_t b = q_tok_embd.bytes() + q_output.bytes();
  for (const LayerWeights& L : layers) {
    for (const cpu::QMatrix* m : {&L.q_wq, &L.q_wk, &L.q_wv, &L.q_wo, &L.q_w_gate, &L.q_w_up,
                                  &L.q_w_down}) {
      b += m->bytes();
    }
  }
  return b;
}

void ValidateWeights(const ModelConfig& c, const Weights& w, const std::string& source) {
  // An int8 form, when present, has its fp32 matrix's shape.
  auto check_q = [&](const cpu::QMatrix& q, int64_t rows, int64_t cols, const std::string& name) {
    if (!q.empty() && (q.rows != rows || q.cols != cols)) {
      Fail("{}: int8 form of {} is [{}, {}], expected [{}, {}]", source, name, q.rows, q.cols, rows,
           cols);
    }
  };
  auto check = [&](const std::vector<float>& t, int64_t want, const std::string& name) {
    if (static_cast<int64_t>(t.size()) != want) {
      Fail("{}: tensor {} has {} elements, expected {}", source, name, t.size(), want);
    }
  };
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  check(w.tok_embd, c.vocab_size * c.d_model, "token embedding");
  check(w.out_norm, c.d_model, "output norm");
  if (!c.tied_embeddings) check(w.output, c.vocab_size * c.d_model, "output");
  check_q(w.q_tok_embd, c.vocab_size, c.d_model, "token embedding");
  check_q(w.q_output, c.vocab_size, c.d_model, "output");
  if (static_cast<int64_t>(w.layers.size()) != c.n_layers) {
    Fail("{}: {} layers of weights, expected {}", source, w.layers.size(), c.n_layers);
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    check(L.attn_norm, c.d_model, p + "attn_norm");
    check(L.wq, q_dim * c.d_model, p + "q");
    check(L.wk, kv_dim * c.d_model, p + "k");
    check(L.wv, kv_dim * c.d_model, p + "v");
    if (c.qkv_bias) {
      check(L.bq, q_dim, p + "q bias");
      check(L.bk, kv_dim, p + "k bias");
      check(L.bv, kv_dim, p + "v bias");
    }
    check(L.wo, c.d_model * q_dim, p + "attn_output");
    check(L.ffn_norm, c.d_model, p + "ffn_norm");
    check(L.w_gate, c.d_ff * c.d_model, p + "ffn_gate");
    check(L.w_up, c.d_ff * c.d_model, p + "ffn_up");
    check(L.w_down, c.d_model * c.d_ff, p + "ffn_down");
    check_q(L.q_wq, q_dim, c.d_model, p + "q");
    check_q(L.q_wk, kv_dim, c.d_model, p + "k");
    check_q(L.q_wv, kv_dim, c.d_model, p + "v");
    check_q(L.q_wo, c.d_model, q_dim, p + "attn_output");
    check_q(L.q_w_gate, c.d_ff, c.d_model, p + "ffn_gate");
    check_q(L.q_w_up, c.d_ff, c.d_model, p + "ffn_up");
    check_q(L.q_w_down, c.d_model, c.d_ff, p + "ffn_down");
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
  inv_freq_ = cpu::RopeInvFreq(config_.rope_dims, config_.rope_theta, config_.rope_freq_factors);
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

namespace {

// y = x * w^T + bias, from the int8 form for decode-sized batches when the weights have one.
//   x: [n, in]   w: [out, in]   y: [n, out]
void Linear(const float* x, int64_t n, const std::vector<float>& w, const cpu::QMatrix& qw,
            int64_t in, int64_t out, const float* bias, float* y) {
  if (!qw.empty() && n <= cpu::kQMatMulMaxRows) {
    cpu::QMatMul(x, n, qw, bias, y);
  } else {
    cpu::MatMul(x, n, in, w.data(), out, bias, y);
  }
}

}  // namespace

void Model::Logits(float* x, int64_t n, float* logits) const {
  const ModelConfig& c = config_;
  cpu::RmsNorm(x, weights_.out_norm.data(), n, c.d_model, c.rms_eps, x);
  Linear(x, n, weights_.lm_head(), weights_.q_lm_head(), c.d_model, c.vocab_size, nullptr, logits);
}

float Model::attention_scale() const {
  return 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
}

void CacheAttention::Attend(int64_t layer, int64_t n, const float* q, const float* k,
                            const float* v, float* out) {
  const int64_t past = cache_.size();
  const int64_t row = cache_.row_floats();
  if (past + n > cache_.capacity()) {
    Fail("forward: KV cache full ({} + {} tokens > capacity {})", past, n, cache_.capacity());
  }
  std::copy_n(k, n * row, cache_.k(layer) + past * row);
  std::copy_n(v, n * row, cache_.v(layer) + past * row);
  const int64_t n_kv_heads = row / cache_.head_dim();
  const cpu::AttentionShape shape{n, past + n, n_kv_heads * cache_.group(), n_kv_heads,
                                  cache_.head_dim()};
  cpu::Attention(q, cache_.k(layer), cache_.v(layer), shape, {true, past, 0}, scale_, out,
                 nullptr);
}


std::vector<float> Model::Forward(std::span<const int32_t> tokens,
                                  std::span<const int32_t> positions, KvCache& cache,
                                  LogitsFor which) const {
  if (cache.size() + static_cast<int64_t>(tokens.size()) > cache.capacity()) {
    Fail("forward: KV cache full ({} + {} tokens > capacity {})", cache.size(), tokens.size(),
         cache.capacity());
  }
  CacheAttention attn(cache, attention_scale());
  return Forward(tokens, positions, attn, which);
}

std::vector<float> Model::Forward(std::span<const int32_t> tokens,
                                  std::span<const int32_t> positions, LayerAttention& attention,
                                  LogitsFor which) const {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  CheckForwardInputs(c, tokens, positions);
  if (n == 0) return {};
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;

  std::vector<float> x(n * d);       // [n, d_model] residual stream
  std::vector<float> h(n * d);       // [n, d_model] normed input
  std::vector<float> q(n * q_dim);   // [n, n_heads, head_dim]
  std::vector<float> k(n * kv_dim);  // [n, n_kv_heads, head_dim]
  std::vector<float> v(n * kv_dim);
  std::vector<float> attn(n * q_dim);
  std::vector<float> gate(n * c.d_ff), up(n * c.d_ff);  // [n, d_ff]
  for (int64_t t = 0; t < n; ++t) {
    std::copy_n(weights_.tok_embd.data() + static_cast<int64_t>(tokens[t]) * d, d,
                x.data() + t * d);
  }
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = weights_.layers[l];
    cpu::RmsNorm(x.data(), L.attn_norm.data(), n, d, c.rms_eps, h.data());
    Linear(h.data(), n, L.wq, L.q_wq, d, q_dim, L.bq.empty() ? nullptr : L.bq.data(), q.data());
    Linear(h.data(), n, L.wk, L.q_wk, d, kv_dim, L.bk.empty() ? nullptr : L.bk.data(), k.data());
    Linear(h.data(), n, L.wv, L.q_wv, d, kv_dim, L.bv.empty() ? nullptr : L.bv.data(), v.data());
    cpu::Rope(q.data(), n, c.n_heads, c.head_dim, positions.data(), inv_freq_, c.rope_layout);
    cpu::Rope(k.data(), n, c.n_kv_heads, c.head_dim, positions.data(), inv_freq_, c.rope_layout);
    attention.Attend(l, n, q.data(), k.data(), v.data(), attn.data());
    Linear(attn.data(), n, L.wo, L.q_wo, q_dim, d, nullptr, h.data());
    cpu::AddInPlace(x.data(), h.data(), n * d);

    cpu::RmsNorm(x.data(), L.ffn_norm.data(), n, d, c.rms_eps, h.data());
    Linear(h.data(), n, L.w_gate, L.q_w_gate, d, c.d_ff, nullptr, gate.data());
    Linear(h.data(), n, L.w_up, L.q_w_up, d, c.d_ff, nullptr, up.data());
    cpu::SwiGlu(gate.data(), up.data(), n * c.d_ff, gate.data());
    Linear(gate.data(), n, L.w_down, L.q_w_down, c.d_ff, d, nullptr, h.data());
    cpu::AddInPlace(x.data(), h.data(), n * d);
  }
  attention.Finish(n);

  switch (which) {
    case LogitsFor::kNone:
      return {};
    case LogitsFor::kLast: {
      std::vector<float> logits(c.vocab_size);
      Logits(x.data() + (n - 1) * d, 1, logits.data());
      return logits;
    }
    case LogitsFor::kAll: {
      std::vector<float> logits(n * c.vocab_size);
      Logits(x.data(), n, logits.data());
      return logits;
    }
  }
  return {};
}

}  // namespace starattn
