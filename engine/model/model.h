// A Llama-family model as loaded: config, weights (matrices read on demand from the file:
// engine/model/weights.h), tokenizer. Backend-free: a backend (engine/model/backend.h) takes the
// weights into its own form; the forward pass is engine/model/forward.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/model/config.h"
#include "engine/model/weights.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"

namespace starattn {

struct LayerWeights {
  std::vector<float> attn_norm;   // [d_model]
  WeightMatrix wq;                // [n_heads * head_dim, d_model]
  WeightMatrix wk;                // [n_kv_heads * head_dim, d_model]
  WeightMatrix wv;                // [n_kv_heads * head_dim, d_model]
  std::vector<float> bq, bk, bv;  // biases of q, k, v (qwen2), else empty
  WeightMatrix wo;                // [d_model, n_heads * head_dim]
  std::vector<float> ffn_norm;    // [d_model]
  WeightMatrix w_gate;            // [d_ff, d_model]
  WeightMatrix w_up;              // [d_ff, d_model]
  WeightMatrix w_down;            // [d_model, d_ff]
};

struct Weights {
  WeightMatrix tok_embd;  // [vocab, d_model]
  std::vector<LayerWeights> layers;
  std::vector<float> out_norm;  // [d_model]
  WeightMatrix output;          // [vocab, d_model]; empty when tied to tok_embd
  const WeightMatrix& lm_head() const { return output.empty() ? tok_embd : output; }
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
