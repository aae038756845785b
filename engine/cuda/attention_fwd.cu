#include <algorithm>
#include <cmath>

#include "engine/cuda/attention_fwd.cuh"
#include "engine/cuda/mma.cuh"

namespace starattn::cuda {
namespace {

using detail::CpAsync16;
using detail::CpAsyncCommit;
using detail::CpAsyncWaitAll;
using detail::LdMatrixX4;
using detail::LdMatrixX4Trans;
using detail::Mma16816;
using detail::Pack2;

constexpr int kBr = 64;    // queries per CTA
constexpr int kBc = 64;    // keys per K/V tile
constexpr int kWarps = 4;  // 16 query rows each
constexpr int kThreads = kWarps * 32;
constexpr float kLn2 = 0.6931471805599453f;

template <int D>
__host__ __device__ constexpr int SmemStride() {
  return D + 8;  // elements; 16 bytes of padding per row: conflict-free ldmatrix
}
template <typename T, int D>
constexpr size_t SmemBytes() {
  // Q tile + double-buffered K and V tiles.
  return static_cast<size_t>(kBr + 4 * kBc) * SmemStride<D>() * sizeof(T);
}

// Copies `rows` x D elements of a [*, row_stride] matrix starting at `src` (row r at
// src + r * row_stride) into smem [rows][SmemStride]; rows >= valid are zero-filled.
template <typename T, int D, int kRows>
__device__ __forceinline__ void LoadTile(T* dst, const T* src, int64_t row_stride, int valid,
                                         int tid) {
  constexpr int kChunks = D / 8;  // 16-byte chunks per row
#pragma unroll
  for (int c = tid; c < kRows * kChunks; c += kThreads) {
    const int r = c / kChunks;
    const int col = (c % kChunks) * 8;
    const bool ok = r < valid;
    const T* g = ok ? src + r * row_stride + col : src;
    CpAsync16(dst + r * SmemStride<D>() + col, g, ok);
  }
}

// Grid: x = query tiles (heaviest causal tile first), y = query heads. 4 warps, each owning
// 16 query rows: S = Q K^T and O += P V with mma.sync m16n8k16, P kept in registers.
// Key j is visible to local query i iff j < n_kv and (!causal or j <= i + diag).
template <typename T, int D>
__global__ void __launch_bounds__(kThreads)
    AttentionFwdKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                       int n_q, int n_kv, int n_heads, int n_kv_heads, int group, int diag,
                       bool causal, float scale_log2, T* __restrict__ out,
                       float* __restrict__ lse) {
  constexpr int S = SmemStride<D>();
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);  // [kBr][S]
  T* sK = sQ + kBr * S;                    // [2][kBc][S]
  T* sV = sK + 2 * kBc * S;                // [2][kBc][S]

  const int h = blockIdx.y;
  const int kh = h / group;
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kBr;
  const int q_rows = min(kBr, n_q - q0);
  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int64_t q_stride = static_cast<int64_t>(n_heads) * D;
  const int64_t kv_stride = static_cast<int64_t>(n_kv_heads) * D;

  // Keys [0, kv_end) can be visible to some query of this tile.
  int kv_end = n_kv;
  if (causal) kv_end = max(0, min(n_kv, q0 + q_rows - 1 + diag + 1));
  const int n_tiles = (kv_end + kBc - 1) / kBc;

  const T* kh_k = k + static_cast<int64_t>(kh) * D;
  const T* kh_v = v + static_cast<int64_t>(kh) * D;
  LoadTile<T, D, kBr>(sQ, q + q0 * q_stride + static_cast<int64_t>(h) * D, q_stride, q_rows, tid);
  if (n_tiles > 0) {
    LoadTile<T, D, kBc>(sK, kh_k, kv_stride, min(kBc, kv_end), tid);
    LoadTile<T, D, kBc>(sV, kh_v, kv_stride, min(kBc, kv_end), tid);
  }
  CpAsyncCommit();
  CpAsyncWaitAll();
  __syncthreads();

  // Q fragments (A operand, 16 rows x D) for this warp.
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    LdMatrixX4(qf[kk], sQ + (warp * 16 + (lane & 15)) * S + kk * 16 + (lane >> 4) * 8);
  }

  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY};            // running max, log2 domain
  float l[2] = {0.f, 0.f};                        // running sum (this thread's columns)
  const int row0 = q0 + warp * 16 + (lane >> 2);  // rows row0 (c0, c1) and row0 + 8 (c2, c3)
  const int col0 = (lane & 3) * 2;

  for (int t = 0; t < n_tiles; ++t) {
    const int buf = t & 1;
    if (t > 0) {
      CpAsyncWaitAll();
      __syncthreads();  // tile t visible to all; everyone is done with buffer buf ^ 1
    }
    if (t + 1 < n_tiles) {
      const int j1 = (t + 1) * kBc;
      const T* kp = kh_k + j1 * kv_stride;
      const T* vp = kh_v + j1 * kv_stride;
      LoadTile<T, D, kBc>(sK + (buf ^ 1) * kBc * S, kp, kv_stride, min(kBc, kv_end - j1), tid);
      LoadTile<T, D, kBc>(sV + (buf ^ 1) * kBc * S, vp, kv_stride, min(kBc, kv_end - j1), tid);
    }
    CpAsyncCommit();

    const T* sKb = sK + buf * kBc * S;
    const T* sVb = sV + buf * kBc * S;

    // S = Q K^T: [16 rows x kBc keys] per warp.
    float s[kBc / 8][4];
#pragma unroll
    for (int i = 0; i < kBc / 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int nb2 = 0; nb2 < kBc / 16; ++nb2) {
        uint32_t b[4];
        LdMatrixX4(b, sKb + (nb2 * 16 + (lane & 7) + ((lane >> 4) << 3)) * S + kk * 16 +
                          ((lane >> 3) & 1) * 8);
        Mma16816<T>(s[2 * nb2], qf[kk], b[0], b[1]);
        Mma16816<T>(s[2 * nb2 + 1], qf[kk], b[2], b[3]);
      }
    }

    // Scale into the log2 domain; mask where the tile crosses n_kv or the causal diagonal.
    const int j0 = t * kBc;
    const bool need_mask = (j0 + kBc > n_kv) || (causal && j0 + kBc - 1 > q0 + diag);
#pragma unroll
    for (int nb = 0; nb < kBc / 8; ++nb) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[nb][e] * scale_log2;
        if (need_mask) {
          const int j = j0 + nb * 8 + col0 + (e & 1);
          const int i = row0 + (e >> 1) * 8;
          if (j >= n_kv || (causal && j > i + diag)) x = -INFINITY;
        }
        s[nb][e] = x;
      }
    }

    // Online softmax, one row pair per thread; a row lives in the 4 threads of a quad.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = m[r];
#pragma unroll
      for (int nb = 0; nb < kBc / 8; ++nb) mx = fmaxf(mx, fmaxf(s[nb][2 * r], s[nb][2 * r + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float base = mx == -INFINITY ? 0.f : mx;  // all masked so far: exp2(-inf) = 0
      const float alpha = exp2f(m[r] - base);
      m[r] = mx;
      float rs = 0.f;
#pragma unroll
      for (int nb = 0; nb < kBc / 8; ++nb) {
        s[nb][2 * r] = exp2f(s[nb][2 * r] - base);
        s[nb][2 * r + 1] = exp2f(s[nb][2 * r + 1] - base);
        rs += s[nb][2 * r] + s[nb][2 * r + 1];
      }
      l[r] = l[r] * alpha + rs;
#pragma unroll
      for (int db = 0; db < D / 8; ++db) {
        o[db][2 * r] *= alpha;
        o[db][2 * r + 1] *= alpha;
      }
    }

    // O += P V: P from the S accumulators (A operand), V^T fragments via ldmatrix.trans.
#pragma unroll
    for (int kk = 0; kk < kBc / 16; ++kk) {
      uint32_t pa[4];
      pa[0] = Pack2<T>(s[2 * kk][0], s[2 * kk][1]);
      pa[1] = Pack2<T>(s[2 * kk][2], s[2 * kk][3]);
      pa[2] = Pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pa[3] = Pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int db2 = 0; db2 < D / 16; ++db2) {
        uint32_t b[4];
        LdMatrixX4Trans(b, sVb + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * S + db2 * 16 +
                               (lane >> 4) * 8);
        Mma16816<T>(o[2 * db2], pa, b[0], b[1]);
        Mma16816<T>(o[2 * db2 + 1], pa, b[2], b[3]);
      }
    }
  }

  // Finalise: out = O / l, lse = ln(2) * (m + log2 l); empty rows: out 0, lse -inf.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = l[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const int i = row0 + r * 8;
    if (i >= n_q) continue;
    const float inv = sum > 0.f ? 1.f / sum : 0.f;
    T* orow = out + i * q_stride + static_cast<int64_t>(h) * D + col0;
#pragma unroll
    for (int db = 0; db < D / 8; ++db) {
      *reinterpret_cast<uint32_t*>(orow + db * 8) =
          Pack2<T>(o[db][2 * r] * inv, o[db][2 * r + 1] * inv);
    }
    if (lse != nullptr && (lane & 3) == 0) {
      lse[static_cast<int64_t>(i) * n_heads + h] =
          sum > 0.f ? (m[r] + log2f(sum)) * kLn2 : -INFINITY;
    }
  }
}

template <typename T, int D>
cudaError_t Launch(const T* q, const T* k, const T* v, const DeviceAttentionShape& shape, int diag,
                   bool causal, float scale, T* out, float* lse, cudaStream_t stream) {
  constexpr size_t smem = SmemBytes<T, D>();
  auto* kernel = AttentionFwdKernel<T, D>;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (e != cudaSuccess) return e;
  const dim3 grid(static_cast<unsigned>((shape.n_q + kBr - 1) / kBr),
                  static_cast<unsigned>(shape.n_heads));
  kernel<<<grid, kThreads, smem, stream>>>(
      q, k, v, static_cast<int>(shape.n_q), static_cast<int>(shape.n_kv),
      static_cast<int>(shape.n_heads), static_cast<int>(shape.n_kv_heads),
      static_cast<int>(shape.n_heads / shape.n_kv_heads), diag, causal, scale * 1.4426950408889634f,
      out, lse);
  return cudaGetLastError();
}

}  // namespace

template <typename T>
cudaError_t AttentionForward(const T* q, const T* k, const T* v, const DeviceAttentionShape& shape,
                             const DeviceAttentionMask& mask, float scale, T* out, float* lse,
                             cudaStream_t stream) {
  constexpr int64_t kMaxLen = int64_t{1} << 30;
  if (shape.n_q < 0 || shape.n_kv < 0 || shape.n_q > kMaxLen || shape.n_kv > kMaxLen ||
      shape.n_heads <= 0 || shape.n_kv_heads <= 0 || shape.n_heads % shape.n_kv_heads != 0 ||
      shape.n_heads > 65535) {
    return cudaErrorInvalidValue;
  }
  if (shape.n_q == 0) return cudaSuccess;
  // diag = q_offset - k_offset, clamped to where it changes nothing: int arithmetic in-kernel.
  const int64_t diag64 =
      std::clamp<int64_t>(mask.q_offset - mask.k_offset, -shape.n_q - 1, shape.n_kv);
  const int diag = static_cast<int>(diag64);
  switch (shape.head_dim) {
    case 64:
      return Launch<T, 64>(q, k, v, shape, diag, mask.causal, scale, out, lse, stream);
    case 128:
      return Launch<T, 128>(q, k, v, shape, diag, mask.causal, scale, out, lse, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

template cudaError_t AttentionForward<__nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*,
                                                     const __nv_bfloat16*,
                                                     const DeviceAttentionShape&,
                                                     const DeviceAttentionMask&, float,
                                                     __nv_bfloat16*, float*, cudaStream_t);
template cudaError_t AttentionForward<__half>(const __half*, const __half*, const __half*,
                                              const DeviceAttentionShape&,
                                              const DeviceAttentionMask&, float, __half*, float*,
                                              cudaStream_t);

}  // namespace starattn::cuda
