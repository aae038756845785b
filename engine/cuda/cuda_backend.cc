#include "engine/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <limits>
#include <type_traits>
#include <vector>

#include "engine/common/error.h"
#include "engine/cuda/add.cuh"
#include "engine/cuda/argmax.cuh"
#include "engine/cuda/attention_decode.cuh"
#include "engine/cuda/attention_fwd.cuh"
#include "engine/cuda/cast.cuh"
#include "engine/cuda/check.cuh"
#include "engine/cuda/cublas_check.cuh"
#include "engine/cuda/cuda_weights.h"
#include "engine/cuda/device_communicator.h"
#include "engine/cuda/dtype_dispatch.h"
#include "engine/cuda/embedding.cuh"
#include "engine/cuda/fill.cuh"
#include "engine/cuda/gemm.cuh"
#include "engine/cuda/merge_states.cuh"
#include "engine/cuda/nccl_communicator.h"
#include "engine/cuda/rmsnorm.cuh"
#include "engine/cuda/rope.cuh"
#include "engine/cuda/swiglu.cuh"

namespace starattn::cuda {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Query blocks up to this size use the split-KV decode kernel; larger ones flash forward.
constexpr int64_t kDecodeMaxQueries = 16;

GemmType GemmTypeOf(DType t) {
  switch (t) {
    case DType::kBf16:
      return GemmType::kBf16;
    case DType::kF16:
      return GemmType::kF16;
    case DType::kF32:
      return GemmType::kF32;
  }
  return GemmType::kF32;
}

class CudaBackend : public Backend {
 public:
  explicit CudaBackend(const CudaWeights& w) : w_(w) {
    STARATTN_CUDA_CHECK(cudaSetDevice(w.device()));
    STARATTN_CUDA_CHECK(
        cudaDeviceGetAttribute(&num_sms_, cudaDevAttrMultiProcessorCount, w.device()));
    STARATTN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    gemm_ = std::make_unique<Gemm>();
    // Allocation failures are errors (one line), not aborts, as for every other buffer.
    argmax_ = static_cast<int32_t*>(DeviceAlloc(sizeof(int32_t), "the argmax result"));
    if (const cudaError_t e = cudaMallocHost(&argmax_host_, sizeof(int32_t)); e != cudaSuccess) {
      (void)cudaGetLastError();
      Fail("CUDA: cannot allocate pinned host memory for the argmax result: {}",
           cudaGetErrorString(e));
    }
  }
  ~CudaBackend() override {
    STARATTN_CUDA_CHECK(cudaSetDevice(w_.device()));
    STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (workspace_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(workspace_));
    STARATTN_CUDA_CHECK(cudaFree(argmax_));
    STARATTN_CUDA_CHECK(cudaFreeHost(argmax_host_));
    gemm_.reset();
    STARATTN_CUDA_CHECK(cudaStreamDestroy(stream_));
  }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  cudaStream_t stream() const { return stream_; }

  std::string_view name() const override { return "cuda"; }
  const Model& model() const override { return w_.model(); }
  DType act_dtype() const override { return w_.dtype(); }
  DType kv_dtype() const override { return w_.dtype(); }

  Buffer Alloc(int64_t bytes, std::string_view what) override {
    if (bytes < 0) Fail("CUDA: cannot allocate {} bytes for {}", bytes, what);
    if (bytes == 0) return {};
    return Buffer(this, DeviceAlloc(bytes, what), bytes);
  }
  void Free(void* p) override {
    // Work queued on the stream may still read the buffer.
    STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    STARATTN_CUDA_CHECK(cudaFree(p));
  }
  void Copy(void* dst, const void* src, int64_t bytes) override {
    if (bytes > 0 && dst != src) {
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
    }
  }
  void Copy2D(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t width,
              int64_t rows) override {
    if (width > 0 && rows > 0) {
      STARATTN_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, rows,
                                            cudaMemcpyDeviceToDevice, stream_));
    }
  }
  // From pageable host memory the copy is staged before the call returns, so `host_src` may be
  // reused at once.
  void Upload(void* dst, const void* host_src, int64_t bytes) override {
    if (bytes > 0) {
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    }
  }
  void Download(void* host_dst, const void* src, int64_t bytes) override {
    if (bytes > 0) {
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    }
    Synchronize();
  }
  void Synchronize() override { STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_)); }
  void Convert(const void* src, DType from, void* dst, DType to, int64_t n) override {
    if (from == to) return Copy(dst, src, n * DTypeBytes(from));
    if (from == DType::kF32) {
      Dispatch16(to, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        STARATTN_CUDA_CHECK(
            CastFromFp32<T>(static_cast<const float*>(src), n, static_cast<T*>(dst), stream_));
      });
    } else if (to == DType::kF32) {
      Dispatch16(from, [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        STARATTN_CUDA_CHECK(
            CastToFp32<T>(static_cast<const T*>(src), n, static_cast<float*>(dst), stream_));
      });
    } else {
      Fail("CUDA: no conversion from {} to {}", DTypeName(from), DTypeName(to));
    }
  }
  void Fill(float* dst, int64_t n, float value) override {
    STARATTN_CUDA_CHECK(cuda::Fill(dst, n, value, stream_));
  }

  void Embed(const int32_t* tokens, int64_t n, float* x) override {
    const ModelConfig& c = config();
    Dispatch16(w_.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      STARATTN_CUDA_CHECK(Embedding<T>(static_cast<const T*>(w_.tok_embd()), c.vocab_size,
                                       c.d_model, tokens, n, x, stream_));
    });
  }
  void RmsNorm(const float* x, int64_t layer, NormId which, int64_t n, void* y) override {
    const ModelConfig& c = config();
    const float* norm = which == NormId::kOut    ? w_.out_norm()
                        : which == NormId::kAttn ? w_.layer(layer).attn_norm
                                                 : w_.layer(layer).ffn_norm;
    Dispatch16(w_.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      STARATTN_CUDA_CHECK(
          cuda::RmsNorm<T>(x, norm, n, c.d_model, c.rms_eps, static_cast<T*>(y), stream_));
    });
  }
  void Linear(const void* x, int64_t n, int64_t layer, MatrixId which, float* y) override {
    const ModelConfig& c = config();
    const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
    const void* w = nullptr;
    const float* bias = nullptr;
    int64_t in = d, out = d;
    if (which == MatrixId::kLmHead) {
      w = w_.lm_head();
      out = c.vocab_size;
    } else {
      const CudaWeights::Layer& L = w_.layer(layer);
      switch (which) {
        case MatrixId::kQ:
          w = L.wq, bias = L.bq, out = q_dim;
          break;
        case MatrixId::kK:
          w = L.wk, bias = L.bk, out = kv_dim;
          break;
        case MatrixId::kV:
          w = L.wv, bias = L.bv, out = kv_dim;
          break;
        case MatrixId::kO:
          w = L.wo, in = q_dim;
          break;
        case MatrixId::kGate:
          w = L.w_gate, out = c.d_ff;
          break;
        case MatrixId::kUp:
          w = L.w_up, out = c.d_ff;
          break;
        case MatrixId::kDown:
          w = L.w_down, in = c.d_ff;
          break;
        case MatrixId::kLmHead:
          break;
      }
    }
    STARATTN_CUBLAS_CHECK(
        gemm_->MatMul(x, n, in, w, out, GemmTypeOf(w_.dtype()), y, GemmType::kF32, stream_));
    if (bias != nullptr) STARATTN_CUDA_CHECK(AddBias(y, bias, n, out, stream_));
  }
  void Rope(float* x, int64_t n, int64_t heads, const int32_t* positions) override {
    const DeviceRopeLayout layout = config().rope_layout == RopeLayout::kAdjacentPairs
                                        ? DeviceRopeLayout::kAdjacentPairs
                                        : DeviceRopeLayout::kSplitHalf;
    STARATTN_CUDA_CHECK(cuda::Rope(x, n, heads, config().head_dim, positions, w_.inv_freq(),
                                   w_.n_freq(), layout, stream_));
  }
  void SwiGlu(const float* gate, const float* up, int64_t n, void* out) override {
    Dispatch16(w_.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      STARATTN_CUDA_CHECK(cuda::SwiGlu<T>(gate, up, n, static_cast<T*>(out), stream_));
    });
  }
  void Add(float* x, const float* y, int64_t n) override {
    STARATTN_CUDA_CHECK(AddInPlace(x, y, n, stream_));
  }
  int32_t Argmax(const float* x, int64_t n) override {
    STARATTN_CUDA_CHECK(cuda::Argmax(x, 1, n, argmax_, stream_));
    STARATTN_CUDA_CHECK(
        cudaMemcpyAsync(argmax_host_, argmax_, sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
    Synchronize();
    return *argmax_host_;
  }

  void Attention(const void* q, const void* k, const void* v, const AttnShape& shape,
                 const AttnMask& mask, float scale, void* out, float* lse) override {
    const AttnShape& s = shape;
    if (s.n_q == 0) return;
    if (s.n_kv == 0) {  // nothing visible: the empty state
      STARATTN_CUDA_CHECK(cudaMemsetAsync(
          out, 0, s.n_q * s.n_heads * s.head_dim * DTypeBytes(w_.dtype()), stream_));
      if (lse != nullptr) Fill(lse, s.n_q * s.n_heads, kNegInf);
      return;
    }
    cudaError_t e = cudaSuccess;
    if (s.n_q <= kDecodeMaxQueries) {
      const int splits = AttentionDecodeSplits(shape, num_sms_);
      const size_t need = AttentionDecodeWorkspaceBytes(shape, splits);
      if (need > workspace_bytes_) {
        // Kernels queued on the stream may still use the old workspace.
        Synchronize();
        if (workspace_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(workspace_));
        workspace_ = nullptr;
        workspace_bytes_ = 0;
        workspace_ = DeviceAlloc(need, "the attention workspace");
        workspace_bytes_ = need;
      }
      Dispatch16(w_.dtype(), [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        e = AttentionDecode<T>(static_cast<const T*>(q), static_cast<const T*>(k),
                               static_cast<const T*>(v), shape, mask, scale, splits, workspace_,
                               workspace_bytes_, static_cast<T*>(out), lse, stream_);
      });
    } else {
      Dispatch16(w_.dtype(), [&](auto* tag) {
        using T = std::remove_pointer_t<decltype(tag)>;
        e = AttentionForward<T>(static_cast<const T*>(q), static_cast<const T*>(k),
                                static_cast<const T*>(v), shape, mask, scale, static_cast<T*>(out),
                                lse, stream_);
      });
    }
    if (e == cudaErrorInvalidValue) {
      Fail("CUDA attention: unsupported shape (n_q {}, n_kv {}, heads {}/{}, head_dim {})", s.n_q,
           s.n_kv, s.n_heads, s.n_kv_heads, s.head_dim);
    }
    STARATTN_CUDA_CHECK(e);
  }
  // The sparse and streaming modes have CPU kernels only (issue 14); on the GPU they are an
  // error, raised by the driver's first call before any output.
  void SparseAttention(const void*, const void*, const void*, const AttnShape&, const AttnMask&,
                       const SparseMask&, float, void*, float*, int64_t*) override {
    Fail("--device cuda has no sparse or streaming attention kernels (use --device cpu)");
  }
  void TopkKvAttention(const void*, const void*, const void*, const AttnShape&, const AttnMask&,
                       int64_t, int64_t, int64_t, const float*, const float*, int64_t, float, void*,
                       float*, int64_t*) override {
    Fail("--device cuda has no top-k KV attention kernel (use --device cpu)");
  }
  void KeyMinMax(const void*, int64_t, float*, float*) override {
    Fail("--device cuda has no top-k KV attention kernel (use --device cpu)");
  }
  void MergeStates(const void* outs, const float* lses, int64_t n_states, int64_t rows, int64_t dim,
                   void* out, float* lse) override {
    Dispatch16(w_.dtype(), [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      STARATTN_CUDA_CHECK(cuda::MergeStates<T>(static_cast<const T*>(outs), lses, n_states, rows,
                                               dim, static_cast<T*>(out), lse, stream_));
    });
  }

 private:
  const CudaWeights& w_;
  int num_sms_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Gemm> gemm_;
  void* workspace_ = nullptr;  // split-KV decode partial states
  size_t workspace_bytes_ = 0;
  int32_t* argmax_ = nullptr;       // [1] device
  int32_t* argmax_host_ = nullptr;  // [1] pinned
};

cudaStream_t StreamOf(Backend& be) {
  auto* cuda_be = dynamic_cast<CudaBackend*>(&be);
  if (cuda_be == nullptr) Fail("CUDA communicator: the host's backend is {}, not cuda", be.name());
  return cuda_be->stream();
}

// Logical hosts on one GPU: device-to-device collectives between their streams.
class CudaHostGroup : public HostGroup {
 public:
  CudaHostGroup(int hosts, int device) : group_(hosts, device), data_(hosts) {}
  int size() const override { return group_.size(); }
  Communicator& Host(int rank) override { return group_.Endpoint(rank).host(); }
  Communicator& Data(int rank, Backend& be) override {
    data_[rank] = std::make_unique<StreamCommunicator>(group_.Endpoint(rank), StreamOf(be));
    return *data_[rank];
  }

 private:
  InProcessDeviceGroup group_;
  std::vector<std::unique_ptr<Communicator>> data_;  // made by each host's thread
};

class CudaDeviceModel : public DeviceModel {
 public:
  CudaDeviceModel(const Model& m, DType dtype, int device) : weights_(m, dtype, device) {}
  std::string_view name() const override { return "cuda"; }
  const Model& model() const override { return weights_.model(); }
  int64_t weight_bytes() const override { return weights_.bytes(); }
  std::string precision() const override {
    return fmt::format("compute {0}, kv {0}", DTypeName(weights_.dtype()));
  }
  std::unique_ptr<Backend> NewHost(int) override { return std::make_unique<CudaBackend>(weights_); }
  std::unique_ptr<HostGroup> NewInProcessGroup(int hosts) override {
    return std::make_unique<CudaHostGroup>(hosts, weights_.device());
  }
  std::unique_ptr<Communicator> NewWorldData(Communicator& world, Backend& be) override {
    // NCCL needs one GPU per rank (it rejects two ranks on one device): every rank must see
    // that, else all of them stage through MPI.
    const int own_gpu = LocalRank(world).size <= CudaDeviceCount(nullptr) ? 1 : 0;
    const bool nccl = NcclAvailable() && world.AllReduceSum(own_gpu) == world.size();
    std::unique_ptr<DeviceCommunicator> d = nccl
                                                ? MakeNcclCommunicator(world, weights_.device())
                                                : std::make_unique<StagedDeviceCommunicator>(world);
    DeviceCommunicator& ref = *d;
    return std::make_unique<StreamCommunicator>(ref, StreamOf(be), std::move(d));
  }

 private:
  CudaWeights weights_;
};

}  // namespace

int CudaDeviceCount(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why != nullptr) *why = std::string("no usable CUDA device: ") + cudaGetErrorString(e);
    return 0;
  }
  if (n == 0 && why != nullptr) *why = "no CUDA device";
  return n;
}

std::unique_ptr<DeviceModel> NewCudaDeviceModel(const Model& model, DType dtype, int local_rank) {
  std::string why;
  const int n_dev = CudaDeviceCount(&why);
  if (n_dev == 0) Fail("--device cuda: {}", why);
  return std::make_unique<CudaDeviceModel>(model, dtype, local_rank % n_dev);
}

}  // namespace starattn::cuda

extern "C" const starattn::cuda::BackendEntry* starattn_cuda_backend_entry() {
  static const starattn::cuda::BackendEntry entry = {starattn::cuda::CudaDeviceCount,
                                                     starattn::cuda::NewCudaDeviceModel};
  return &entry;
}
