#include "engine/model/cuda_model.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>

#include "engine/common/error.h"
#include "engine/cpu/ops.h"
#include "engine/cuda/add.cuh"
#include "engine/cuda/argmax.cuh"
#include "engine/cuda/attention_decode.cuh"
#include "engine/cuda/cast.cuh"
#include "engine/cuda/check.cuh"
#include "engine/cuda/cublas_check.cuh"
#include "engine/cuda/embedding.cuh"
#include "engine/cuda/fill.cuh"
#include "engine/cuda/gemm.cuh"
#include "engine/cuda/rmsnorm.cuh"
#include "engine/cuda/rope.cuh"
#include "engine/cuda/swiglu.cuh"

namespace starattn {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

cuda::GemmType GemmTypeOf(DeviceDType t) {
  switch (t) {
    case DeviceDType::kBf16:
      return cuda::GemmType::kBf16;
    case DeviceDType::kFp16:
      return cuda::GemmType::kF16;
  }
  return cuda::GemmType::kBf16;
}

cuda::DeviceRopeLayout RopeLayoutOf(cpu::RopeLayout l) {
  switch (l) {
    case cpu::RopeLayout::kAdjacentPairs:
      return cuda::DeviceRopeLayout::kAdjacentPairs;
    case cpu::RopeLayout::kSplitHalf:
      return cuda::DeviceRopeLayout::kSplitHalf;
  }
  return cuda::DeviceRopeLayout::kSplitHalf;
}

// cudaMalloc with a one-line error on failure (out of memory is an input problem: the model or
// the context is too large for the device), instead of CHECK's abort.
void* DeviceAlloc(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, std::max<size_t>(bytes, 16));
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear it: later launch checks must not report this failure
    Fail("CUDA: cannot allocate {:.1f} MiB for {}: {}", bytes / 1048576.0, what,
         cudaGetErrorString(e));
  }
  return p;
}

// Launches a 16-bit-typed op for the model's dtype.
template <typename F>
void Dispatch(DeviceDType t, F&& f) {
  switch (t) {
    case DeviceDType::kBf16:
      f(static_cast<__nv_bfloat16*>(nullptr));
      return;
    case DeviceDType::kFp16:
      f(static_cast<__half*>(nullptr));
      return;
  }
}

// For member initialisers that need the device current first.
int SetDevice(int device) {
  STARATTN_CUDA_CHECK(cudaSetDevice(device));
  return device;
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

std::string_view DeviceDTypeName(DeviceDType t) {
  switch (t) {
    case DeviceDType::kBf16:
      return "bf16";
    case DeviceDType::kFp16:
      return "fp16";
  }
  return "?";
}

DeviceDType ParseDeviceDType(std::string_view s) {
  if (s == "bf16") return DeviceDType::kBf16;
  if (s == "fp16") return DeviceDType::kFp16;
  Fail("unknown device weight type '{}' (bf16, fp16)", s);
}

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

// ---- CudaWeights --------------------------------------------------------------------------

namespace {
constexpr int64_t kStagingFloats = int64_t{16} << 20;  // 64 MiB of fp32 per upload step
}

CudaWeights::CudaWeights(const Model& model, DeviceDType dtype, int device)
    : model_(model), dtype_(dtype), device_(device) {
  const ModelConfig& c = model.config();
  if (c.head_dim != 64 && c.head_dim != 128) {
    Fail("{}: head_dim {} is not supported on the GPU (the attention kernels take 64 or 128)",
         model.source(), c.head_dim);
  }
  std::string why;
  const int n_dev = CudaDeviceCount(&why);
  if (n_dev == 0) Fail("--device cuda: {}", why);
  if (device < 0 || device >= n_dev)
    Fail("CUDA device {} does not exist ({} found)", device, n_dev);
  STARATTN_CUDA_CHECK(cudaSetDevice(device));
  staging_ = static_cast<float*>(DeviceAlloc(kStagingFloats * sizeof(float), "weight staging"));
  try {
    const Weights& w = model.weights();
    tok_embd_ = Upload16(w.tok_embd);
    lm_head_ = w.output.empty() ? tok_embd_ : Upload16(w.output);
    out_norm_ = Upload32(w.out_norm);
    for (const LayerWeights& L : w.layers) {
      Layer d;
      d.attn_norm = Upload32(L.attn_norm);
      d.wq = Upload16(L.wq);
      d.wk = Upload16(L.wk);
      d.wv = Upload16(L.wv);
      if (!L.bq.empty()) d.bq = Upload32(L.bq);
      if (!L.bk.empty()) d.bk = Upload32(L.bk);
      if (!L.bv.empty()) d.bv = Upload32(L.bv);
      d.wo = Upload16(L.wo);
      d.ffn_norm = Upload32(L.ffn_norm);
      d.w_gate = Upload16(L.w_gate);
      d.w_up = Upload16(L.w_up);
      d.w_down = Upload16(L.w_down);
      layers_.push_back(d);
    }
    // The CPU forward pass's own table, so the two cannot drift apart.
    const std::vector<float>& inv = model.inv_freq();
    inv_freq_ = Upload32(inv);
    n_freq_ = static_cast<int64_t>(inv.size());
    STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  } catch (...) {
    STARATTN_CUDA_CHECK(cudaFree(staging_));
    for (void* p : allocations_) STARATTN_CUDA_CHECK(cudaFree(p));
    throw;
  }
  STARATTN_CUDA_CHECK(cudaFree(staging_));
  staging_ = nullptr;
}

CudaWeights::~CudaWeights() {
  STARATTN_CUDA_CHECK(cudaSetDevice(device_));
  for (void* p : allocations_) STARATTN_CUDA_CHECK(cudaFree(p));
}

const void* CudaWeights::Upload16(const std::vector<float>& host) {
  const int64_t n = static_cast<int64_t>(host.size());
  void* dst = DeviceAlloc(n * 2, "weights");
  allocations_.push_back(dst);
  bytes_ += n * 2;
  for (int64_t i = 0; i < n; i += kStagingFloats) {
    const int64_t m = std::min(kStagingFloats, n - i);
    // Synchronous copy: the staging buffer is reused by the next chunk only after the cast,
    // which the default stream orders after this copy.
    STARATTN_CUDA_CHECK(
        cudaMemcpy(staging_, host.data() + i, m * sizeof(float), cudaMemcpyHostToDevice));
    Dispatch(dtype_, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      STARATTN_CUDA_CHECK(cuda::CastFromFp32<T>(staging_, m, static_cast<T*>(dst) + i, nullptr));
    });
  }
  return dst;
}

const float* CudaWeights::Upload32(const std::vector<float>& host) {
  const int64_t n = static_cast<int64_t>(host.size());
  auto* dst = static_cast<float*>(DeviceAlloc(n * sizeof(float), "weights"));
  allocations_.push_back(dst);
  bytes_ += n * static_cast<int64_t>(sizeof(float));
  STARATTN_CUDA_CHECK(cudaMemcpy(dst, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  return dst;
}

// ---- DeviceKvCache ------------------------------------------------------------------------

DeviceKvCache::DeviceKvCache(const CudaWeights& w, int64_t capacity)
    : capacity_(capacity), row_elems_(w.config().n_kv_heads * w.config().head_dim) {
  if (capacity < 0) Fail("KV cache: negative capacity {}", capacity);
  STARATTN_CUDA_CHECK(cudaSetDevice(w.device()));
  const int64_t layers = w.config().n_layers;
  k_.assign(layers, nullptr);
  v_.assign(layers, nullptr);
  try {
    for (int64_t l = 0; l < layers; ++l) {
      k_[l] = DeviceAlloc(capacity * row_bytes(), "the KV cache");
      v_[l] = DeviceAlloc(capacity * row_bytes(), "the KV cache");
    }
  } catch (...) {
    for (void* p : k_) {
      if (p != nullptr) STARATTN_CUDA_CHECK(cudaFree(p));
    }
    for (void* p : v_) {
      if (p != nullptr) STARATTN_CUDA_CHECK(cudaFree(p));
    }
    throw;
  }
}

DeviceKvCache::~DeviceKvCache() {
  for (void* p : k_) STARATTN_CUDA_CHECK(cudaFree(p));
  for (void* p : v_) STARATTN_CUDA_CHECK(cudaFree(p));
}

void* DeviceKvCache::k_at(int64_t layer, int64_t row) {
  return static_cast<char*>(k_[layer]) + row * row_bytes();
}
void* DeviceKvCache::v_at(int64_t layer, int64_t row) {
  return static_cast<char*>(v_[layer]) + row * row_bytes();
}

void DeviceKvCache::Resize(int64_t n) {
  if (n < 0 || n > capacity_) Fail("KV cache: size {} outside capacity {}", n, capacity_);
  size_ = n;
}

int64_t DeviceKvCache::used_bytes() const {
  return 2 * static_cast<int64_t>(k_.size()) * size_ * row_elems_ * 2;
}
int64_t DeviceKvCache::reserved_bytes() const {
  return 2 * static_cast<int64_t>(k_.size()) * capacity_ * row_elems_ * 2;
}

// ---- DeviceAttention ----------------------------------------------------------------------

DeviceAttention::DeviceAttention(int device) {
  STARATTN_CUDA_CHECK(cudaDeviceGetAttribute(&num_sms_, cudaDevAttrMultiProcessorCount, device));
}

DeviceAttention::~DeviceAttention() {
  if (workspace_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(workspace_));
}

void DeviceAttention::Run(DeviceDType dtype, const void* q, const void* k, const void* v,
                          const cuda::DeviceAttentionShape& shape,
                          const cuda::DeviceAttentionMask& mask, float scale, void* out, float* lse,
                          cudaStream_t stream) {
  if (shape.n_q == 0) return;
  if (shape.n_kv == 0) {  // nothing visible: the empty state
    STARATTN_CUDA_CHECK(
        cudaMemsetAsync(out, 0, shape.n_q * shape.n_heads * shape.head_dim * 2, stream));
    if (lse != nullptr) {
      STARATTN_CUDA_CHECK(cuda::Fill(lse, shape.n_q * shape.n_heads, kNegInf, stream));
    }
    return;
  }
  cudaError_t e = cudaSuccess;
  if (shape.n_q <= kDecodeMaxQueries) {
    const int splits = cuda::AttentionDecodeSplits(shape, num_sms_);
    const size_t need = cuda::AttentionDecodeWorkspaceBytes(shape, splits);
    if (need > workspace_bytes_) {
      // Kernels queued on `stream` may still use the old workspace.
      STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
      if (workspace_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(workspace_));
      workspace_ = nullptr;
      workspace_bytes_ = 0;
      workspace_ = DeviceAlloc(need, "the attention workspace");
      workspace_bytes_ = need;
    }
    Dispatch(dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      e = cuda::AttentionDecode<T>(static_cast<const T*>(q), static_cast<const T*>(k),
                                   static_cast<const T*>(v), shape, mask, scale, splits, workspace_,
                                   workspace_bytes_, static_cast<T*>(out), lse, stream);
    });
  } else {
    Dispatch(dtype, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      e = cuda::AttentionForward<T>(static_cast<const T*>(q), static_cast<const T*>(k),
                                    static_cast<const T*>(v), shape, mask, scale,
                                    static_cast<T*>(out), lse, stream);
    });
  }
  if (e == cudaErrorInvalidValue) {
    Fail("CUDA attention: unsupported shape (n_q {}, n_kv {}, heads {}/{}, head_dim {})", shape.n_q,
         shape.n_kv, shape.n_heads, shape.n_kv_heads, shape.head_dim);
  }
  STARATTN_CUDA_CHECK(e);
}

void DeviceCacheAttention::Attend(int64_t layer, int64_t n, const void* q, const void* k,
                                  const void* v, void* out, cudaStream_t stream) {
  const int64_t past = cache_.size();
  if (past + n > cache_.capacity()) {
    Fail("forward: KV cache full ({} + {} tokens > capacity {})", past, n, cache_.capacity());
  }
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(cache_.k_at(layer, past), k, n * cache_.row_bytes(),
                                      cudaMemcpyDeviceToDevice, stream));
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(cache_.v_at(layer, past), v, n * cache_.row_bytes(),
                                      cudaMemcpyDeviceToDevice, stream));
  const cuda::DeviceAttentionShape shape{n, past + n, c_.n_heads, c_.n_kv_heads, c_.head_dim};
  attention_.Run(dtype_, q, cache_.k(layer), cache_.v(layer), shape, {true, past, 0}, scale_, out,
                 nullptr, stream);
}

// ---- CudaModel ----------------------------------------------------------------------------

CudaModel::CudaModel(const CudaWeights& weights)
    : w_(weights), attention_(SetDevice(weights.device())) {
  STARATTN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  STARATTN_CUDA_CHECK(cudaEventCreateWithFlags(&upload_done_, cudaEventDisableTiming));
  gemm_ = std::make_unique<cuda::Gemm>();
  STARATTN_CUDA_CHECK(cudaMalloc(&argmax_, sizeof(int32_t)));
  STARATTN_CUDA_CHECK(cudaMallocHost(&argmax_host_, sizeof(int32_t)));
}

CudaModel::~CudaModel() {
  STARATTN_CUDA_CHECK(cudaSetDevice(w_.device()));
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (void* p : buffers_) STARATTN_CUDA_CHECK(cudaFree(p));
  if (staging_ != nullptr) STARATTN_CUDA_CHECK(cudaFreeHost(staging_));
  if (logits_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(logits_));
  STARATTN_CUDA_CHECK(cudaFree(argmax_));
  STARATTN_CUDA_CHECK(cudaFreeHost(argmax_host_));
  gemm_.reset();
  STARATTN_CUDA_CHECK(cudaEventDestroy(upload_done_));
  STARATTN_CUDA_CHECK(cudaStreamDestroy(stream_));
}

void CudaModel::Reserve(int64_t n) {
  if (n <= cap_) return;
  const ModelConfig& c = config();
  const int64_t cap = std::max<int64_t>(n, 16);
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (void* p : buffers_) STARATTN_CUDA_CHECK(cudaFree(p));
  buffers_.clear();
  if (staging_ != nullptr) STARATTN_CUDA_CHECK(cudaFreeHost(staging_));
  staging_ = nullptr;
  cap_ = 0;
  STARATTN_CUDA_CHECK(cudaMallocHost(&staging_, 2 * cap * sizeof(int32_t)));
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  auto alloc = [&](int64_t bytes) {
    void* p = DeviceAlloc(bytes, "activations");
    buffers_.push_back(p);
    return p;
  };
  tok_ = static_cast<int32_t*>(alloc(cap * 4));
  pos_ = static_cast<int32_t*>(alloc(cap * 4));
  x_ = static_cast<float*>(alloc(cap * c.d_model * 4));
  h16_ = alloc(cap * c.d_model * 2);
  q32_ = static_cast<float*>(alloc(cap * q_dim * 4));
  k32_ = static_cast<float*>(alloc(cap * kv_dim * 4));
  v32_ = static_cast<float*>(alloc(cap * kv_dim * 4));
  q16_ = alloc(cap * q_dim * 2);
  k16_ = alloc(cap * kv_dim * 2);
  v16_ = alloc(cap * kv_dim * 2);
  a16_ = alloc(cap * q_dim * 2);
  o32_ = static_cast<float*>(alloc(cap * c.d_model * 4));
  gate32_ = static_cast<float*>(alloc(cap * c.d_ff * 4));
  up32_ = static_cast<float*>(alloc(cap * c.d_ff * 4));
  act16_ = alloc(cap * c.d_ff * 2);
  cap_ = cap;
}

void CudaModel::ReserveLogits(int64_t rows) {
  if (rows <= logits_cap_) return;
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (logits_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(logits_));
  logits_ = nullptr;
  logits_cap_ = 0;
  logits_ = static_cast<float*>(DeviceAlloc(rows * config().vocab_size * 4, "logits"));
  logits_cap_ = rows;
}

void CudaModel::Run(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                    DeviceLayerAttention& attn, int64_t logit_rows) {
  const ModelConfig& c = config();
  const int64_t n = static_cast<int64_t>(tokens.size());
  CheckForwardInputs(c, tokens, positions);
  STARATTN_CUDA_CHECK(cudaSetDevice(w_.device()));
  Reserve(n);
  ReserveLogits(logit_rows);
  const int64_t d = c.d_model, q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  const cuda::GemmType t16 = GemmTypeOf(dtype());
  const cuda::GemmType f32 = cuda::GemmType::kF32;
  cudaStream_t s = stream_;
  auto gemm = [&](const void* x, int64_t rows, int64_t in, const void* w, int64_t out, void* y) {
    STARATTN_CUBLAS_CHECK(gemm_->MatMul(x, rows, in, w, out, t16, y, f32, s));
  };

  // Tokens and positions through pinned staging (the previous upload must have left it).
  STARATTN_CUDA_CHECK(cudaEventSynchronize(upload_done_));
  std::copy(tokens.begin(), tokens.end(), staging_);
  std::copy(positions.begin(), positions.end(), staging_ + cap_);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(tok_, staging_, n * 4, cudaMemcpyHostToDevice, s));
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(pos_, staging_ + cap_, n * 4, cudaMemcpyHostToDevice, s));
  STARATTN_CUDA_CHECK(cudaEventRecord(upload_done_, s));

  Dispatch(dtype(), [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    STARATTN_CUDA_CHECK(
        cuda::Embedding<T>(static_cast<const T*>(w_.tok_embd()), c.vocab_size, d, tok_, n, x_, s));
    for (int64_t l = 0; l < c.n_layers; ++l) {
      const CudaWeights::Layer& L = w_.layer(l);
      STARATTN_CUDA_CHECK(
          cuda::RmsNorm<T>(x_, L.attn_norm, n, d, c.rms_eps, static_cast<T*>(h16_), s));
      gemm(h16_, n, d, L.wq, q_dim, q32_);
      gemm(h16_, n, d, L.wk, kv_dim, k32_);
      gemm(h16_, n, d, L.wv, kv_dim, v32_);
      if (L.bq != nullptr) STARATTN_CUDA_CHECK(cuda::AddBias(q32_, L.bq, n, q_dim, s));
      if (L.bk != nullptr) STARATTN_CUDA_CHECK(cuda::AddBias(k32_, L.bk, n, kv_dim, s));
      if (L.bv != nullptr) STARATTN_CUDA_CHECK(cuda::AddBias(v32_, L.bv, n, kv_dim, s));
      const cuda::DeviceRopeLayout layout = RopeLayoutOf(c.rope_layout);
      STARATTN_CUDA_CHECK(
          cuda::Rope(q32_, n, c.n_heads, c.head_dim, pos_, w_.inv_freq(), w_.n_freq(), layout, s));
      STARATTN_CUDA_CHECK(cuda::Rope(k32_, n, c.n_kv_heads, c.head_dim, pos_, w_.inv_freq(),
                                     w_.n_freq(), layout, s));
      STARATTN_CUDA_CHECK(cuda::CastFromFp32<T>(q32_, n * q_dim, static_cast<T*>(q16_), s));
      STARATTN_CUDA_CHECK(cuda::CastFromFp32<T>(k32_, n * kv_dim, static_cast<T*>(k16_), s));
      STARATTN_CUDA_CHECK(cuda::CastFromFp32<T>(v32_, n * kv_dim, static_cast<T*>(v16_), s));
      attn.Attend(l, n, q16_, k16_, v16_, a16_, s);
      gemm(a16_, n, q_dim, L.wo, d, o32_);
      STARATTN_CUDA_CHECK(cuda::AddInPlace(x_, o32_, n * d, s));

      STARATTN_CUDA_CHECK(
          cuda::RmsNorm<T>(x_, L.ffn_norm, n, d, c.rms_eps, static_cast<T*>(h16_), s));
      gemm(h16_, n, d, L.w_gate, c.d_ff, gate32_);
      gemm(h16_, n, d, L.w_up, c.d_ff, up32_);
      STARATTN_CUDA_CHECK(cuda::SwiGlu<T>(gate32_, up32_, n * c.d_ff, static_cast<T*>(act16_), s));
      gemm(act16_, n, c.d_ff, L.w_down, d, o32_);
      STARATTN_CUDA_CHECK(cuda::AddInPlace(x_, o32_, n * d, s));
    }
    attn.Finish(n);
    if (logit_rows > 0) {
      // The last logit_rows tokens: final norm into h16, then the LM head.
      STARATTN_CUDA_CHECK(cuda::RmsNorm<T>(x_ + (n - logit_rows) * d, w_.out_norm(), logit_rows, d,
                                           c.rms_eps, static_cast<T*>(h16_), s));
      gemm(h16_, logit_rows, d, w_.lm_head(), c.vocab_size, logits_);
    }
  });
}

std::vector<float> CudaModel::Forward(std::span<const int32_t> tokens,
                                      std::span<const int32_t> positions, DeviceKvCache& cache,
                                      LogitsFor which) {
  if (cache.size() + static_cast<int64_t>(tokens.size()) > cache.capacity()) {
    Fail("forward: KV cache full ({} + {} tokens > capacity {})", cache.size(), tokens.size(),
         cache.capacity());
  }
  DeviceCacheAttention attn(cache, config(), dtype(), attention_scale(), attention_);
  return Forward(tokens, positions, attn, which);
}

std::vector<float> CudaModel::Forward(std::span<const int32_t> tokens,
                                      std::span<const int32_t> positions,
                                      DeviceLayerAttention& attn, LogitsFor which) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (positions.size() != tokens.size()) {
    Fail("forward: {} tokens but {} positions", n, positions.size());
  }
  if (n == 0) return {};
  int64_t rows = 0;
  switch (which) {
    case LogitsFor::kNone:
      rows = 0;
      break;
    case LogitsFor::kLast:
      rows = 1;
      break;
    case LogitsFor::kAll:
      rows = n;
      break;
  }
  Run(tokens, positions, attn, rows);
  if (rows == 0) return {};
  std::vector<float> logits(rows * config().vocab_size);
  STARATTN_CUDA_CHECK(cudaMemcpyAsync(logits.data(), logits_, logits.size() * sizeof(float),
                                      cudaMemcpyDeviceToHost, stream_));
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return logits;
}

int32_t CudaModel::ForwardGreedy(std::span<const int32_t> tokens,
                                 std::span<const int32_t> positions, DeviceLayerAttention& attn) {
  if (tokens.empty()) Fail("forward: no tokens to sample after");
  Run(tokens, positions, attn, 1);
  STARATTN_CUDA_CHECK(cuda::Argmax(logits_, 1, config().vocab_size, argmax_, stream_));
  STARATTN_CUDA_CHECK(
      cudaMemcpyAsync(argmax_host_, argmax_, sizeof(int32_t), cudaMemcpyDeviceToHost, stream_));
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return *argmax_host_;
}

// ---- Generation ---------------------------------------------------------------------------

GenerateResult DecodeGreedyTokens(int32_t first, const Tokenizer* tok, const GenerateOptions& opts,
                                  const std::function<int32_t(int32_t)>& agree,
                                  const std::function<int32_t(int32_t, int64_t)>& step) {
  // The loop of DecodeGreedy, line for line, with the argmax already taken.
  GenerateResult r;
  r.stop_reason = "max_tokens";
  int32_t candidate = first;
  while (static_cast<int64_t>(r.tokens.size()) < opts.max_new_tokens) {
    const int32_t next = agree(candidate);
    if (opts.stop_at_eog && tok != nullptr && tok->IsEog(next)) {
      r.stop_reason = "eog";
      break;
    }
    r.tokens.push_back(next);
    if (tok != nullptr && !opts.stop_strings.empty()) {
      r.text = tok->Decode(r.tokens, /*skip_special=*/true);
      size_t cut = std::string::npos;
      for (const std::string& s : opts.stop_strings) {
        if (!s.empty()) cut = std::min(cut, r.text.find(s));
      }
      if (cut != std::string::npos) {
        r.text.resize(cut);
        r.stop_reason = "stop_string";
        return r;
      }
    }
    if (static_cast<int64_t>(r.tokens.size()) == opts.max_new_tokens) break;
    candidate = step(next, static_cast<int64_t>(r.tokens.size()) - 1);
  }
  if (tok != nullptr) r.text = tok->Decode(r.tokens, /*skip_special=*/true);
  return r;
}

GenerateResult CudaGenerateGreedy(CudaModel& model, std::span<const int32_t> prompt,
                                  const GenerateOptions& opts) {
  const ModelConfig& c = model.config();
  const int64_t P = static_cast<int64_t>(prompt.size());
  if (P == 0) Fail("prefill: empty prompt");
  if (opts.ubatch <= 0) Fail("prefill: ubatch must be positive");
  if (P + opts.max_new_tokens > c.max_positions) {
    Fail("prompt ({} tokens) + tokens to generate ({}) exceeds the model's context length {}", P,
         opts.max_new_tokens, c.max_positions);
  }
  DeviceKvCache cache(model.weights(), P + opts.max_new_tokens);
  DeviceCacheAttention attn(cache, c, model.dtype(), model.attention_scale(), model.attention());
  auto t0 = std::chrono::steady_clock::now();
  int32_t first = 0;
  for (int64_t i = 0; i < P; i += opts.ubatch) {
    const int64_t n = std::min(opts.ubatch, P - i);
    std::vector<int32_t> pos(n);
    std::iota(pos.begin(), pos.end(), static_cast<int32_t>(i));
    const auto chunk = prompt.subspan(i, n);
    if (i + n == P) {
      first = model.ForwardGreedy(chunk, pos, attn);
    } else {
      model.Forward(chunk, pos, attn, LogitsFor::kNone);
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  const Model& host = model.weights().model();
  GenerateResult r = DecodeGreedyTokens(
      first, host.has_tokenizer() ? &host.tokenizer() : nullptr, opts, [](int32_t t) { return t; },
      [&](int32_t token, int64_t index) {
        const int32_t pos = static_cast<int32_t>(P + index);
        return model.ForwardGreedy(std::span<const int32_t>(&token, 1),
                                   std::span<const int32_t>(&pos, 1), attn);
      });
  r.prefill_seconds = Seconds(t0, t1);
  r.decode_seconds = Seconds(t1, std::chrono::steady_clock::now());
  return r;
}

}  // namespace starattn
