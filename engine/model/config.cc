#include "engine/model/config.h"

#include <fmt/format.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/io/gguf.h"
#include "engine/model/rope.h"

namespace starattn {

std::string_view ArchName(Arch a) {
  switch (a) {
    case Arch::kLlama:
      return "llama";
    case Arch::kQwen2:
      return "qwen2";
  }
  return "?";
}

void ModelConfig::Validate(const std::string& source) const {
  auto positive = [&](int64_t v, const char* what) {
    if (v <= 0) Fail("{}: {} must be positive, got {}", source, what, v);
  };
  positive(n_layers, "layer count");
  positive(d_model, "embedding length");
  positive(n_heads, "head count");
  positive(n_kv_heads, "kv head count");
  positive(head_dim, "head dim");
  positive(d_ff, "feed-forward length");
  positive(vocab_size, "vocab size");
  positive(max_positions, "context length");
  if (n_heads % n_kv_heads != 0) {
    Fail("{}: head count {} is not a multiple of kv head count {}", source, n_heads, n_kv_heads);
  }
  if (rope_dims <= 0 || rope_dims > head_dim || rope_dims % 2 != 0) {
    Fail("{}: rope dims {} invalid for head dim {}", source, rope_dims, head_dim);
  }
  if (!rope_freq_factors.empty() &&
      static_cast<int64_t>(rope_freq_factors.size()) != rope_dims / 2) {
    Fail("{}: {} rope frequency factors, expected {}", source, rope_freq_factors.size(),
         rope_dims / 2);
  }
  if (!(rms_eps > 0) || !(rope_theta > 0)) Fail("{}: rms eps and rope theta must be > 0", source);
}

std::string ModelConfig::Summary() const {
  return fmt::format(
      "arch={} layers={} d_model={} heads={} kv_heads={} head_dim={} d_ff={} vocab={} ctx={} "
      "rope_theta={} rope_layout={} rope_scaled={} tied={}",
      ArchName(arch), n_layers, d_model, n_heads, n_kv_heads, head_dim, d_ff, vocab_size,
      max_positions, rope_theta,
      rope_layout == RopeLayout::kAdjacentPairs ? "pairs" : "halves",
      !rope_freq_factors.empty() || rope_linear_scale != 1.0f, tied_embeddings);
}

ModelConfig ConfigFromGguf(const GgufFile& g) {
  ModelConfig c;
  const std::string arch = g.RequireString("general.architecture");
  if (arch == "llama") {
    c.arch = Arch::kLlama;
    // llama.cpp's converter permutes llama Q/K rows for adjacent-pair rotation.
    c.rope_layout = RopeLayout::kAdjacentPairs;
  } else if (arch == "qwen2") {
    c.arch = Arch::kQwen2;
    c.rope_layout = RopeLayout::kSplitHalf;  // NEOX rope, weights not permuted
    c.qkv_bias = true;
  } else {
    Fail("{}: unsupported architecture '{}' (supported: llama, qwen2)", g.path(), arch);
  }
  const std::string p = arch + ".";
  c.n_layers = g.RequireInt(p + "block_count");
  c.d_model = g.RequireInt(p + "embedding_length");
  c.n_heads = g.RequireInt(p + "attention.head_count");
  c.n_kv_heads = g.GetInt(p + "attention.head_count_kv").value_or(c.n_heads);
  c.d_ff = g.RequireInt(p + "feed_forward_length");
  c.max_positions = g.RequireInt(p + "context_length");
  c.rms_eps = static_cast<float>(g.RequireFloat(p + "attention.layer_norm_rms_epsilon"));
  c.rope_theta = static_cast<float>(g.GetFloat(p + "rope.freq_base").value_or(10000.0));
  c.head_dim = c.n_heads > 0 ? g.GetInt(p + "attention.key_length").value_or(c.d_model / c.n_heads)
                             : 0;
  c.rope_dims = g.GetInt(p + "rope.dimension_count").value_or(c.head_dim);
  if (auto type = g.GetString(p + "rope.scaling.type")) {
    if (*type == "linear") {
      c.rope_linear_scale = static_cast<float>(g.RequireFloat(p + "rope.scaling.factor"));
    } else if (*type != "none" && *type != "llama3") {
      Fail("{}: unsupported rope scaling type '{}'", g.path(), *type);
    }
  }
  if (auto v = g.GetInt(p + "vocab_size")) {
    c.vocab_size = *v;
  } else if (const auto* emb = g.FindTensor("token_embd.weight"); emb && emb->dims.size() == 2) {
    c.vocab_size = emb->dims[1];
  }
  c.tied_embeddings = g.FindTensor("output.weight") == nullptr;
  c.qkv_bias = g.FindTensor("blk.0.attn_q.bias") != nullptr;
  return c;
}

ModelConfig ConfigFromHfJson(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadFileToString(path));
  } catch (const nlohmann::json::exception& e) {
    Fail("{}: invalid JSON: {}", path, e.what());
  }
  auto get_int = [&](const char* key) -> int64_t {
    if (!j.contains(key) || !j[key].is_number_integer()) {
      Fail("{}: missing or non-integer '{}'", path, key);
    }
    return j[key].get<int64_t>();
  };
  auto get_float = [&](const char* key, double dflt) -> double {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_number()) Fail("{}: '{}' is not a number", path, key);
    return j[key].get<double>();
  };
  ModelConfig c;
  const std::string model_type = j.value("model_type", "");
  if (model_type == "llama" || model_type == "mistral") {
    c.arch = Arch::kLlama;
  } else if (model_type == "qwen2") {
    c.arch = Arch::kQwen2;
    c.qkv_bias = true;
  } else {
    Fail("{}: unsupported model_type '{}' (supported: llama, mistral, qwen2)", path, model_type);
  }
  c.rope_layout = RopeLayout::kSplitHalf;
  c.n_layers = get_int("num_hidden_layers");
  c.d_model = get_int("hidden_size");
  c.n_heads = get_int("num_attention_heads");
  c.n_kv_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                     ? get_int("num_key_value_heads")
                     : c.n_heads;
  c.d_ff = get_int("intermediate_size");
  c.vocab_size = get_int("vocab_size");
  c.max_positions = get_int("max_position_embeddings");
  c.rms_eps = static_cast<float>(get_float("rms_norm_eps", 1e-6));
  c.rope_theta = static_cast<float>(get_float("rope_theta", 10000.0));
  c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? get_int("head_dim")
               : c.n_heads > 0                                    ? c.d_model / c.n_heads
                                                                  : 0;
  c.rope_dims = c.head_dim;
  c.tied_embeddings = j.value("tie_word_embeddings", false);
  if (j.contains("sliding_window") && !j["sliding_window"].is_null()) {
    const bool used = j.value("use_sliding_window", model_type == "mistral");
    if (used && j["sliding_window"].get<int64_t>() < c.max_positions) {
      Fail("{}: sliding-window attention (window {}) is not supported", path,
           j["sliding_window"].get<int64_t>());
    }
  }
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& rs = j["rope_scaling"];
    const std::string type = rs.value("rope_type", rs.value("type", ""));
    if (type == "llama3") {
      c.rope_freq_factors = Llama3FreqFactors(
          c.rope_dims, c.rope_theta, rs.value("factor", 8.0f), rs.value("low_freq_factor", 1.0f),
          rs.value("high_freq_factor", 4.0f),
          rs.value("original_max_position_embeddings", int64_t{8192}));
    } else if (type == "linear") {
      c.rope_linear_scale = rs.value("factor", 1.0f);
    } else if (type != "default") {
      Fail("{}: unsupported rope_scaling type '{}'", path, type);
    }
  }
  return c;
}

ModelConfig ReadModelConfig(const std::string& path) {
  namespace fs = std::filesystem;
  ModelConfig c;
  if (fs::is_directory(path)) {
    c = ConfigFromHfJson((fs::path(path) / "config.json").string());
  } else if (fs::exists(path)) {
    c = ConfigFromGguf(GgufFile::Open(path));
  } else {
    Fail("{}: no such model file or directory", path);
  }
  c.Validate(path);
  return c;
}

}  // namespace starattn
