#include "engine/model/config.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/parse.h"
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
      max_positions, rope_theta, rope_layout == RopeLayout::kAdjacentPairs ? "pairs" : "halves",
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
  c.head_dim =
      c.n_heads > 0 ? g.GetInt(p + "attention.key_length").value_or(c.d_model / c.n_heads) : 0;
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
  const nlohmann::json j = ParseJson(ReadFileToString(path), path);
  if (!j.is_object()) Fail("{}: expected a JSON object, got {}", path, JsonSnippet(j));
  // Every field read through a check that names the file and the field: a field of the wrong
  // type is bad input, never a JSON library exception.
  auto has = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && !o[key].is_null();
  };
  auto field = [&](const char* key) { return fmt::format("{}: '{}'", path, key); };
  auto get_int = [&](const char* key) -> int64_t {
    if (!has(j, key)) Fail("{}: missing '{}'", path, key);
    return JsonInt(j[key], field(key), 1);  // every integer here is a positive count
  };
  auto get_float = [&](const nlohmann::json& o, const char* key, double dflt) -> double {
    return has(o, key) ? JsonDouble(o[key], field(key)) : dflt;
  };
  auto get_string = [&](const nlohmann::json& o, const char* key) -> std::string {
    if (!has(o, key)) return "";
    if (!o[key].is_string()) Fail("{} must be a string, got {}", field(key), JsonSnippet(o[key]));
    return o[key].get<std::string>();
  };
  auto get_bool = [&](const char* key, bool dflt) -> bool {
    if (!has(j, key)) return dflt;
    if (!j[key].is_boolean())
      Fail("{} must be true or false, got {}", field(key), JsonSnippet(j[key]));
    return j[key].get<bool>();
  };
  ModelConfig c;
  const std::string model_type = get_string(j, "model_type");
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
  c.n_kv_heads = has(j, "num_key_value_heads") ? get_int("num_key_value_heads") : c.n_heads;
  c.d_ff = get_int("intermediate_size");
  c.vocab_size = get_int("vocab_size");
  c.max_positions = get_int("max_position_embeddings");
  c.rms_eps = static_cast<float>(get_float(j, "rms_norm_eps", 1e-6));
  c.rope_theta = static_cast<float>(get_float(j, "rope_theta", 10000.0));
  c.head_dim = has(j, "head_dim") ? get_int("head_dim") : c.n_heads > 0 ? c.d_model / c.n_heads : 0;
  c.rope_dims = c.head_dim;
  c.tied_embeddings = get_bool("tie_word_embeddings", false);
  if (has(j, "sliding_window")) {
    const int64_t window = get_int("sliding_window");
    const bool used = get_bool("use_sliding_window", model_type == "mistral");
    if (used && window < c.max_positions) {
      Fail("{}: sliding-window attention (window {}) is not supported", path, window);
    }
  }
  if (has(j, "rope_scaling")) {
    const nlohmann::json& rs = j["rope_scaling"];
    if (!rs.is_object()) {
      Fail("{} must be an object, got {}", field("rope_scaling"), JsonSnippet(rs));
    }
    std::string type = get_string(rs, "rope_type");
    if (type.empty()) type = get_string(rs, "type");
    if (type == "llama3") {
      const int64_t original =
          has(rs, "original_max_position_embeddings")
              ? JsonInt(rs["original_max_position_embeddings"],
                        field("rope_scaling.original_max_position_embeddings"), 1)
              : int64_t{8192};
      auto scale = [&](const char* key, double dflt) {
        const double v = has(rs, key) ? JsonDouble(rs[key], field(key), 1e-6, 1e6) : dflt;
        return static_cast<float>(v);
      };
      const float low = scale("low_freq_factor", 1.0), high = scale("high_freq_factor", 4.0);
      if (high <= low) {  // the smoothing divides by their difference
        Fail("{}: rope_scaling high_freq_factor ({}) must exceed low_freq_factor ({})", path, high,
             low);
      }
      c.rope_freq_factors =
          Llama3FreqFactors(c.rope_dims, c.rope_theta, scale("factor", 8.0), low, high, original);
    } else if (type == "linear") {
      c.rope_linear_scale = static_cast<float>(
          has(rs, "factor") ? JsonDouble(rs["factor"], field("factor"), 1e-6, 1e6) : 1.0);
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
