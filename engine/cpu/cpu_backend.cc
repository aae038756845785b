#include "engine/cpu/cpu_backend.h"

#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "engine/common/error.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/attention_state.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/qmatmul.h"
#include "engine/cpu/sparse_attention.h"
#include "engine/cpu/topk_kv.h"

namespace starattn::cpu {
namespace {

// A weight matrix in the CPU's forms.
struct CpuMatrix {
  GemmWeight w;                 // [out, in] in the compute type
  QMatrix q;                    // the exact int8/4-bit form (decode-sized batches), or empty
  const float* bias = nullptr;  // [out] or null
  int64_t bytes() const { return w.bytes() + q.bytes(); }
};

constexpr int kMatricesPerLayer = 7;  // q, k, v, o, gate, up, down

int Slot(MatrixId which) {
  switch (which) {
    case MatrixId::kQ:
      return 0;
    case MatrixId::kK:
      return 1;
    case MatrixId::kV:
      return 2;
    case MatrixId::kO:
      return 3;
    case MatrixId::kGate:
      return 4;
    case MatrixId::kUp:
      return 5;
    case MatrixId::kDown:
      return 6;
    case MatrixId::kLmHead:
      return -1;
  }
  return -1;
}

const float* BiasOf(const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); }

// The model's matrices in the CPU's compute forms, shared by the hosts of the process.
class CpuWeights {
 public:
  CpuWeights(const Model& m, Compute compute) {
    const Weights& w = m.weights();
    const int64_t n_layers = m.config().n_layers;
    layers_.resize(n_layers * kMatricesPerLayer);
    struct Job {
      CpuMatrix* dst;
      const WeightMatrix* src;
      const float* bias;
    };
    std::vector<Job> jobs = {{&tok_embd_, &w.tok_embd, nullptr}};
    if (!w.output.empty()) jobs.push_back({&output_, &w.output, nullptr});
    for (int64_t l = 0; l < n_layers; ++l) {
      const LayerWeights& L = w.layers[l];
      CpuMatrix* d = &layers_[l * kMatricesPerLayer];
      jobs.push_back({d + 0, &L.wq, BiasOf(L.bq)});
      jobs.push_back({d + 1, &L.wk, BiasOf(L.bk)});
      jobs.push_back({d + 2, &L.wv, BiasOf(L.bv)});
      jobs.push_back({d + 3, &L.wo, nullptr});
      jobs.push_back({d + 4, &L.w_gate, nullptr});
      jobs.push_back({d + 5, &L.w_up, nullptr});
      jobs.push_back({d + 6, &L.w_down, nullptr});
    }
    // Largest first, so the threads finish together.
    std::sort(jobs.begin(), jobs.end(),
              [](const Job& a, const Job& b) { return a.src->size() > b.src->size(); });
    std::vector<std::exception_ptr> errors(jobs.size());
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < jobs.size(); ++i) {
      try {
        const Job& j = jobs[i];
        j.dst->w = GemmWeight(j.src->rows(), j.src->cols(), compute);
        j.src->ForEachRowBlock(int64_t{8} << 20, [&](int64_t r0, int64_t n, const float* rows) {
          j.dst->w.SetRows(r0, n, rows);
        });
        j.dst->q = j.src->Blocks32();
        j.dst->q.PackHalfScales();  // exact for GGUF's Q4_0/1, Q5_0/1, Q8_0: fewer bytes
        j.dst->bias = j.bias;
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }

  const CpuMatrix& Get(int64_t layer, MatrixId which) const {
    if (which == MatrixId::kLmHead) return output_.w.empty() ? tok_embd_ : output_;
    return layers_[layer * kMatricesPerLayer + Slot(which)];
  }
  const GemmWeight& embedding() const { return tok_embd_.w; }
  int64_t bytes() const {
    int64_t b = tok_embd_.bytes() + output_.bytes();
    for (const CpuMatrix& m : layers_) b += m.bytes();
    return b;
  }

 private:
  CpuMatrix tok_embd_, output_;    // output_ empty when tied to tok_embd_
  std::vector<CpuMatrix> layers_;  // [n_layers, kMatricesPerLayer]
};

KvType KvTypeOf(DType t) {
  switch (t) {
    case DType::kF32:
      return KvType::kF32;
    case DType::kF16:
      return KvType::kF16;
    case DType::kBf16:
      return KvType::kBf16;
  }
  return KvType::kF32;
}

class CpuBackend : public Backend {
 public:
  CpuBackend(const Model& m, const CpuWeights& w, Compute compute, DType kv)
      : m_(m), w_(w), compute_(compute), kv_(kv) {}

  std::string_view name() const override { return "cpu"; }
  const Model& model() const override { return m_; }
  DType act_dtype() const override { return DType::kF32; }
  DType kv_dtype() const override { return kv_; }

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
    if (from == to) return Copy(dst, src, n * DTypeBytes(from));
    const auto* s16 = static_cast<const uint16_t*>(src);
    auto* d16 = static_cast<uint16_t*>(dst);
    const auto* s32 = static_cast<const float*>(src);
    auto* d32 = static_cast<float*>(dst);
    if (from == DType::kF32 && to == DType::kBf16) return FloatToBf16(s32, n, d16);
    if (from == DType::kF32 && to == DType::kF16) return FloatToHalf(s32, n, d16);
    if (from == DType::kBf16 && to == DType::kF32) return Bf16ToFloat(s16, n, d32);
    if (from == DType::kF16 && to == DType::kF32) return HalfToFloat(s16, n, d32);
    Fail("cpu backend: no conversion from {} to {}", DTypeName(from), DTypeName(to));
  }
  void Fill(float* dst, int64_t n, float value) override { std::fill(dst, dst + n, value); }

  void Embed(const int32_t* tokens, int64_t n, float* x) override {
    const int64_t d = config().d_model;
    for (int64_t t = 0; t < n; ++t) w_.embedding().GetRow(tokens[t], x + t * d);
  }
  void RmsNorm(const float* x, int64_t layer, NormId which, int64_t n, void* y) override {
    const Weights& w = m_.weights();
    const std::vector<float>& norm = which == NormId::kOut    ? w.out_norm
                                     : which == NormId::kAttn ? w.layers[layer].attn_norm
                                                              : w.layers[layer].ffn_norm;
    cpu::RmsNorm(x, norm.data(), n, config().d_model, config().rms_eps, static_cast<float*>(y));
  }
  void Linear(const void* x, int64_t n, int64_t layer, MatrixId which, float* y) override {
    const CpuMatrix& mat = w_.Get(layer, which);
    const auto* xf = static_cast<const float*>(x);
    if (!mat.q.empty() && n <= kQMatMulMaxRows) {
      QMatMul(xf, n, mat.q, mat.bias, y);
    } else {
      Gemm(xf, n, mat.w, mat.bias, y);
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
    cpu::Attention(static_cast<const float*>(q), k, v, KvTypeOf(kv_), s, mask, scale, compute_,
                   static_cast<float*>(out), lse);
  }
  void SparseAttention(const void* q, const void* k, const void* v, const AttnShape& s,
                       const AttnMask& mask, const SparseMask& sparse, float scale, void* out,
                       float* lse, int64_t* scores) override {
    int64_t computed = 0;
    cpu::SparseAttention(static_cast<const float*>(q), k, v, KvTypeOf(kv_), s, mask, sparse, scale,
                         compute_, static_cast<float*>(out), lse, &computed);
    if (scores != nullptr) *scores += computed;
  }
  void TopkKvAttention(const void* q, const void* k, const void* v, const AttnShape& s,
                       const AttnMask& mask, int64_t sink, int64_t block, int64_t n_context_blocks,
                       const float* kmin, const float* kmax, int64_t top_k, float scale, void* out,
                       float* lse, int64_t* bytes_read) override {
    TopkKvTraffic traffic;
    cpu::TopkKvAttention(static_cast<const float*>(q), k, v, KvTypeOf(kv_), s, mask,
                         {sink, block, n_context_blocks}, kmin, kmax, top_k, scale,
                         static_cast<float*>(out), lse, &traffic, nullptr);
    if (bytes_read != nullptr) *bytes_read += traffic.kv_bytes + traffic.summary_bytes;
  }
  void KeyMinMax(const void* k, int64_t n_rows, float* kmin, float* kmax) override {
    const int64_t hd = config().head_dim, kvh = config().n_kv_heads;
    const int64_t eb = DTypeBytes(kv_);
    for (int64_t h = 0; h < kvh; ++h) {
      BlockMinMax(static_cast<const char*>(k) + h * hd * eb, KvTypeOf(kv_), kvh * hd, n_rows, hd,
                  kmin + h * hd, kmax + h * hd);
    }
  }
  void MergeStates(const void* outs, const float* lses, int64_t n_states, int64_t rows, int64_t dim,
                   void* out, float* lse) override {
    cpu::MergeStates(static_cast<const float*>(outs), lses, n_states, rows, dim,
                     static_cast<float*>(out), lse);
  }

 private:
  const Model& m_;
  const CpuWeights& w_;
  Compute compute_;
  DType kv_;
};

// glibc raises its mmap threshold to the largest buffer freed (up to 32 MiB), after which large
// buffers (weight row blocks, activations, K/V) come from arenas that keep their pages resident
// after free. A fixed 1 MiB threshold sends every large buffer back to the system on free.
void ReturnLargeBuffersToTheSystem() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    return true;
  }();
  (void)once;
}

class CpuDeviceModel : public DeviceModel {
 public:
  CpuDeviceModel(const Model& m, Compute compute, DType kv)
      : m_(m),
        compute_(compute),
        kv_(kv),
        threads_(omp_get_max_threads()),
        w_((ReturnLargeBuffersToTheSystem(), m), compute) {}
  std::string_view name() const override { return "cpu"; }
  const Model& model() const override { return m_; }
  int64_t weight_bytes() const override { return w_.bytes(); }
  std::string precision() const override {
    return fmt::format("compute {}, kv {}", ComputeName(compute_), DTypeName(kv_));
  }
  std::unique_ptr<Backend> NewHost(int hosts_in_process) override {
    omp_set_num_threads(std::max(1, threads_ / std::max(1, hosts_in_process)));
    return std::make_unique<CpuBackend>(m_, w_, compute_, kv_);
  }
  std::unique_ptr<HostGroup> NewInProcessGroup(int hosts) override {
    return std::make_unique<HostMemoryGroup>(hosts);
  }
  std::unique_ptr<Communicator> NewWorldData(Communicator& world, Backend&) override {
    return std::make_unique<CommunicatorView>(world);
  }

 private:
  const Model& m_;
  Compute compute_;
  DType kv_;
  int threads_;  // the process's OpenMP threads when the model was made
  CpuWeights w_;
};

}  // namespace

std::unique_ptr<DeviceModel> NewCpuDeviceModel(const Model& model, Compute compute, DType kv) {
  return std::make_unique<CpuDeviceModel>(model, compute, kv);
}

}  // namespace starattn::cpu
