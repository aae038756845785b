// A model's weights on one GPU: the model file's matrices uploaded in bf16 (or fp16), row block
// by row block;
// norms, biases and the RoPE table in fp32. Immutable once made and shared by the hosts (threads)
// of the process that use this GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/backend.h"

namespace starattn::cuda {

// cudaMalloc with a one-line error on failure (out of memory is an input problem: the model or
// the context is too large for the device) instead of CHECK's abort.
void* DeviceAlloc(size_t bytes, std::string_view what);

class CudaWeights {
 public:
  // Uploads `model`'s weights to `device`; throws Error (one line) when the model does not fit
  // the kernels (head_dim other than 64 or 128), the type is not 16-bit, or the device runs out
  // of memory. `model` must outlive this object.
  CudaWeights(const Model& model, DType dtype, int device);
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
  DType dtype() const { return dtype_; }
  int device() const { return device_; }
  int64_t bytes() const { return bytes_; }  // device memory held
  const Layer& layer(int64_t l) const { return layers_[l]; }
  const void* tok_embd() const { return tok_embd_; }   // [vocab, d_model] (dtype)
  const void* lm_head() const { return lm_head_; }     // [vocab, d_model] (dtype)
  const float* out_norm() const { return out_norm_; }  // [d_model]
  const float* inv_freq() const { return inv_freq_; }  // [n_freq]: Model's RoPE table
  int64_t n_freq() const { return n_freq_; }

 private:
  const void* Upload16(const WeightMatrix& w);
  const float* Upload32(const std::vector<float>& host);

  const Model& model_;
  DType dtype_;
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

}  // namespace starattn::cuda
