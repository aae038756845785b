#include "engine/model/forward.h"

#include <chrono>
#include <cmath>

#include "engine/common/error.h"

namespace starattn {

float AttentionScale(const ModelConfig& c) {
  return 1.0f / std::sqrt(static_cast<float>(c.head_dim));
}

void Reserve(Backend& be, Buffer& buf, int64_t bytes, std::string_view what) {
  if (bytes > buf.bytes()) {
    buf.Release();  // before allocating the larger one: the peak is the new size, not the sum
    buf = be.Alloc(bytes, what);
  }
}

CacheAttention::CacheAttention(Backend& be, KvCache& cache)
    : be_(be), cache_(cache), scale_(AttentionScale(be.config())) {}

void CacheAttention::Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
                            void* out) {
  const ModelConfig& c = be_.config();
  const int64_t past = cache_.size();
  cache_.Write(layer, past, k, v, n);
  be_.Attention(q, cache_.k(layer), cache_.v(layer),
                {n, past + n, c.n_heads, c.n_kv_heads, c.head_dim}, {true, past, 0}, scale_, out,
                nullptr);
  CountScores(c.n_heads * CausalPairs(past, n));
  CountRead((past + n) * cache_.row_bytes() * 2);
}

void Transformer::ReserveFor(int64_t n, int64_t logit_rows) {
  const ModelConfig& c = config();
  if (n > cap_) {
    const int64_t cap = std::max<int64_t>(n, 16);
    const int64_t act = DTypeBytes(be_.act_dtype());
    const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
    const bool f32 = be_.act_dtype() == DType::kF32;
    auto alloc = [&](Buffer& b, int64_t bytes) {
      b.Release();
      b = be_.Alloc(bytes, "activations");
    };
    alloc(tok_, cap * 4);
    alloc(pos_, cap * 4);
    alloc(x_, cap * c.d_model * 4);
    alloc(h_, cap * c.d_model * act);
    alloc(q32_, cap * q_dim * 4);
    alloc(k32_, cap * kv_dim * 4);
    alloc(v32_, cap * kv_dim * 4);
    alloc(q_act_, f32 ? 0 : cap * q_dim * act);
    alloc(k_act_, f32 ? 0 : cap * kv_dim * act);
    alloc(v_act_, f32 ? 0 : cap * kv_dim * act);
    alloc(attn_, cap * q_dim * act);
    alloc(o32_, cap * c.d_model * 4);
    alloc(gate32_, cap * c.d_ff * 4);
    alloc(up32_, cap * c.d_ff * 4);
    alloc(ffn_, cap * c.d_ff * act);
    cap_ = cap;
  }
  Reserve(be_, logits_, logit_rows * c.vocab_size * 4, "logits");
}

void Transformer::Run(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                      LayerAttention& attn, int64_t logit_rows) {
  const ModelConfig& c = config();
  CheckForwardInputs(c, tokens, positions);
  const int64_t n = static_cast<int64_t>(tokens.size());
  ReserveFor(n, logit_rows);
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  const DType act = be_.act_dtype();
  // q/k/v as attention reads them: the fp32 buffers themselves when act_dtype is fp32.
  auto to_act = [&](Buffer& f32, Buffer& cast, int64_t elems) -> const void* {
    if (act == DType::kF32) return f32.data();
    be_.Convert(f32.data(), DType::kF32, cast.data(), act, elems);
    return cast.data();
  };
  float* x = x_.as<float>();
  float* o32 = o32_.as<float>();
  be_.Upload(tok_.data(), tokens.data(), n * 4);
  be_.Upload(pos_.data(), positions.data(), n * 4);
  be_.Embed(tok_.as<int32_t>(), n, x);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    be_.RmsNorm(x, l, NormId::kAttn, n, h_.data());
    be_.Linear(h_.data(), n, l, MatrixId::kQ, q32_.as<float>());
    be_.Linear(h_.data(), n, l, MatrixId::kK, k32_.as<float>());
    be_.Linear(h_.data(), n, l, MatrixId::kV, v32_.as<float>());
    be_.Rope(q32_.as<float>(), n, c.n_heads, pos_.as<int32_t>());
    be_.Rope(k32_.as<float>(), n, c.n_kv_heads, pos_.as<int32_t>());
    const void* q = to_act(q32_, q_act_, n * q_dim);
    const void* k = to_act(k32_, k_act_, n * kv_dim);
    const void* v = to_act(v32_, v_act_, n * kv_dim);
    const auto t0 = std::chrono::steady_clock::now();
    attn.Attend(l, n, q, k, v, attn_.data());
    attention_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    be_.Linear(attn_.data(), n, l, MatrixId::kO, o32);
    be_.Add(x, o32, n * d);

    be_.RmsNorm(x, l, NormId::kFfn, n, h_.data());
    be_.Linear(h_.data(), n, l, MatrixId::kGate, gate32_.as<float>());
    be_.Linear(h_.data(), n, l, MatrixId::kUp, up32_.as<float>());
    be_.SwiGlu(gate32_.as<float>(), up32_.as<float>(), n * c.d_ff, ffn_.data());
    be_.Linear(ffn_.data(), n, l, MatrixId::kDown, o32);
    be_.Add(x, o32, n * d);
  }
  attn.Finish(n);
  if (logit_rows > 0) {
    be_.RmsNorm(x + (n - logit_rows) * d, -1, NormId::kOut, logit_rows, h_.data());
    be_.Linear(h_.data(), logit_rows, -1, MatrixId::kLmHead, logits_.as<float>());
  }
}

std::vector<float> Transformer::Forward(std::span<const int32_t> tokens,
                                        std::span<const int32_t> positions, LayerAttention& attn,
                                        LogitsFor which) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) {
    if (!positions.empty()) Fail("forward: 0 tokens but {} positions", positions.size());
    return {};
  }
  int64_t rows = 0;
  switch (which) {
    case LogitsFor::kNone:
      rows = 0;
      break;
    case LogitsFor::kLast:
      rows = 1;
      break;
    case LogitsFor::kAll:
      rows = n;
      break;
  }
  Run(tokens, positions, attn, rows);
  std::vector<float> logits(rows * config().vocab_size);
  if (rows > 0) be_.Download(logits.data(), logits_.data(), logits.size() * sizeof(float));
  return logits;
}

std::vector<float> Transformer::Forward(std::span<const int32_t> tokens,
                                        std::span<const int32_t> positions, KvCache& cache,
                                        LogitsFor which) {
  CacheAttention attn(be_, cache);
  return Forward(tokens, positions, attn, which);
}

int32_t Transformer::ForwardGreedy(std::span<const int32_t> tokens,
                                   std::span<const int32_t> positions, LayerAttention& attn) {
  if (tokens.empty()) Fail("forward: no tokens to sample after");
  Run(tokens, positions, attn, 1);
  return be_.Argmax(logits_.as<float>(), config().vocab_size);
}

}  // namespace starattn
