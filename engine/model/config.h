// Hyper-parameters of a Llama-family model, read from GGUF metadata or a Hugging Face
// config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace starattn {

class GgufFile;

enum class Arch { kLlama, kQwen2 };

// How a head's dimensions are paired for rotation. GGUF `llama` checkpoints store Q/K permuted
// for adjacent pairs (x[2i], x[2i+1]); Hugging Face checkpoints (and GGUF `qwen2`) rotate the
// halves (x[i], x[i + d/2]).
enum class RopeLayout { kAdjacentPairs, kSplitHalf };
std::string_view ArchName(Arch a);

struct ModelConfig {
  Arch arch = Arch::kLlama;
  int64_t n_layers = 0;
  int64_t d_model = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t d_ff = 0;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  // the model's trained context length
  float rms_eps = 1e-5f;
  float rope_theta = 10000.f;
  int64_t rope_dims = 0;  // rotated dims per head (== head_dim for these families)
  RopeLayout rope_layout = RopeLayout::kSplitHalf;
  // Per-frequency divisors [rope_dims / 2] (llama3 scaling); empty when unscaled.
  std::vector<float> rope_freq_factors;
  float rope_linear_scale = 1.0f;  // positions are divided by this ("linear" scaling)
  bool tied_embeddings = false;
  bool qkv_bias = false;

  // Throws Error naming `source` if the numbers are inconsistent (heads not dividing, etc.).
  void Validate(const std::string& source) const;
  std::string Summary() const;
};

// From GGUF metadata ({arch}.* keys). Frequency factors come from the `rope_freqs.weight`
// tensor (how llama.cpp stores llama3 scaling) and are filled by the loader.
ModelConfig ConfigFromGguf(const GgufFile& gguf);
// From a config.json file.
ModelConfig ConfigFromHfJson(const std::string& config_json_path);
// The validated configuration of a model as the loader takes it (a .gguf file or a Hugging Face
// directory), without reading its weights. Throws Error naming the path.
ModelConfig ReadModelConfig(const std::string& path);

}  // namespace starattn
