// A Llama-family model as loaded: config, weights (fp32, and the exact int8/4-bit form of GGUF
// weights where the file has one), tokenizer. Backend-free: a backend (engine/model/backend.h)
// takes the weights into its own form; the forward pass is engine/model/forward.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/io/qmatrix.h"
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
  QMatrix q_wq, q_wk, q_wv, q_wo, q_w_gate, q_w_up, q_w_down;
};

struct Weights {
  std::vector<float> tok_embd;  // [vocab, d_model]
  std::vector<LayerWeights> layers;
  std::vector<float> out_norm;  // [d_model]
  std::vector<float> output;    // [vocab, d_model]; empty when tied to tok_embd
  const std::vector<float>& lm_head() const { return output.empty() ? tok_embd : output; }
  QMatrix q_tok_embd, q_output;  // int8 forms (see LayerWeights), possibly empty
  const QMatrix& q_lm_head() const { return output.empty() ? q_tok_embd : q_output; }
  // Bytes held by the int8 forms.
  int64_t int8_bytes() const;
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

  // RoPE's inverse frequencies [rope_dims / 2] as the forward pass uses them (llama3 factors and
  // linear scaling applied); other backends upload this table rather than rebuild it.
  const std::vector<float>& inv_freq() const { return inv_freq_; }

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
