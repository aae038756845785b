// Model::Load: GGUF files and Hugging Face safetensors directories to fp32 weights.
#include <filesystem>

#include "engine/common/error.h"
#include "engine/io/dequant.h"
#include "engine/io/gguf.h"
#include "engine/io/qmatrix.h"
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
  explicit GgufWeightReader(const GgufFile& g) : g_(g) {}
  // `shape` is row-major (outermost first), as the engine uses it.
  std::vector<float> Read(const std::string& name, std::vector<int64_t> shape,
                          bool optional = false) const {
    const GgufTensorInfo* t = g_.FindTensor(name);
    if (t == nullptr) {
      if (optional) return {};
      Fail("{}: missing tensor '{}'", g_.path(), name);
    }
    std::vector<int64_t> ggml_dims(shape.rbegin(), shape.rend());
    if (t->dims != ggml_dims) {
      Fail("{}: tensor '{}' has GGML dims {}, expected {}", g_.path(), name,
           ShapeString(t->dims), ShapeString(ggml_dims));
    }
    return g_.ReadF32(*t);
  }
  // A 2-D weight [rows, cols] in fp32, and in `q` its exact int8 form when its type has one
  // (io/dequant.h: HasBlocks32Form); `q` stays empty otherwise.
  std::vector<float> ReadWithInt8(const std::string& name, int64_t rows, int64_t cols,
                                  QMatrix& q) const {
    std::vector<float> w = Read(name, {rows, cols});
    const GgufTensorInfo& t = *g_.FindTensor(name);
    const auto type = static_cast<GgmlType>(t.type_id);
    if (HasBlocks32Form(type) && cols % QMatrix::kRun == 0) {
      q = QMatrix::Allocate(rows, cols);
      DecomposeBlocks32(type, t.data, rows * cols, q.q.data(), q.scale.data(), q.offset.data());
      q.DropZeroOffsets();
      q.PackNibbles();  // 4-bit quants (Q4_1, Q4_K) keep half the bytes
    }
    return w;
  }

 private:
  const GgufFile& g_;
};

std::unique_ptr<Model> LoadGguf(const std::string& path) {
  GgufFile g = GgufFile::Open(path);
  ModelConfig c = ConfigFromGguf(g);
  c.Validate(path);
  GgufWeightReader r(g);
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  if (g.FindTensor("rope_freqs.weight") != nullptr) {
    c.rope_freq_factors = r.Read("rope_freqs.weight", {c.rope_dims / 2});
  }
  Weights w;
  w.tok_embd = r.ReadWithInt8("token_embd.weight", c.vocab_size, d, w.q_tok_embd);
  w.out_norm = r.Read("output_norm.weight", {d});
  if (!c.tied_embeddings) w.output = r.ReadWithInt8("output.weight", c.vocab_size, d, w.q_output);
  w.layers.resize(c.n_layers);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights& L = w.layers[l];
    L.attn_norm = r.Read(p + "attn_norm.weight", {d});
    L.wq = r.ReadWithInt8(p + "attn_q.weight", q_dim, d, L.q_wq);
    L.wk = r.ReadWithInt8(p + "attn_k.weight", kv_dim, d, L.q_wk);
    L.wv = r.ReadWithInt8(p + "attn_v.weight", kv_dim, d, L.q_wv);
    if (c.qkv_bias) {
      L.bq = r.Read(p + "attn_q.bias", {q_dim});
      L.bk = r.Read(p + "attn_k.bias", {kv_dim});
      L.bv = r.Read(p + "attn_v.bias", {kv_dim});
    }
    L.wo = r.ReadWithInt8(p + "attn_output.weight", d, q_dim, L.q_wo);
    L.ffn_norm = r.Read(p + "ffn_norm.weight", {d});
    L.w_gate = r.ReadWithInt8(p + "ffn_gate.weight", c.d_ff, d, L.q_w_gate);
    L.w_up = r.ReadWithInt8(p + "ffn_up.weight", c.d_ff, d, L.q_w_up);
    L.w_down = r.ReadWithInt8(p + "ffn_down.weight", d, c.d_ff, L.q_w_down);
  }
  std::unique_ptr<Tokenizer> tok;
  if (g.Has("tokenizer.ggml.model")) tok = Tokenizer::FromGguf(g);
  return std::make_unique<Model>(std::move(c), std::move(w), std::move(tok), path);
}

class HfWeightReader {
 public:
  HfWeightReader(const SafetensorsCheckpoint& ck, std::string dir) : ck_(ck), dir_(std::move(dir)) {}
  std::vector<float> Read(const std::string& name, const std::vector<int64_t>& shape,
                          bool optional = false) const {
    const SafeTensor* t = ck_.Find(name);
    if (t == nullptr) {
      if (optional) return {};
      Fail("{}: missing tensor '{}'", dir_, name);
    }
    if (t->shape != shape) {
      Fail("{}: tensor '{}' has shape {}, expected {}", t->file, name, ShapeString(t->shape),
           ShapeString(shape));
    }
    return ck_.ReadF32(*t);
  }

 private:
  const SafetensorsCheckpoint& ck_;
  std::string dir_;
};

std::unique_ptr<Model> LoadHf(const std::string& dir) {
  ModelConfig c = ConfigFromHfJson((fs::path(dir) / "config.json").string());
  c.Validate(dir);
  SafetensorsCheckpoint ck = SafetensorsCheckpoint::OpenDir(dir);
  HfWeightReader r(ck, dir);
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  Weights w;
  w.tok_embd = r.Read("model.embed_tokens.weight", {c.vocab_size, d});
  w.out_norm = r.Read("model.norm.weight", {d});
  if (!c.tied_embeddings) {
    w.output = r.Read("lm_head.weight", {c.vocab_size, d});
  }
  w.layers.resize(c.n_layers);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& L = w.layers[l];
    L.attn_norm = r.Read(p + "input_layernorm.weight", {d});
    L.wq = r.Read(p + "self_attn.q_proj.weight", {q_dim, d});
    L.wk = r.Read(p + "self_attn.k_proj.weight", {kv_dim, d});
    L.wv = r.Read(p + "self_attn.v_proj.weight", {kv_dim, d});
    if (c.qkv_bias) {
      L.bq = r.Read(p + "self_attn.q_proj.bias", {q_dim});
      L.bk = r.Read(p + "self_attn.k_proj.bias", {kv_dim});
      L.bv = r.Read(p + "self_attn.v_proj.bias", {kv_dim});
    }
    L.wo = r.Read(p + "self_attn.o_proj.weight", {d, q_dim});
    L.ffn_norm = r.Read(p + "post_attention_layernorm.weight", {d});
    L.w_gate = r.Read(p + "mlp.gate_proj.weight", {c.d_ff, d});
    L.w_up = r.Read(p + "mlp.up_proj.weight", {c.d_ff, d});
    L.w_down = r.Read(p + "mlp.down_proj.weight", {d, c.d_ff});
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
