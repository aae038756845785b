// Model::Load: GGUF files and Hugging Face safetensors directories: config, tokenizer, norms and
// biases read now; weight matrices referenced in the mapped files, read by the backend.
#include <filesystem>

#include "engine/common/error.h"
#include "engine/io/dequant.h"
#include "engine/io/gguf.h"
#include "engine/io/safetensors.h"
#include "engine/model/model.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;

std::string ShapeString(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

class GgufWeightReader {
 public:
  explicit GgufWeightReader(std::shared_ptr<const GgufFile> g) : g_(std::move(g)) {}
  // `shape` is row-major (outermost first), as the engine uses it.
  const GgufTensorInfo* Find(const std::string& name, const std::vector<int64_t>& shape,
                             bool optional) const {
    const GgufTensorInfo* t = g_->FindTensor(name);
    if (t == nullptr) {
      if (optional) return nullptr;
      Fail("{}: missing tensor '{}'", g_->path(), name);
    }
    std::vector<int64_t> ggml_dims(shape.rbegin(), shape.rend());
    if (t->dims != ggml_dims) {
      Fail("{}: tensor '{}' has GGML dims {}, expected {}", g_->path(), name, ShapeString(t->dims),
           ShapeString(ggml_dims));
    }
    return t;
  }
  // A small tensor (norm, bias, frequency factors) in fp32.
  std::vector<float> Read(const std::string& name, const std::vector<int64_t>& shape) const {
    return g_->ReadF32(*Find(name, shape, false));
  }
  // A 2-D weight [rows, cols], read later by the backend in its own form.
  WeightMatrix Matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensorInfo* t = Find(name, {rows, cols}, false);
    try {
      return WeightMatrix::FromFile(g_, t->data, t->type_id, rows, cols);
    } catch (const Error& e) {
      Fail("{}: tensor '{}': {}", g_->path(), name, e.what());
    }
  }

 private:
  std::shared_ptr<const GgufFile> g_;
};

std::unique_ptr<Model> LoadGguf(const std::string& path) {
  auto file = std::make_shared<GgufFile>(GgufFile::Open(path));
  const GgufFile& g = *file;
  ModelConfig c = ConfigFromGguf(g);
  c.Validate(path);
  GgufWeightReader r(file);
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  if (g.FindTensor("rope_freqs.weight") != nullptr) {
    c.rope_freq_factors = r.Read("rope_freqs.weight", {c.rope_dims / 2});
  }
  Weights w;
  w.tok_embd = r.Matrix("token_embd.weight", c.vocab_size, d);
  w.out_norm = r.Read("output_norm.weight", {d});
  if (!c.tied_embeddings) w.output = r.Matrix("output.weight", c.vocab_size, d);
  w.layers.resize(c.n_layers);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights& L = w.layers[l];
    L.attn_norm = r.Read(p + "attn_norm.weight", {d});
    L.wq = r.Matrix(p + "attn_q.weight", q_dim, d);
    L.wk = r.Matrix(p + "attn_k.weight", kv_dim, d);
    L.wv = r.Matrix(p + "attn_v.weight", kv_dim, d);
    if (c.qkv_bias) {
      L.bq = r.Read(p + "attn_q.bias", {q_dim});
      L.bk = r.Read(p + "attn_k.bias", {kv_dim});
      L.bv = r.Read(p + "attn_v.bias", {kv_dim});
    }
    L.wo = r.Matrix(p + "attn_output.weight", d, q_dim);
    L.ffn_norm = r.Read(p + "ffn_norm.weight", {d});
    L.w_gate = r.Matrix(p + "ffn_gate.weight", c.d_ff, d);
    L.w_up = r.Matrix(p + "ffn_up.weight", c.d_ff, d);
    L.w_down = r.Matrix(p + "ffn_down.weight", d, c.d_ff);
  }
  std::unique_ptr<Tokenizer> tok;
  if (g.Has("tokenizer.ggml.model")) tok = Tokenizer::FromGguf(g);
  return std::make_unique<Model>(std::move(c), std::move(w), std::move(tok), path);
}

class HfWeightReader {
 public:
  HfWeightReader(std::shared_ptr<const SafetensorsCheckpoint> ck, std::string dir)
      : ck_(std::move(ck)), dir_(std::move(dir)) {}
  const SafeTensor& Find(const std::string& name, const std::vector<int64_t>& shape) const {
    const SafeTensor* t = ck_->Find(name);
    if (t == nullptr) Fail("{}: missing tensor '{}'", dir_, name);
    if (t->shape != shape) {
      Fail("{}: tensor '{}' has shape {}, expected {}", t->file, name, ShapeString(t->shape),
           ShapeString(shape));
    }
    return *t;
  }
  std::vector<float> Read(const std::string& name, const std::vector<int64_t>& shape) const {
    return ck_->ReadF32(Find(name, shape));
  }
  WeightMatrix Matrix(const std::string& name, int64_t rows, int64_t cols) const {
    const SafeTensor& t = Find(name, {rows, cols});
    GgmlType type;
    if (t.dtype == "F32") {
      type = GgmlType::kF32;
    } else if (t.dtype == "F16") {
      type = GgmlType::kF16;
    } else if (t.dtype == "BF16") {
      type = GgmlType::kBF16;
    } else {
      Fail("{}: tensor '{}' has dtype {}, which cannot be read (supported: F32, F16, BF16)", t.file,
           name, t.dtype);
    }
    return WeightMatrix::FromFile(ck_, t.data, static_cast<uint32_t>(type), rows, cols);
  }

 private:
  std::shared_ptr<const SafetensorsCheckpoint> ck_;
  std::string dir_;
};

std::unique_ptr<Model> LoadHf(const std::string& dir) {
  ModelConfig c = ConfigFromHfJson((fs::path(dir) / "config.json").string());
  c.Validate(dir);
  auto ck = std::make_shared<SafetensorsCheckpoint>(SafetensorsCheckpoint::OpenDir(dir));
  HfWeightReader r(ck, dir);
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  Weights w;
  w.tok_embd = r.Matrix("model.embed_tokens.weight", c.vocab_size, d);
  w.out_norm = r.Read("model.norm.weight", {d});
  if (!c.tied_embeddings) {
    w.output = r.Matrix("lm_head.weight", c.vocab_size, d);
  }
  w.layers.resize(c.n_layers);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& L = w.layers[l];
    L.attn_norm = r.Read(p + "input_layernorm.weight", {d});
    L.wq = r.Matrix(p + "self_attn.q_proj.weight", q_dim, d);
    L.wk = r.Matrix(p + "self_attn.k_proj.weight", kv_dim, d);
    L.wv = r.Matrix(p + "self_attn.v_proj.weight", kv_dim, d);
    if (c.qkv_bias) {
      L.bq = r.Read(p + "self_attn.q_proj.bias", {q_dim});
      L.bk = r.Read(p + "self_attn.k_proj.bias", {kv_dim});
      L.bv = r.Read(p + "self_attn.v_proj.bias", {kv_dim});
    }
    L.wo = r.Matrix(p + "self_attn.o_proj.weight", d, q_dim);
    L.ffn_norm = r.Read(p + "post_attention_layernorm.weight", {d});
    L.w_gate = r.Matrix(p + "mlp.gate_proj.weight", c.d_ff, d);
    L.w_up = r.Matrix(p + "mlp.up_proj.weight", c.d_ff, d);
    L.w_down = r.Matrix(p + "mlp.down_proj.weight", d, c.d_ff);
  }
  std::unique_ptr<Tokenizer> tok;
  const fs::path tj = fs::path(dir) / "tokenizer.json";
  if (fs::exists(tj)) tok = Tokenizer::FromJsonFile(tj.string());
  return std::make_unique<Model>(std::move(c), std::move(w), std::move(tok), dir);
}

}  // namespace

std::unique_ptr<Model> Model::Load(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "config.json")) {
      Fail("{}: not a model directory (no config.json)", path);
    }
    return LoadHf(path);
  }
  if (!fs::exists(path, ec)) Fail("{}: no such file or directory", path);
  return LoadGguf(path);
}

}  // namespace starattn
