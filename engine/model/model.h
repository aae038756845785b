// A Llama-family model on the CPU: weights in fp32, a KV cache, and the forward pass
// (embedding, RMSNorm, RoPE, GQA attention, SwiGLU, final norm, LM head).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/cpu/qmatmul.h"
#include "engine/model/config.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace starattn {

struct LayerWeights {
  std::vector<float> attn_norm;     // [d_model]
  std::vector<float> wq;            // [n_heads * head_dim, d_model]
  std::vector<float> wk;            // [n_kv_heads * head_dim, d_model]
  std::vector<float> wv;            // [n_kv_heads * head_dim, d_model]
  std::vector<float> bq, bk, bv;    // biases of q, k, v (qwen2), else empty
  std::vector<float> wo;            // [d_model, n_heads * head_dim]
  std::vector<float> ffn_norm;      // [d_model]
  std::vector<float> w_gate;        // [d_ff, d_model]
  std::vector<float> w_up;          // [d_ff, d_model]
  std::vector<float> w_down;        // [d_model, d_ff]
  // The same matrices in their exact int8 form, for decode steps (cpu/qmatmul.h). Empty when
  // the file's type has none (F16, BF16, F32, Q6_K, safetensors checkpoints): then decode uses
  // the fp32 matrices.
  cpu::QMatrix q_wq, q_wk, q_wv, q_wo, q_w_gate, q_w_up, q_w_down;
};

struct Weights {
  std::vector<float> tok_embd;  // [vocab, d_model]
  std::vector<LayerWeights> layers;
  std::vector<float> out_norm;  // [d_model]
  std::vector<float> output;    // [vocab, d_model]; empty when tied to tok_embd
  const std::vector<float>& lm_head() const { return output.empty() ? tok_embd : output; }
  cpu::QMatrix q_tok_embd, q_output;  // int8 forms (see LayerWeights), possibly empty
  const cpu::QMatrix& q_lm_head() const { return output.empty() ? q_tok_embd : q_output; }
  // Bytes held by the int8 forms.
  int64_t int8_bytes() const;
};

// Keys and values of the tokens a host has seen, per layer, in insertion order.
class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t capacity);
  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t row_floats() const { return row_floats_; }  // n_kv_heads * head_dim
  int64_t head_dim() const { return head_dim_; }
  int64_t group() const { return group_; }  // query heads per kv head
  float* k(int64_t layer) { return k_[layer].data(); }  // [capacity, n_kv_heads, head_dim]
  float* v(int64_t layer) { return v_[layer].data(); }
  const float* k(int64_t layer) const { return k_[layer].data(); }
  const float* v(int64_t layer) const { return v_[layer].data(); }
  void Resize(int64_t n);  // the first n rows stay valid; n <= capacity
  // Bytes of K and V actually held (size() rows) and reserved (capacity rows).
  int64_t used_bytes() const;
  int64_t reserved_bytes() const;

 private:
  int64_t capacity_;
  int64_t row_floats_;
  int64_t head_dim_;
  int64_t group_;
  int64_t size_ = 0;
  std::vector<std::vector<float>> k_, v_;
};

enum class LogitsFor { kLast, kAll, kNone };

// How a forward pass attends: the model computes each layer's roped q/k/v of the new tokens and
// hands them here; the implementation decides what the tokens see (a local cache, blocks, other
// hosts) and where their K/V go.
class LayerAttention {
 public:
  virtual ~LayerAttention() = default;
  //   q:   [n, n_heads, head_dim]       k, v: [n, n_kv_heads, head_dim] (the new tokens)
  //   out: [n, n_heads, head_dim]
  virtual void Attend(int64_t layer, int64_t n, const float* q, const float* k, const float* v,
                      float* out) = 0;
  // Called once after the last layer.
  virtual void Finish(int64_t n) {}
};

// Dense causal attention over a local cache: new tokens' K/V are appended after the cached rows
// and see every cached row and, causally, each other.
class CacheAttention : public LayerAttention {
 public:
  explicit CacheAttention(KvCache& cache, float scale) : cache_(cache), scale_(scale) {}
  void Attend(int64_t layer, int64_t n, const float* q, const float* k, const float* v,
              float* out) override;
  void Finish(int64_t n) override { cache_.Resize(cache_.size() + n); }

 private:
  KvCache& cache_;
  float scale_;
};

class Model {
 public:
  // Loads a .gguf file, or a Hugging Face directory (config.json + safetensors
  // [+ tokenizer.json]). Throws Error naming the file on any problem.
  static std::unique_ptr<Model> Load(const std::string& path);
  // From parts (tests, tools). Validates shapes.
  Model(ModelConfig config, Weights weights, std::unique_ptr<Tokenizer> tokenizer,
        std::string source);

  const ModelConfig& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const std::string& source() const { return source_; }
  // The tokenizer; throws Error if the model came without one.
  const Tokenizer& tokenizer() const;
  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  ChatTemplate chat_template() const;
  std::optional<std::string> default_system_prompt() const;

  // Runs tokens [n] at positions [n] through every layer. Their K/V are appended to `cache`
  // after the rows it holds; each token attends to all cached rows and, causally, to the new
  // tokens before it. Returns logits [n_out, vocab] with n_out = 1 (kLast), n (kAll) or 0.
  std::vector<float> Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             KvCache& cache, LogitsFor which) const;
  // The same with attention delegated to `attn`.
  std::vector<float> Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             LayerAttention& attn, LogitsFor which) const;
  // 1 / sqrt(head_dim)
  float attention_scale() const;
  // RoPE's inverse frequencies [rope_dims / 2] as the forward pass uses them (llama3 factors and
  // linear scaling applied); other backends upload this table rather than rebuild it.
  const std::vector<float>& inv_freq() const { return inv_freq_; }

  // LM head over final hidden states: x [n, d_model] -> logits [n, vocab] (x is normalised
  // in place).
  void Logits(float* x, int64_t n, float* logits) const;

 private:
  ModelConfig config_;
  Weights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string source_;
  std::vector<float> inv_freq_;  // [rope_dims / 2]
};

// A forward pass's inputs: as many positions as tokens, ids inside the vocabulary, positions
// inside the model's context length; throws Error otherwise.
void CheckForwardInputs(const ModelConfig& c, std::span<const int32_t> tokens,
                        std::span<const int32_t> positions);

// Checks every tensor's size against the config; throws Error naming `source` and the tensor.
void ValidateWeights(const ModelConfig& c, const Weights& w, const std::string& source);

}  // namespace starattn
