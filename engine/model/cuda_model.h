// A Llama-family model on one GPU: the CPU Model's fp32 weights uploaded in bf16 (or fp16),
// norms, biases and the RoPE table in fp32, a device KV cache, and the forward pass of
// Model::Forward (engine/model/model.h) with cuBLASLt GEMMs (fp32 accumulation), the op kernels
// of engine/cuda and the attention kernels (engine/cuda/attention_fwd.cuh, attention_decode.cuh).
//
// Precision: the residual stream, q/k/v before RoPE, GEMM outputs and logits are fp32; GEMM
// inputs (normed activations, attention output, SwiGLU output) and q/k/v from RoPE on (and so
// the KV cache) are 16-bit.
//
// Threads: CudaWeights is immutable and shared; each host (thread) runs its own CudaModel, which
// owns a stream, a cuBLASLt handle and the activation buffers. Every call makes the weights'
// device current on the calling thread.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "engine/cuda/attention_fwd.cuh"
#include "engine/model/generate.h"
#include "engine/model/model.h"

namespace starattn {

namespace cuda {
class Gemm;
}

enum class DeviceDType { kBf16, kFp16 };
std::string_view DeviceDTypeName(DeviceDType t);
DeviceDType ParseDeviceDType(std::string_view s);  // "bf16" or "fp16"; else Error

// Number of CUDA devices usable here; 0 with `why` set (no driver, no device) otherwise.
int CudaDeviceCount(std::string* why);

class CudaWeights {
 public:
  // Uploads `model`'s weights to `device`; throws Error (one line) when the model does not fit
  // the kernels (head_dim other than 64 or 128) or the device runs out of memory. `model` must
  // outlive this object (its config and tokenizer are used from here).
  CudaWeights(const Model& model, DeviceDType dtype, int device = 0);
  ~CudaWeights();
  CudaWeights(const CudaWeights&) = delete;
  CudaWeights& operator=(const CudaWeights&) = delete;

  struct Layer {
    const float* attn_norm;                                   // [d_model]
    const void *wq, *wk, *wv;                                 // [q_dim | kv_dim, d_model] (dtype)
    const float *bq = nullptr, *bk = nullptr, *bv = nullptr;  // [q_dim | kv_dim] or null
    const void* wo;                                           // [d_model, q_dim]
    const float* ffn_norm;                                    // [d_model]
    const void *w_gate, *w_up;                                // [d_ff, d_model]
    const void* w_down;                                       // [d_model, d_ff]
  };

  const Model& model() const { return model_; }
  const ModelConfig& config() const { return model_.config(); }
  DeviceDType dtype() const { return dtype_; }
  int device() const { return device_; }
  int64_t bytes() const { return bytes_; }  // device memory held
  const Layer& layer(int64_t l) const { return layers_[l]; }
  const void* tok_embd() const { return tok_embd_; }   // [vocab, d_model] (dtype)
  const void* lm_head() const { return lm_head_; }     // [vocab, d_model] (dtype)
  const float* out_norm() const { return out_norm_; }  // [d_model]
  const float* inv_freq() const { return inv_freq_; }  // [n_freq]: Model's RoPE table
  int64_t n_freq() const { return n_freq_; }

 private:
  const void* Upload16(const std::vector<float>& host);
  const float* Upload32(const std::vector<float>& host);

  const Model& model_;
  DeviceDType dtype_;
  int device_;
  int64_t bytes_ = 0;
  std::vector<void*> allocations_;
  float* staging_ = nullptr;  // fp32 upload staging, freed after construction
  std::vector<Layer> layers_;
  const void* tok_embd_ = nullptr;
  const void* lm_head_ = nullptr;
  const float* out_norm_ = nullptr;
  const float* inv_freq_ = nullptr;
  int64_t n_freq_ = 0;
};

// Keys and values of the tokens a host has seen, per layer, on the device (16-bit), in
// insertion order. The device counterpart of KvCache.
class DeviceKvCache {
 public:
  DeviceKvCache(const CudaWeights& w, int64_t capacity);
  ~DeviceKvCache();
  DeviceKvCache(const DeviceKvCache&) = delete;
  DeviceKvCache& operator=(const DeviceKvCache&) = delete;
  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t row_elems() const { return row_elems_; }  // n_kv_heads * head_dim
  int64_t row_bytes() const { return row_elems_ * 2; }
  void* k(int64_t layer) { return k_[layer]; }  // [capacity, n_kv_heads, head_dim]
  void* v(int64_t layer) { return v_[layer]; }
  // k/v rows from `row` on.
  void* k_at(int64_t layer, int64_t row);
  void* v_at(int64_t layer, int64_t row);
  void Resize(int64_t n);  // the first n rows stay valid; n <= capacity
  int64_t used_bytes() const;
  int64_t reserved_bytes() const;

 private:
  int64_t capacity_;
  int64_t row_elems_;
  int64_t size_ = 0;
  std::vector<void*> k_, v_;
};

// The attention kernels behind one call: the split-KV decode kernel for short query blocks,
// flash-attention forward otherwise; an empty key set gives out = 0, lse = -inf. Owns the decode
// workspace (one per host).
//   q:   [n_q, n_heads, head_dim]   k, v: [n_kv, n_kv_heads, head_dim]   (dtype, device)
//   out: [n_q, n_heads, head_dim]   (dtype)   lse: [n_q, n_heads] (fp32) or null
class DeviceAttention {
 public:
  static constexpr int64_t kDecodeMaxQueries = 16;
  explicit DeviceAttention(int device);
  ~DeviceAttention();
  DeviceAttention(const DeviceAttention&) = delete;
  DeviceAttention& operator=(const DeviceAttention&) = delete;
  void Run(DeviceDType dtype, const void* q, const void* k, const void* v,
           const cuda::DeviceAttentionShape& shape, const cuda::DeviceAttentionMask& mask,
           float scale, void* out, float* lse, cudaStream_t stream);

 private:
  int num_sms_ = 0;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

// How a device forward pass attends (the counterpart of LayerAttention): each layer's roped
// q/k/v of the new tokens, 16-bit on the device, ordered on `stream`.
//   q: [n, n_heads, head_dim]   k, v: [n, n_kv_heads, head_dim]   out: [n, n_heads, head_dim]
class DeviceLayerAttention {
 public:
  virtual ~DeviceLayerAttention() = default;
  virtual void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
                      void* out, cudaStream_t stream) = 0;
  // Called once after the last layer.
  virtual void Finish(int64_t n) {}
};

// Dense causal attention over a device cache (CacheAttention's semantics).
class DeviceCacheAttention : public DeviceLayerAttention {
 public:
  DeviceCacheAttention(DeviceKvCache& cache, const ModelConfig& c, DeviceDType dtype, float scale,
                       DeviceAttention& attention)
      : cache_(cache), c_(c), dtype_(dtype), scale_(scale), attention_(attention) {}
  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v, void* out,
              cudaStream_t stream) override;
  void Finish(int64_t n) override { cache_.Resize(cache_.size() + n); }

 private:
  DeviceKvCache& cache_;
  const ModelConfig& c_;
  DeviceDType dtype_;
  float scale_;
  DeviceAttention& attention_;
};

class CudaModel {
 public:
  explicit CudaModel(const CudaWeights& weights);
  ~CudaModel();
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  const CudaWeights& weights() const { return w_; }
  const ModelConfig& config() const { return w_.config(); }
  DeviceDType dtype() const { return w_.dtype(); }
  cudaStream_t stream() const { return stream_; }
  DeviceAttention& attention() { return attention_; }
  float attention_scale() const { return w_.model().attention_scale(); }

  // Model::Forward on the device: tokens [n] at positions [n] (host) through every layer;
  // returns logits [n_out, vocab] (host) with n_out = 1 (kLast), n (kAll) or 0 (kNone, which
  // does not synchronise). Input errors as Model::Forward.
  std::vector<float> Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             DeviceKvCache& cache, LogitsFor which);
  std::vector<float> Forward(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             DeviceLayerAttention& attn, LogitsFor which);
  // Runs the tokens and returns the argmax of the last token's logits, taken on the device:
  // the token id is the only value that comes back.
  int32_t ForwardGreedy(std::span<const int32_t> tokens, std::span<const int32_t> positions,
                        DeviceLayerAttention& attn);

 private:
  // Runs the layers; leaves the logits of the last `logit_rows` tokens in logits_ (device).
  void Run(std::span<const int32_t> tokens, std::span<const int32_t> positions,
           DeviceLayerAttention& attn, int64_t logit_rows);
  void Reserve(int64_t n);
  void ReserveLogits(int64_t rows);

  const CudaWeights& w_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t upload_done_ = nullptr;  // the last token/position upload has left the staging
  std::unique_ptr<cuda::Gemm> gemm_;
  DeviceAttention attention_;
  int64_t cap_ = 0;             // tokens the activation buffers hold
  int32_t* staging_ = nullptr;  // pinned [2, cap_]: tokens then positions
  std::vector<void*> buffers_;
  int32_t* tok_ = nullptr;  // [cap_]
  int32_t* pos_ = nullptr;  // [cap_]
  float* x_ = nullptr;      // [cap_, d_model] residual stream
  void* h16_ = nullptr;     // [cap_, d_model] normed input of a GEMM
  float* q32_ = nullptr;    // [cap_, n_heads, head_dim]
  float* k32_ = nullptr;    // [cap_, n_kv_heads, head_dim]
  float* v32_ = nullptr;
  void* q16_ = nullptr;  // the same in 16 bits
  void* k16_ = nullptr;
  void* v16_ = nullptr;
  void* a16_ = nullptr;             // [cap_, n_heads, head_dim] attention output
  float* o32_ = nullptr;            // [cap_, d_model] output of wo / w_down
  float* gate32_ = nullptr;         // [cap_, d_ff]
  float* up32_ = nullptr;           // [cap_, d_ff]
  void* act16_ = nullptr;           // [cap_, d_ff]
  int64_t logits_cap_ = 0;          // rows
  float* logits_ = nullptr;         // [logits_cap_, vocab]
  int32_t* argmax_ = nullptr;       // [1]
  int32_t* argmax_host_ = nullptr;  // pinned [1]
};

// The greedy loop of DecodeGreedy (engine/model/generate.h) over token ids instead of logits:
// `first` is the argmax after the prompt; each chosen token passes through `agree` and, unless
// generation stops, through `step(token, index)`, which runs it and returns the next argmax.
GenerateResult DecodeGreedyTokens(int32_t first, const Tokenizer* tokenizer,
                                  const GenerateOptions& opts,
                                  const std::function<int32_t(int32_t)>& agree,
                                  const std::function<int32_t(int32_t, int64_t)>& step);

// GenerateGreedy on the device: prefill in chunks of opts.ubatch, then greedy decoding.
GenerateResult CudaGenerateGreedy(CudaModel& model, std::span<const int32_t> prompt,
                                  const GenerateOptions& opts);

}  // namespace starattn
