// The two interfaces the model and the phase driver are written against, once for every kind of
// hardware:
//   Backend      one host's execution context: memory, the model's ops over the weights it
//                holds in its own form, attention returning its state {out, lse}, the merge.
//   DeviceModel  a model loaded onto one kind of hardware for this process: the weights in the
//                backend's form, shared by every host the process runs; it makes the hosts'
//                Backends and the communicators over their memory.
// Implementations: engine/cpu/cpu_backend.h (Eigen/OpenBLAS/OpenMP) and
// engine/cuda/cuda_backend.h (CUDA + cuBLASLt); engine/backends/registry.h picks one by name.
//
// Pointers handed to a Backend point into its own memory (host memory for the CPU backend,
// device memory for CUDA) unless a parameter says "host". Calls are ordered: a CUDA backend
// queues them on its stream; Download, Argmax and Synchronize wait for what was queued.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/common/attention_shape.h"
#include "engine/common/sparse_mask.h"
#include "engine/dist/communicator.h"
#include "engine/model/model.h"

namespace starattn {

// Element types in backend memory.
enum class DType { kF32, kBf16, kF16 };
int64_t DTypeBytes(DType t);
std::string_view DTypeName(DType t);
DType ParseDType(std::string_view s);  // "f32", "bf16", "f16" (or "fp16"); else Error

class Backend;

// Backend memory owned by the backend that made it (Backend::Alloc). Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend* owner, void* data, int64_t bytes) : owner_(owner), data_(data), bytes_(bytes) {}
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Release(); }

  void* data() const { return data_; }
  int64_t bytes() const { return bytes_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  // The address `offset` bytes in.
  char* at(int64_t offset) const { return static_cast<char*>(data_) + offset; }
  // Frees the memory now.
  void Release();
  // Gives up ownership without freeing; returns the memory (the owner's Free must free it).
  void* Detach();

 private:
  Backend* owner_ = nullptr;
  void* data_ = nullptr;
  int64_t bytes_ = 0;
};

// Which weight of the model an op reads. `layer` selects the transformer layer; the final norm
// and the LM head ignore it.
enum class MatrixId { kQ, kK, kV, kO, kGate, kUp, kDown, kLmHead };
enum class NormId { kAttn, kFfn, kOut };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  // The model whose weights the backend holds (config, tokenizer).
  virtual const Model& model() const = 0;
  const ModelConfig& config() const { return model().config(); }
  // The type of the activations GEMMs and attention read and write (normed inputs, q/k/v, the
  // attention output, the SwiGLU output). The residual stream, GEMM outputs, RoPE and the
  // log-sum-exps are fp32 on every backend.
  virtual DType act_dtype() const = 0;
  // The type of K and V in caches.
  virtual DType kv_dtype() const = 0;

  // ---- Memory
  // Throws Error (one line: what, how much) when the memory cannot be had.
  virtual Buffer Alloc(int64_t bytes, std::string_view what) = 0;
  virtual void Free(void* p) = 0;  // Buffer's release; p came from Alloc
  virtual void Copy(void* dst, const void* src, int64_t bytes) = 0;
  // `rows` runs of `width` bytes: dst + r * dst_pitch <- src + r * src_pitch.
  virtual void Copy2D(void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch,
                      int64_t width, int64_t rows) = 0;
  virtual void Upload(void* dst, const void* host_src, int64_t bytes) = 0;
  virtual void Download(void* host_dst, const void* src, int64_t bytes) = 0;  // waits
  virtual void Synchronize() = 0;
  // n elements of type `from` to `to` (round to nearest even; a copy when the types agree;
  // src == dst only then).
  virtual void Convert(const void* src, DType from, void* dst, DType to, int64_t n) = 0;
  virtual void Fill(float* dst, int64_t n, float value) = 0;

  // ---- The model's ops
  //   tokens: [n] int32                      x: [n, d_model] fp32
  virtual void Embed(const int32_t* tokens, int64_t n, float* x) = 0;
  //   x: [n, d_model] fp32                   y: [n, d_model] act_dtype
  virtual void RmsNorm(const float* x, int64_t layer, NormId which, int64_t n, void* y) = 0;
  //   x: [n, in] act_dtype                   y: [n, out] fp32 = x * w^T (+ the model's bias)
  virtual void Linear(const void* x, int64_t n, int64_t layer, MatrixId which, float* y) = 0;
  //   x: [n, heads, head_dim] fp32, rotated in place; positions: [n] int32
  virtual void Rope(float* x, int64_t n, int64_t heads, const int32_t* positions) = 0;
  //   gate, up: [n] fp32                     out: [n] act_dtype = silu(gate) * up
  virtual void SwiGlu(const float* gate, const float* up, int64_t n, void* out) = 0;
  //   x: [n] += y: [n]   (fp32)
  virtual void Add(float* x, const float* y, int64_t n) = 0;
  //   x: [n] fp32 -> the index of its largest value (the first on ties), on the host; waits.
  virtual int32_t Argmax(const float* x, int64_t n) = 0;

  // ---- Attention and its state (engine/common/attention_shape.h: layout and visibility)
  //   q: act_dtype   k, v: kv_dtype   out: act_dtype   lse: fp32 or null
  virtual void Attention(const void* q, const void* k, const void* v, const AttnShape& shape,
                         const AttnMask& mask, float scale, void* out, float* lse) = 0;
  // Attention restricted per query head by `sparse` (engine/common/sparse_mask.h); adds the
  // (query, head, key) score pairs it computed to *scores (may be null).
  virtual void SparseAttention(const void* q, const void* k, const void* v, const AttnShape& shape,
                               const AttnMask& mask, const SparseMask& sparse, float scale,
                               void* out, float* lse, int64_t* scores) = 0;
  // Decoding with a top-k KV cache: the rows of k/v are sink [0, sink), context blocks of
  // `block` rows, and recency after them; each step attends to sink + the top_k context blocks
  // with the largest Quest bounds (kmin/kmax: [n_context_blocks, n_kv_heads, head_dim] fp32) +
  // recency. Adds the K/V and summary bytes it read to *bytes_read (may be null).
  virtual void TopkKvAttention(const void* q, const void* k, const void* v, const AttnShape& shape,
                               const AttnMask& mask, int64_t sink, int64_t block,
                               int64_t n_context_blocks, const float* kmin, const float* kmax,
                               int64_t top_k, float scale, void* out, float* lse,
                               int64_t* bytes_read) = 0;
  // Channel-wise min and max over n_rows rows of every kv head's keys:
  //   k: [n_rows, n_kv_heads, head_dim] (kv_dtype)   kmin, kmax: [n_kv_heads, head_dim] fp32
  virtual void KeyMinMax(const void* k, int64_t n_rows, float* kmin, float* kmax) = 0;
  // Merges n_states states row by row (engine/cpu/attention_state.h's semantics):
  //   outs: [n_states, rows, dim] act_dtype   lses: [n_states, rows]
  //   out:  [rows, dim] act_dtype             lse:  [rows]
  // out and lse must not alias the inputs.
  virtual void MergeStates(const void* outs, const float* lses, int64_t n_states, int64_t rows,
                           int64_t dim, void* out, float* lse) = 0;
};

// A group of logical hosts in this process: host r's communicators, used by host r's thread.
//   host: host memory (sampled tokens, statistics)
//   data: the backend's memory (attention states, K/V blocks); for the CPU the same object.
class HostGroup {
 public:
  virtual ~HostGroup() = default;
  virtual int size() const = 0;
  virtual Communicator& Host(int rank) = 0;
  // Rank r's communicator over `be`'s memory; called once by host r's thread with its backend.
  virtual Communicator& Data(int rank, Backend& be) = 0;
};

class DeviceModel {
 public:
  virtual ~DeviceModel() = default;
  virtual std::string_view name() const = 0;
  virtual const Model& model() const = 0;
  // Bytes of the weights in the backend's compute forms (host or device memory).
  virtual int64_t weight_bytes() const = 0;
  // The arithmetic and K/V types, for records and manifests ("compute bf16, kv bf16").
  virtual std::string precision() const = 0;
  // One host's execution context, made on (and used by) the thread that runs the host; it must
  // not outlive this DeviceModel (it uses its weights).
  // `hosts_in_process`: how many hosts share this process's hardware (the CPU splits its threads).
  virtual std::unique_ptr<Backend> NewHost(int hosts_in_process) = 0;
  virtual std::unique_ptr<HostGroup> NewInProcessGroup(int hosts) = 0;
  // The communicator over `be`'s memory for this process as one rank of `world` (MPI). The
  // CPU returns a view of `world` itself.
  virtual std::unique_ptr<Communicator> NewWorldData(Communicator& world, Backend& be) = 0;
};

// Logical hosts of backends whose memory is host memory (the CPU): one in-process group serves
// as both links.
class HostMemoryGroup : public HostGroup {
 public:
  explicit HostMemoryGroup(int hosts) : group_(hosts) {}
  int size() const override { return group_.size(); }
  Communicator& Host(int rank) override { return group_.Endpoint(rank); }
  Communicator& Data(int rank, Backend&) override { return group_.Endpoint(rank); }

 private:
  InProcessGroup group_;
};

// A Communicator that forwards every call to another one (the CPU's data communicator).
class CommunicatorView : public Communicator {
 public:
  explicit CommunicatorView(Communicator& c) : c_(c) {}
  int rank() const override { return c_.rank(); }
  int size() const override { return c_.size(); }
  std::string kind() const override { return c_.kind(); }
  void AllGather(const void* send, size_t bytes, void* recv) override {
    c_.AllGather(send, bytes, recv);
  }
  void Broadcast(void* buf, size_t bytes, int root) override { c_.Broadcast(buf, bytes, root); }
  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src) override {
    c_.SendRecv(send, send_bytes, dest, recv, recv_bytes, src);
  }
  void Barrier() override { c_.Barrier(); }

 private:
  Communicator& c_;
};

}  // namespace starattn
