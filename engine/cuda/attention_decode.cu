#include <algorithm>
#include <cmath>

#include "engine/cuda/attention_decode.cuh"
#include "engine/cuda/convert.cuh"
#include "engine/cuda/mma.cuh"

namespace starattn::cuda {
namespace {

using detail::Unpack8;

constexpr int kMaxGroup = 8;  // query heads per CTA; larger GQA groups use more head chunks
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kMinKeysPerSplit = 256;
constexpr int kMaxSplits = 256;
constexpr float kLn2 = 0.6931471805599453f;

// Merges state (m2, l2, acc2) into (m, l, acc); log2 domain, m = -inf means empty.
template <int N>
__device__ __forceinline__ void MergeInto(float& m, float& l, float (&acc)[N], float m2, float l2,
                                          const float (&acc2)[N]) {
  const float mn = fmaxf(m, m2);
  if (mn == -INFINITY) return;
  const float a = exp2f(m - mn);
  const float b = exp2f(m2 - mn);
  l = l * a + l2 * b;
#pragma unroll
  for (int e = 0; e < N; ++e) acc[e] = acc[e] * a + acc2[e] * b;
  m = mn;
}

// Grid: x = split, y = kv head * group_chunks + chunk, z = query. A warp covers kKeysPerWarp
// keys per step, kLanes lanes per key, 8 elements (16 bytes) of head_dim per lane.
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    DecodeSplitKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                      int n_q, int n_kv, int n_heads, int n_kv_heads, int group, int group_chunks,
                      int diag, bool causal, float scale_log2, int n_splits,
                      float* __restrict__ part_out, float* __restrict__ part_lse) {
  constexpr int kLanes = D / 8;
  constexpr int kKeysPerWarp = 32 / kLanes;
  constexpr int kStep = kWarps * kKeysPerWarp;
  __shared__ float s_acc[kWarps][kMaxGroup][D];
  __shared__ float s_m[kWarps][kMaxGroup];
  __shared__ float s_l[kWarps][kMaxGroup];

  const int split = blockIdx.x;
  const int kh = blockIdx.y / group_chunks;
  const int chunk = blockIdx.y % group_chunks;
  const int qi = blockIdx.z;
  const int h0 = kh * group + chunk * kMaxGroup;
  const int ng = min(kMaxGroup, group - chunk * kMaxGroup);
  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int sub = lane / kLanes;  // which key of the warp's step
  const int d0 = (lane % kLanes) * 8;

  const int n_vis = causal ? max(0, min(n_kv, qi + diag + 1)) : n_kv;
  const int per_split = (n_vis + n_splits - 1) / n_splits;
  const int j_begin = min(n_vis, split * per_split);
  const int j_end = min(n_vis, j_begin + per_split);

  // This lane's slice of each query head, pre-scaled into the log2 domain.
  float qv[kMaxGroup][8];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g < ng) {
      const uint4 u = *reinterpret_cast<const uint4*>(
          q + (static_cast<int64_t>(qi) * n_heads + h0 + g) * D + d0);
      Unpack8<T>(u, qv[g]);
#pragma unroll
      for (int e = 0; e < 8; ++e) qv[g][e] *= scale_log2;
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) qv[g][e] = 0.f;
    }
  }

  float m[kMaxGroup], l[kMaxGroup], acc[kMaxGroup][8];
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < 8; ++e) acc[g][e] = 0.f;
  }

  const int64_t kv_stride = static_cast<int64_t>(n_kv_heads) * D;
  const T* kbase = k + static_cast<int64_t>(kh) * D + d0;
  const T* vbase = v + static_cast<int64_t>(kh) * D + d0;
  auto load = [&](int j, uint4& kr, uint4& vr) {
    if (j < j_end) {
      kr = __ldg(reinterpret_cast<const uint4*>(kbase + j * kv_stride));
      vr = __ldg(reinterpret_cast<const uint4*>(vbase + j * kv_stride));
    } else {
      kr = make_uint4(0, 0, 0, 0);
      vr = kr;
    }
  };

  // Warp-uniform loop (the shuffles need every lane); one step of prefetch.
  int jb = j_begin + warp * kKeysPerWarp;
  uint4 kr, vr;
  load(jb + sub, kr, vr);
  for (; jb < j_end; jb += kStep) {
    uint4 kn, vn;
    load(jb + kStep + sub, kn, vn);
    const bool ok = jb + sub < j_end;
    float kf[8], vf[8];
    Unpack8<T>(kr, kf);
    Unpack8<T>(vr, vf);
#pragma unroll
    for (int g = 0; g < kMaxGroup; ++g) {
      if (g >= ng) break;
      float dot = 0.f;
#pragma unroll
      for (int e = 0; e < 8; ++e) dot = fmaf(qv[g][e], kf[e], dot);
#pragma unroll
      for (int off = kLanes / 2; off > 0; off /= 2) dot += __shfl_xor_sync(0xffffffffu, dot, off);
      if (ok) {
        const float mn = fmaxf(m[g], dot);
        const float a = exp2f(m[g] - mn);
        const float p = exp2f(dot - mn);
        l[g] = l[g] * a + p;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[g][e] = fmaf(p, vf[e], acc[g][e] * a);
        m[g] = mn;
      }
    }
    kr = kn;
    vr = vn;
  }

  // Merge the warp's key lanes (lanes with equal d0), then the warps through shared memory.
#pragma unroll
  for (int g = 0; g < kMaxGroup; ++g) {
    if (g >= ng) break;
#pragma unroll
    for (int off = kLanes; off < 32; off *= 2) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m[g], off);
      const float l2 = __shfl_xor_sync(0xffffffffu, l[g], off);
      float acc2[8];
#pragma unroll
      for (int e = 0; e < 8; ++e) acc2[e] = __shfl_xor_sync(0xffffffffu, acc[g][e], off);
      MergeInto(m[g], l[g], acc[g], m2, l2, acc2);
    }
    if (sub == 0) {
#pragma unroll
      for (int e = 0; e < 8; ++e) s_acc[warp][g][d0 + e] = acc[g][e];
      if (d0 == 0) {
        s_m[warp][g] = m[g];
        s_l[warp][g] = l[g];
      }
    }
  }
  __syncthreads();

  const int64_t rows = static_cast<int64_t>(n_q) * n_heads;
  for (int idx = tid; idx < ng * D; idx += kThreads) {
    const int g = idx / D;
    const int d = idx % D;
    float mx = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, s_m[w][g]);
    const int64_t row = static_cast<int64_t>(qi) * n_heads + h0 + g;
    float o = 0.f;
    float lsum = 0.f;
    if (mx != -INFINITY) {
#pragma unroll
      for (int w = 0; w < kWarps; ++w) {
        const float a = exp2f(s_m[w][g] - mx);
        lsum += s_l[w][g] * a;
        o += s_acc[w][g][d] * a;
      }
      o /= lsum;
    }
    part_out[(split * rows + row) * D + d] = o;
    if (d == 0)
      part_lse[split * rows + row] = mx == -INFINITY ? -INFINITY : (mx + log2f(lsum)) * kLn2;
  }
}

// One block per row: the MergeStates rule over n_splits fp32 partials, out in T.
template <typename T, int D>
__global__ void __launch_bounds__(D)
    DecodeMergeKernel(const float* __restrict__ part_out, const float* __restrict__ part_lse,
                      int n_splits, int64_t rows, T* __restrict__ out, float* __restrict__ lse) {
  const int64_t r = blockIdx.x;
  const int d = threadIdx.x;
  float mx = -INFINITY;
  for (int s = 0; s < n_splits; ++s) {
    const float x = part_lse[s * rows + r];
    if (x > -INFINITY && x < INFINITY) mx = fmaxf(mx, x);
  }
  if (mx == -INFINITY) {
    out[r * D + d] = FromFloat<T>(0.f);
    if (d == 0 && lse != nullptr) lse[r] = -INFINITY;
    return;
  }
  float wsum = 0.f;
  float acc = 0.f;
  for (int s = 0; s < n_splits; ++s) {
    const float x = part_lse[s * rows + r];
    if (x > -INFINITY && x < INFINITY) {
      const float w = __expf(x - mx);
      wsum += w;
      acc += w * part_out[(s * rows + r) * D + d];
    }
  }
  out[r * D + d] = FromFloat<T>(acc / wsum);
  if (d == 0 && lse != nullptr) lse[r] = mx + logf(wsum);
}

template <typename T, int D>
cudaError_t Launch(const T* q, const T* k, const T* v, const DeviceAttentionShape& shape, int diag,
                   bool causal, float scale, int n_splits, float* part_out, float* part_lse, T* out,
                   float* lse, cudaStream_t stream) {
  const int group = static_cast<int>(shape.n_heads / shape.n_kv_heads);
  const int group_chunks = (group + kMaxGroup - 1) / kMaxGroup;
  const dim3 grid(static_cast<unsigned>(n_splits),
                  static_cast<unsigned>(shape.n_kv_heads * group_chunks),
                  static_cast<unsigned>(shape.n_q));
  DecodeSplitKernel<T, D><<<grid, kThreads, 0, stream>>>(
      q, k, v, static_cast<int>(shape.n_q), static_cast<int>(shape.n_kv),
      static_cast<int>(shape.n_heads), static_cast<int>(shape.n_kv_heads), group, group_chunks,
      diag, causal, scale * 1.4426950408889634f, n_splits, part_out, part_lse);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  const int64_t rows = shape.n_q * shape.n_heads;
  DecodeMergeKernel<T, D>
      <<<static_cast<unsigned>(rows), D, 0, stream>>>(part_out, part_lse, n_splits, rows, out, lse);
  return cudaGetLastError();
}

}  // namespace

int AttentionDecodeSplits(const DeviceAttentionShape& shape, int num_sms) {
  const int64_t group = shape.n_kv_heads > 0 ? shape.n_heads / shape.n_kv_heads : 1;
  const int64_t ctas =
      std::max<int64_t>(1, shape.n_q * shape.n_kv_heads * ((group + kMaxGroup - 1) / kMaxGroup));
  const int64_t want = (4 * static_cast<int64_t>(std::max(num_sms, 1)) + ctas - 1) / ctas;
  const int64_t by_len = std::max<int64_t>(1, shape.n_kv / kMinKeysPerSplit);
  return static_cast<int>(std::clamp<int64_t>(std::min(want, by_len), 1, kMaxSplits));
}

size_t AttentionDecodeWorkspaceBytes(const DeviceAttentionShape& shape, int n_splits) {
  const int64_t rows = shape.n_q * shape.n_heads;
  // Partial outs first (16-byte aligned for any rows when head_dim % 4 == 0), then lses.
  return static_cast<size_t>(std::max(n_splits, 0)) * static_cast<size_t>(rows) *
         static_cast<size_t>(shape.head_dim + 1) * sizeof(float);
}

template <typename T>
cudaError_t AttentionDecode(const T* q, const T* k, const T* v, const DeviceAttentionShape& shape,
                            const DeviceAttentionMask& mask, float scale, int n_splits,
                            void* workspace, size_t workspace_bytes, T* out, float* lse,
                            cudaStream_t stream) {
  constexpr int64_t kMaxLen = int64_t{1} << 30;
  if (shape.n_q < 0 || shape.n_kv < 0 || shape.n_q > 65535 || shape.n_kv > kMaxLen ||
      shape.n_heads <= 0 || shape.n_kv_heads <= 0 || shape.n_heads % shape.n_kv_heads != 0 ||
      n_splits < 1 || n_splits > 65535 ||
      workspace_bytes < AttentionDecodeWorkspaceBytes(shape, n_splits)) {
    return cudaErrorInvalidValue;
  }
  if (shape.n_q == 0) return cudaSuccess;
  const int64_t diag64 =
      std::clamp<int64_t>(mask.q_offset - mask.k_offset, -shape.n_q - 1, shape.n_kv);
  const int diag = static_cast<int>(diag64);
  const int64_t rows = shape.n_q * shape.n_heads;
  float* part_out = static_cast<float*>(workspace);
  float* part_lse = part_out + static_cast<int64_t>(n_splits) * rows * shape.head_dim;
  switch (shape.head_dim) {
    case 64:
      return Launch<T, 64>(q, k, v, shape, diag, mask.causal, scale, n_splits, part_out, part_lse,
                           out, lse, stream);
    case 128:
      return Launch<T, 128>(q, k, v, shape, diag, mask.causal, scale, n_splits, part_out, part_lse,
                            out, lse, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

template cudaError_t AttentionDecode<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*,
                                                    const __nv_bfloat16*,
                                                    const DeviceAttentionShape&,
                                                    const DeviceAttentionMask&, float, int, void*,
                                                    size_t, __nv_bfloat16*, float*, cudaStream_t);
template cudaError_t AttentionDecode<__half>(const __half*, const __half*, const __half*,
                                             const DeviceAttentionShape&,
                                             const DeviceAttentionMask&, float, int, void*, size_t,
                                             __half*, float*, cudaStream_t);

}  // namespace starattn::cuda
