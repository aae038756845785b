#include "engine/cpu/cpu_backend.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/common/error.h"
#include "engine/cpu/attention_state.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/qmatmul.h"

namespace starattn::cpu {
namespace {

// A weight matrix in both CPU forms.   w: [out, in]   bias: [out] or null
struct Matrix {
  const std::vector<float>* w;
  const QMatrix* q;
  int64_t in, out;
  const float* bias;
};

const float* BiasOf(const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); }

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(const Model& m) : m_(m) {}

  std::string_view name() const override { return "cpu"; }
  const Model& model() const override { return m_; }
  DType act_dtype() const override { return DType::kF32; }
  DType kv_dtype() const override { return DType::kF32; }

  Buffer Alloc(int64_t bytes, std::string_view what) override {
    if (bytes < 0) Fail("cpu: cannot allocate {} bytes for {}", bytes, what);
    if (bytes == 0) return {};
    constexpr int64_t kAlign = 64;
    void* p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
    if (p == nullptr) {
      Fail("cpu: cannot allocate {:.1f} MiB for {}", static_cast<double>(bytes) / 1048576.0, what);
    }
    return Buffer(this, p, bytes);
  }
  void Free(void* p) override { std::free(p); }
  void Copy(void* dst, const void* src, int64_t bytes) override {
    if (bytes > 0 && dst != src) std::memmove(dst, src, bytes);
  }
  void Copy2D(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t width,
              int64_t rows) override {
    for (int64_t r = 0; r < rows; ++r) {
      Copy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch,
           width);
    }
  }
  void Upload(void* dst, const void* host_src, int64_t bytes) override {
    Copy(dst, host_src, bytes);
  }
  void Download(void* host_dst, const void* src, int64_t bytes) override {
    Copy(host_dst, src, bytes);
  }
  void Synchronize() override {}
  void Convert(const void* src, DType from, void* dst, DType to, int64_t n) override {
    if (from != to) {
      Fail("cpu backend: no conversion from {} to {} (it holds fp32 activations and K/V)",
           DTypeName(from), DTypeName(to));
    }
    Copy(dst, src, n * DTypeBytes(from));
  }
  void Fill(float* dst, int64_t n, float value) override { std::fill(dst, dst + n, value); }

  void Embed(const int32_t* tokens, int64_t n, float* x) override {
    const int64_t d = config().d_model;
    const float* table = m_.weights().tok_embd.data();
    for (int64_t t = 0; t < n; ++t) {
      std::copy_n(table + static_cast<int64_t>(tokens[t]) * d, d, x + t * d);
    }
  }
  void RmsNorm(const float* x, int64_t layer, NormId which, int64_t n, void* y) override {
    const Weights& w = m_.weights();
    const std::vector<float>& norm = which == NormId::kOut    ? w.out_norm
                                     : which == NormId::kAttn ? w.layers[layer].attn_norm
                                                              : w.layers[layer].ffn_norm;
    cpu::RmsNorm(x, norm.data(), n, config().d_model, config().rms_eps, static_cast<float*>(y));
  }
  void Linear(const void* x, int64_t n, int64_t layer, MatrixId which, float* y) override {
    const Matrix mat = MatrixOf(layer, which);
    const auto* xf = static_cast<const float*>(x);
    if (!mat.q->empty() && n <= kQMatMulMaxRows) {
      QMatMul(xf, n, *mat.q, mat.bias, y);
    } else {
      MatMul(xf, n, mat.in, mat.w->data(), mat.out, mat.bias, y);
    }
  }
  void Rope(float* x, int64_t n, int64_t heads, const int32_t* positions) override {
    const RopeLayout layout = config().rope_layout == starattn::RopeLayout::kAdjacentPairs
                                  ? RopeLayout::kAdjacentPairs
                                  : RopeLayout::kSplitHalf;
    cpu::Rope(x, n, heads, config().head_dim, positions, m_.inv_freq(), layout);
  }
  void SwiGlu(const float* gate, const float* up, int64_t n, void* out) override {
    cpu::SwiGlu(gate, up, n, static_cast<float*>(out));
  }
  void Add(float* x, const float* y, int64_t n) override { AddInPlace(x, y, n); }
  int32_t Argmax(const float* x, int64_t n) override {
    return static_cast<int32_t>(cpu::Argmax(x, n));
  }

  void Attention(const void* q, const void* k, const void* v, const AttnShape& s,
                 const AttnMask& mask, float scale, void* out, float* lse) override {
    if (s.n_q == 0) return;
    cpu::Attention(static_cast<const float*>(q), static_cast<const float*>(k),
                   static_cast<const float*>(v), s, mask, scale, static_cast<float*>(out), lse);
  }
  void MergeStates(const void* outs, const float* lses, int64_t n_states, int64_t rows, int64_t dim,
                   void* out, float* lse) override {
    cpu::MergeStates(static_cast<const float*>(outs), lses, n_states, rows, dim,
                     static_cast<float*>(out), lse);
  }

 private:
  Matrix MatrixOf(int64_t layer, MatrixId which) const {
    const ModelConfig& c = config();
    const Weights& w = m_.weights();
    const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
    if (which == MatrixId::kLmHead) {
      return {&w.lm_head(), &w.q_lm_head(), d, c.vocab_size, nullptr};
    }
    const LayerWeights& L = w.layers[layer];
    switch (which) {
      case MatrixId::kQ:
        return {&L.wq, &L.q_wq, d, q_dim, BiasOf(L.bq)};
      case MatrixId::kK:
        return {&L.wk, &L.q_wk, d, kv_dim, BiasOf(L.bk)};
      case MatrixId::kV:
        return {&L.wv, &L.q_wv, d, kv_dim, BiasOf(L.bv)};
      case MatrixId::kO:
        return {&L.wo, &L.q_wo, q_dim, d, nullptr};
      case MatrixId::kGate:
        return {&L.w_gate, &L.q_w_gate, d, c.d_ff, nullptr};
      case MatrixId::kUp:
        return {&L.w_up, &L.q_w_up, d, c.d_ff, nullptr};
      case MatrixId::kDown:
        return {&L.w_down, &L.q_w_down, c.d_ff, d, nullptr};
      case MatrixId::kLmHead:
        break;
    }
    return {&w.lm_head(), &w.q_lm_head(), d, c.vocab_size, nullptr};
  }

  const Model& m_;
};

class CpuDeviceModel : public DeviceModel {
 public:
  explicit CpuDeviceModel(const Model& m) : m_(m), threads_(omp_get_max_threads()) {}
  std::string_view name() const override { return "cpu"; }
  const Model& model() const override { return m_; }
  std::unique_ptr<Backend> NewHost(int hosts_in_process) override {
    omp_set_num_threads(std::max(1, threads_ / std::max(1, hosts_in_process)));
    return std::make_unique<CpuBackend>(m_);
  }
  std::unique_ptr<HostGroup> NewInProcessGroup(int hosts) override {
    return std::make_unique<HostMemoryGroup>(hosts);
  }
  std::unique_ptr<Communicator> NewWorldData(Communicator& world, Backend&) override {
    return std::make_unique<CommunicatorView>(world);
  }

 private:
  const Model& m_;
  int threads_;  // the process's OpenMP threads when the model was made
};

}  // namespace

std::unique_ptr<DeviceModel> NewCpuDeviceModel(const Model& model) {
  return std::make_unique<CpuDeviceModel>(model);
}

}  // namespace starattn::cpu
