// The forward pass of a Llama-family model, written once over the Backend interface: embedding,
// RMSNorm, q/k/v projections (+ bias), RoPE, attention (delegated to a LayerAttention), output
// projection, SwiGLU MLP, final norm, LM head.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/backend.h"
#include "engine/model/kv_cache.h"

namespace starattn {

enum class LogitsFor { kLast, kAll, kNone };

// How a forward pass attends: the pass computes each layer's roped q/k/v of the new tokens and
// hands them here; the implementation decides what the tokens see (a local cache, blocks, other
// hosts) and where their K/V go. Pointers are in the backend's memory, act_dtype:
//   q:   [n, n_heads, head_dim]       k, v: [n, n_kv_heads, head_dim] (the new tokens)
//   out: [n, n_heads, head_dim]
class LayerAttention {
 public:
  virtual ~LayerAttention() = default;
  virtual void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
                      void* out) = 0;
  // Called once after the last layer.
  virtual void Finish(int64_t n) {}

  // Where the attention work is counted, when set: (query, query head, key) scores computed,
  // and K/V bytes read (all layers).
  int64_t* scores = nullptr;
  int64_t* kv_read = nullptr;

 protected:
  void CountScores(int64_t n) {
    if (scores != nullptr) *scores += n;
  }
  void CountRead(int64_t bytes) {
    if (kv_read != nullptr) *kv_read += bytes;
  }
};

// (query, key) pairs a causal block of n queries after `past` cached keys sees: each query its
// predecessors and itself.
inline int64_t CausalPairs(int64_t past, int64_t n) { return n * past + n * (n + 1) / 2; }

// Dense causal attention over a local cache: the new tokens' K/V are appended after the cached
// rows and see every cached row and, causally, each other.
class CacheAttention : public LayerAttention {
 public:
  CacheAttention(Backend& be, KvCache& cache);
  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
              void* out) override;
  void Finish(int64_t n) override { cache_.Resize(cache_.size() + n); }

 private:
  Backend& be_;
  KvCache& cache_;
  float scale_;
};

// 1 / sqrt(head_dim)
float AttentionScale(const ModelConfig& c);

// Grows `buf` to at least `bytes` (its content is not kept).
void Reserve(Backend& be, Buffer& buf, int64_t bytes, std::string_view what);

// The forward pass on one host's backend. Keeps its activation buffers between calls (they
// grow with the largest batch).
class Transformer {
 public:
  explicit Transformer(Backend& be) : be_(be) {}
  Backend& backend() const { return be_; }
  const ModelConfig& config() const { return be_.config(); }

  // Runs tokens [n] at positions [n] (host memory) through every layer. Returns logits
  // [n_out, vocab] (host) with n_out = 1 (kLast), n (kAll) or 0 (kNone). Throws Error for ids
  // outside the vocabulary or positions outside the model's context (CheckForwardInputs).
  std::vector<float> Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             LayerAttention& attn, LogitsFor which);
  // The same with dense causal attention over `cache` (the tokens' K/V are appended).
  std::vector<float> Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             KvCache& cache, LogitsFor which);
  // Runs the tokens and returns the argmax of the last token's logits, taken on the backend.
  int32_t ForwardGreedy(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                        LayerAttention& attn);

  // Wall time spent inside LayerAttention::Attend since construction (host time: a CUDA
  // backend's calls return before its kernels finish).
  double attention_seconds() const { return attention_seconds_; }

 private:
  // Runs the layers; leaves the logits of the last `logit_rows` tokens in logits_.
  void Run(std::span<const int32_t> tokens, std::span<const int32_t> positions,
           LayerAttention& attn, int64_t logit_rows);
  void ReserveFor(int64_t n, int64_t logit_rows);

  Backend& be_;
  int64_t cap_ = 0;               // tokens the activation buffers hold
  Buffer tok_, pos_;              // [cap] int32
  Buffer x_;                      // [cap, d_model] fp32 residual stream
  Buffer h_;                      // [cap, d_model] act: normed input of a GEMM
  Buffer q32_, k32_, v32_;        // [cap, n_heads | n_kv_heads, head_dim] fp32
  Buffer q_act_, k_act_, v_act_;  // the same in act_dtype (unused when act_dtype is fp32)
  Buffer attn_;                   // [cap, n_heads, head_dim] act: attention output
  Buffer o32_;                    // [cap, d_model] fp32: output of wo / w_down
  Buffer gate32_, up32_;          // [cap, d_ff] fp32
  Buffer ffn_;                    // [cap, d_ff] act: SwiGLU output
  Buffer logits_;                 // [logit rows, vocab] fp32
  double attention_seconds_ = 0;
};

}  // namespace starattn
