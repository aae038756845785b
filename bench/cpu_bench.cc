// CPU micro-benchmarks of the engine's kernels. Rates are reported as user counters:
//   GFLOPS  (GEMM, FMA peak, attention)  = 1e9 floating point operations per second
//   GBps    (MergeStates, dequantization) = 1e9 bytes per second
//   MBps    (tokenizer)                  = 1e6 input bytes per second
// Threads: the OpenMP kernels use OMP_NUM_THREADS (default: all cores); the FMA peak runs with
// 1 and 2 threads explicitly.
//
// Run all: build/bench/starattn_bench --benchmark_min_time=0.2
// One group: build/bench/starattn_bench --benchmark_filter=GEMM
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/common/cpu_info.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/attention_state.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/qmatmul.h"
#include "engine/cpu/sparse_attention.h"
#include "engine/cpu/topk_kv.h"
#include "engine/dist/communicator.h"
#include "engine/io/dequant.h"
#include "engine/io/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

using starattn::GgmlType;

std::vector<float> RandomFloats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// ---------------------------------------------------------------------------------------------
// GEMM: y[n, out] = x[n, in] * w[out, in]^T, the default model's (SmolLM2-135M) projections:
//   576x576 (q, o), 192x576 (k, v), 1536x576 (gate, up), 576x1536 (down), 49152x576 (LM head).
void BM_GEMM(benchmark::State& state) {
  const int64_t n = state.range(0), out = state.range(1), in = state.range(2);
  const auto x = RandomFloats(n * in, 1);
  const auto w = RandomFloats(out * in, 2, 0.05f);
  std::vector<float> y(n * out);
  for (auto _ : state) {
    starattn::cpu::MatMul(x.data(), n, in, w.data(), out, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * n * in * out * 1e-9 * state.iterations(),
                                                benchmark::Counter::kIsRate);
  state.counters["threads"] = omp_get_max_threads();
}
void GemmArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "out", "in"});
  for (int64_t n : {1, 16, 512}) {
    for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{
             {576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}}) {
      b->Args({n, out, in});
    }
  }
}
BENCHMARK(BM_GEMM)->Apply(GemmArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same shapes through oneDNN's matmul (cpu/gemm.h): fp32, and bf16 operands with fp32
// accumulation; `impl` names the kernel oneDNN chose.
template <starattn::cpu::Compute kType>
void BM_GemmDnnl(benchmark::State& state) {
  const int64_t n = state.range(0), out = state.range(1), in = state.range(2);
  const auto x = RandomFloats(n * in, 1);
  const auto w = RandomFloats(out * in, 2, 0.05f);
  starattn::cpu::GemmWeight gw(out, in, kType);
  gw.SetRows(0, out, w.data());
  std::vector<float> y(n * out);
  for (auto _ : state) {
    starattn::cpu::Gemm(x.data(), n, gw, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * n * in * out * 1e-9 * state.iterations(),
                                                benchmark::Counter::kIsRate);
  state.counters["threads"] = omp_get_max_threads();
  state.SetLabel(starattn::cpu::GemmImplementation(n, out, in, kType));
}
BENCHMARK_TEMPLATE(BM_GemmDnnl, starattn::cpu::Compute::kF32)
    ->Apply(GemmArgs)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_GemmDnnl, starattn::cpu::Compute::kBf16)
    ->Apply(GemmArgs)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// QMatMul: decode-sized batches over int8 weights (the default model's Q4_1/Q8_0 tensors in
// their exact int8 form, cpu/qmatmul.h), same shapes as BM_GEMM. Bandwidth-bound: GBps counts
// the weight bytes (int8 + a scale and an offset per 32) read per call.
void BM_QMatMul(benchmark::State& state) {
  const int64_t n = state.range(0), out = state.range(1), in = state.range(2);
  const auto x = RandomFloats(n * in, 1);
  starattn::cpu::QMatrix w = starattn::cpu::QMatrix::Allocate(out, in);
  std::mt19937 rng(8);
  for (auto& q : w.q) q = static_cast<int8_t>(rng() % 16);
  for (auto& s : w.scale) s = 0.01f;
  for (auto& o : w.offset) o = -0.08f;
  std::vector<float> y(n * out);
  for (auto _ : state) {
    starattn::cpu::QMatMul(x.data(), n, w, nullptr, y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * n * in * out * 1e-9 * state.iterations(),
                                                benchmark::Counter::kIsRate);
  state.counters["GBps"] = benchmark::Counter(double(w.bytes()) * 1e-9 * state.iterations(),
                                              benchmark::Counter::kIsRate);
}
void QMatMulArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "out", "in"});
  for (int64_t n : {1, 4}) {
    for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{
             {576, 576}, {1536, 576}, {576, 1536}, {49152, 576}}) {
      b->Args({n, out, in});
    }
  }
}
BENCHMARK(BM_QMatMul)->Apply(QMatMulArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------------
// Arithmetic peaks: independent accumulator chains in registers (enough to cover latency x
// ports), no memory traffic, on `threads` persistent threads started together (each runs the
// same number of instructions; the rate counts the slowest). `kind` 0: fp32 FMA (2 FLOPs per
// lane), 1: bf16 dot products vdpbf16ps (4 FLOPs per fp32 lane: 2 multiplies, 2 adds), 2: int8
// dot products vpdpbusd (8 ops per int32 lane). 512-bit where the CPU has it (checked at run
// time), else 256-bit fp32 FMA. Checked against oneDNN's achieved rates (BM_GemmDnnl*).
constexpr int64_t kPeakIters = 1 << 22;

#define STARATTN_PEAK_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16,avx512vnni")))

template <int kKind>
STARATTN_PEAK_TARGET double PeakLoop512() {
  __m512 f[12];
  __m512i q[12];
  for (int j = 0; j < 12; ++j) {
    f[j] = _mm512_set1_ps(1.0f + 0.1f * j);
    q[j] = _mm512_set1_epi32(j);
  }
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  const __m512i a8 = _mm512_set1_epi8(1), b8 = _mm512_set1_epi8(2);
  const __m512i h = _mm512_set1_epi16(0x3F80);  // bf16 1.0
  for (int64_t i = 0; i < kPeakIters; ++i) {
    for (int j = 0; j < 12; ++j) {
      if constexpr (kKind == 0) {
        f[j] = _mm512_fmadd_ps(f[j], m, c);
      } else if constexpr (kKind == 1) {
        f[j] = _mm512_dpbf16_ps(f[j], (__m512bh)h, (__m512bh)h);
      } else {
        q[j] = _mm512_dpbusd_epi32(q[j], a8, b8);
      }
    }
  }
  __m512 s = f[0];
  __m512i t = q[0];
  for (int j = 1; j < 12; ++j) {
    s = _mm512_add_ps(s, f[j]);
    t = _mm512_add_epi32(t, q[j]);
  }
  alignas(64) float lanes[16];
  alignas(64) int32_t ilanes[16];
  _mm512_store_ps(lanes, s);
  _mm512_store_si512(ilanes, t);
  benchmark::DoNotOptimize(lanes);
  benchmark::DoNotOptimize(ilanes);
  const double per_instr = kKind == 0 ? 2.0 * 16 : kKind == 1 ? 4.0 * 16 : 8.0 * 16;
  return per_instr * 12 * kPeakIters;
}

__attribute__((target("avx2,fma"))) double PeakLoop256() {
  __m256 f[12];
  for (int j = 0; j < 12; ++j) f[j] = _mm256_set1_ps(1.0f + 0.1f * j);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < kPeakIters; ++i) {
    for (int j = 0; j < 12; ++j) f[j] = _mm256_fmadd_ps(f[j], m, c);
  }
  __m256 s = f[0];
  for (int j = 1; j < 12; ++j) s = _mm256_add_ps(s, f[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  benchmark::DoNotOptimize(lanes);
  return 2.0 * 8 * 12 * kPeakIters;
}

bool Cpu512(int kind) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) return false;
  if (kind == 1) return __builtin_cpu_supports("avx512bf16");
  if (kind == 2) return __builtin_cpu_supports("avx512vnni");
  return true;
}

void BM_Peak(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const bool wide = Cpu512(kind);
  if (kind != 0 && !wide) {
    state.SkipWithError("this CPU lacks the instruction");
    for (auto _ : state) {
    }
    return;
  }
  double ops = 0;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    std::vector<double> done(threads);
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        done[t] = !wide       ? PeakLoop256()
                  : kind == 0 ? PeakLoop512<0>()
                  : kind == 1 ? PeakLoop512<1>()
                              : PeakLoop512<2>();
      });
    }
    for (auto& th : pool) th.join();
    for (double d : done) ops += d;
  }
  state.counters["GOPS"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(kind == 0   ? "fp32 fma"
                             : kind == 1 ? "bf16 dpbf16ps"
                                         : "int8 vpdpbusd") +
                 (wide ? " 512-bit" : " 256-bit"));
}
BENCHMARK(BM_Peak)
    ->ArgNames({"kind", "threads"})
    ->ArgsProduct({{0, 1, 2}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// Attention of L queries over L keys, 9 heads / 3 KV heads, head dim 64 (the default model).
// FLOPs = 4 * heads * head_dim * visible (q.k and p.v); visible = L^2 (non-causal) or
// L(L+1)/2 (causal). Arg 2 = 1: one query (decode) over L keys.
// Attention of the default model's shape (9 heads, 3 kv heads, head_dim 64). `prec`: 0 fp32 K/V
// and arithmetic; 1 bf16 K/V and bf16 arithmetic (AVX512-BF16 where the CPU has it); 2 bf16 K/V,
// fp32 arithmetic.
void BM_Attention(benchmark::State& state) {
  const int64_t L = state.range(0);
  const bool causal = state.range(1) != 0;
  const bool decode = state.range(2) != 0;
  const int64_t prec = state.range(3);
  starattn::cpu::AttentionShape s;
  s.n_q = decode ? 1 : L;
  s.n_kv = L;
  s.n_heads = 9;
  s.n_kv_heads = 3;
  s.head_dim = 64;
  starattn::cpu::AttentionMask mask;
  mask.causal = causal;
  mask.q_offset = decode ? L - 1 : 0;
  const auto q = RandomFloats(s.n_q * s.n_heads * s.head_dim, 3);
  const auto k = RandomFloats(s.n_kv * s.n_kv_heads * s.head_dim, 4);
  const auto v = RandomFloats(s.n_kv * s.n_kv_heads * s.head_dim, 5);
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  starattn::cpu::FloatToBf16(k.data(), k.size(), k16.data());
  starattn::cpu::FloatToBf16(v.data(), v.size(), v16.data());
  const auto kv = prec == 0 ? starattn::cpu::KvType::kF32 : starattn::cpu::KvType::kBf16;
  const auto compute = prec == 1 ? starattn::cpu::Compute::kBf16 : starattn::cpu::Compute::kF32;
  const void* kp = prec == 0 ? static_cast<const void*>(k.data()) : k16.data();
  const void* vp = prec == 0 ? static_cast<const void*>(v.data()) : v16.data();
  std::vector<float> out(s.n_q * s.n_heads * s.head_dim), lse(s.n_q * s.n_heads);
  for (auto _ : state) {
    starattn::cpu::Attention(q.data(), kp, vp, kv, s, mask, 0.125f, compute, out.data(),
                             lse.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double visible = decode ? double(L) : causal ? 0.5 * double(L) * (L + 1) : double(L) * L;
  state.counters["GFLOPS"] =
      benchmark::Counter(4.0 * s.n_heads * s.head_dim * visible * 1e-9 * state.iterations(),
                         benchmark::Counter::kIsRate);
  state.SetLabel(std::string(decode   ? "decode"
                             : causal ? "causal"
                                      : "non-causal") +
                 (prec == 0   ? " f32"
                  : prec == 1 ? " bf16 kv, bf16 compute"
                              : " bf16 kv"));
}
BENCHMARK(BM_Attention)
    ->ArgNames({"L", "causal", "decode", "prec"})
    ->ArgsProduct({{1024, 2048, 4096, 8192}, {1, 0}, {0}, {0, 1}})
    ->ArgsProduct({{1024, 4096, 8192}, {1}, {1}, {0, 1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// Sparse attention (issue 14) in the default model's shape, causal prefill of L tokens, beside
// BM_Attention's dense numbers. `pattern`: 0 every head dense (through SparseAttention), 1 token
// streaming 64 + 256, 2 block streaming 1 + 3 blocks of 128, 3 block-sparse estimated at 0.25
// density (blocks of 128). `prec` as BM_Attention (0 fp32, 1 bf16 K/V and bf16 compute).
// `scores` = scores computed / those of dense causal attention.
struct SparseBenchInputs {
  SparseBenchInputs(int64_t n_q, int64_t n_kv, int64_t prec) {
    s.n_q = n_q;
    s.n_kv = n_kv;
    s.n_heads = 9;
    s.n_kv_heads = 3;
    s.head_dim = 64;
    mask.q_offset = n_kv - n_q;
    q = RandomFloats(s.n_q * s.n_heads * s.head_dim, 3);
    k = RandomFloats(s.n_kv * s.n_kv_heads * s.head_dim, 4);
    v = RandomFloats(s.n_kv * s.n_kv_heads * s.head_dim, 5);
    bf16 = prec != 0;
    k16.resize(k.size());
    v16.resize(v.size());
    starattn::cpu::FloatToBf16(k.data(), k.size(), k16.data());
    starattn::cpu::FloatToBf16(v.data(), v.size(), v16.data());
    out.resize(q.size());
    lse.resize(s.n_q * s.n_heads);
  }
  starattn::cpu::KvType kv() const {
    return bf16 ? starattn::cpu::KvType::kBf16 : starattn::cpu::KvType::kF32;
  }
  const void* kp() const { return bf16 ? static_cast<const void*>(k16.data()) : k.data(); }
  const void* vp() const { return bf16 ? static_cast<const void*>(v16.data()) : v.data(); }
  starattn::AttnShape s;
  starattn::AttnMask mask;
  bool bf16 = false;
  std::vector<float> q, k, v, out, lse;
  std::vector<uint16_t> k16, v16;
};

void BM_SparseAttention(benchmark::State& state) {
  const int64_t L = state.range(0), pattern = state.range(1), prec = state.range(2);
  SparseBenchInputs in(L, L, prec);
  starattn::HeadPattern p;
  const char* name = "dense";
  switch (pattern) {
    case 1:
      p.kind = starattn::HeadPatternKind::kStreamingTokens;
      p.sink = 64;
      p.local = 256;
      name = "streaming tokens 64+256";
      break;
    case 2:
      p.kind = starattn::HeadPatternKind::kStreamingBlocks;
      p.sink = 1;
      p.local = 3;
      name = "streaming blocks 1+3";
      break;
    case 3:
      p.kind = starattn::HeadPatternKind::kBlockEstimated;
      p.density = 0.25;
      name = "block-sparse estimated 0.25";
      break;
    default:
      break;
  }
  const std::vector<starattn::HeadPattern> heads(in.s.n_heads, p);
  const starattn::SparseMask sparse{128, heads.data()};
  const auto compute = prec == 1 ? starattn::cpu::Compute::kBf16 : starattn::cpu::Compute::kF32;
  int64_t computed = 0;
  for (auto _ : state) {
    starattn::cpu::SparseAttention(in.q.data(), in.kp(), in.vp(), in.kv(), in.s, in.mask, sparse,
                                   0.125f, compute, in.out.data(), in.lse.data(), &computed);
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  const double dense_scores = 0.5 * double(L) * (L + 1) * in.s.n_heads;
  state.counters["scores"] = computed / dense_scores;
  state.counters["GFLOPS"] = benchmark::Counter(
      4.0 * in.s.head_dim * computed * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(name) + (prec == 0 ? ", f32" : ", bf16 kv, bf16 compute"));
}
BENCHMARK(BM_SparseAttention)
    ->ArgNames({"L", "pattern", "prec"})
    ->ArgsProduct({{4096, 8192}, {0, 1, 2, 3}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Top-k KV decoding (issue 14): one query after L cached tokens, sink 64, blocks of 128, the
// last 256 + (L - 64) % 128 rows as recency, top-k = 25% of the context blocks (`top_pct` 100:
// every block). `kv_bytes` = K/V bytes read / those of dense decoding (summaries included).
void BM_TopkKvDecode(benchmark::State& state) {
  const int64_t L = state.range(0), top_pct = state.range(1), prec = state.range(2);
  SparseBenchInputs in(1, L, prec);
  starattn::cpu::TopkKvLayout layout{64, 128, (L - 64 - 256) / 128};
  const int64_t top_k = (layout.n_context_blocks * top_pct + 99) / 100;
  const int64_t D = in.s.head_dim;
  std::vector<float> kmin(layout.n_context_blocks * in.s.n_kv_heads * D), kmax(kmin.size());
  const int64_t eb = in.bf16 ? 2 : 4;
  for (int64_t b = 0; b < layout.n_context_blocks; ++b) {
    for (int64_t h = 0; h < in.s.n_kv_heads; ++h) {
      const int64_t e = ((layout.sink + b * layout.block) * in.s.n_kv_heads + h) * D;
      starattn::cpu::BlockMinMax(
          static_cast<const char*>(in.kp()) + e * eb, in.kv(), in.s.n_kv_heads * D, layout.block, D,
          kmin.data() + (b * in.s.n_kv_heads + h) * D, kmax.data() + (b * in.s.n_kv_heads + h) * D);
    }
  }
  starattn::cpu::TopkKvTraffic traffic;
  for (auto _ : state) {
    starattn::cpu::TopkKvAttention(in.q.data(), in.kp(), in.vp(), in.kv(), in.s, in.mask, layout,
                                   kmin.data(), kmax.data(), top_k, 0.125f, in.out.data(),
                                   in.lse.data(), &traffic, nullptr);
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  const double dense_bytes = double(L) * in.s.n_kv_heads * D * eb * 2;
  state.counters["kv_bytes"] = (traffic.kv_bytes + traffic.summary_bytes) / dense_bytes;
  state.counters["top_k"] = top_k;
  state.SetLabel(in.bf16 ? "bf16 kv" : "f32 kv");
}
BENCHMARK(BM_TopkKvDecode)
    ->ArgNames({"L", "top_pct", "prec"})
    ->ArgsProduct({{4096, 8192}, {25, 100}, {0, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------------
// MergeStates: n_states states of n_rows x 64 (rows = tokens x 9 heads). Bytes = every state
// read once + the result written once.
void BM_MergeStates(benchmark::State& state) {
  const int64_t n_states = state.range(0), n_rows = state.range(1), dim = 64;
  const auto outs = RandomFloats(n_states * n_rows * dim, 6);
  const auto lses = RandomFloats(n_states * n_rows, 7, 5.0f);
  std::vector<float> out(n_rows * dim), lse(n_rows);
  for (auto _ : state) {
    starattn::cpu::MergeStates(outs.data(), lses.data(), n_states, n_rows, dim, out.data(),
                               lse.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double bytes = 4.0 * ((n_states + 1) * n_rows * (dim + 1));
  state.counters["GBps"] =
      benchmark::Counter(bytes * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MergeStates)
    ->ArgNames({"states", "rows"})
    ->ArgsProduct({{2, 4, 8}, {9 * 20, 9 * 512}})
    ->UseRealTime();

// ---------------------------------------------------------------------------------------------
// In-process communicator (the link between logical hosts in one process): one AllGather of
// `bytes` per rank among `hosts` ranks, each rank on its own thread. Small messages give the
// latency (time per call), large ones the copy rate (GBps = bytes received per rank per second).
void BM_InProcessAllGather(benchmark::State& state) {
  const int hosts = static_cast<int>(state.range(0));
  const size_t bytes = static_cast<size_t>(state.range(1));
  starattn::InProcessGroup group(hosts);
  std::vector<std::thread> helpers;
  for (int r = 1; r < hosts; ++r) {
    helpers.emplace_back([&group, r, hosts, bytes] {
      std::vector<uint8_t> send(bytes + 1, 0), recv((bytes + 1) * hosts);
      for (;;) {
        group.Endpoint(r).AllGather(send.data(), bytes + 1, recv.data());
        if (recv[bytes] != 0) break;  // rank 0's stop flag
      }
    });
  }
  std::vector<uint8_t> send(bytes + 1, 0), recv((bytes + 1) * hosts);
  for (auto _ : state) {
    group.Endpoint(0).AllGather(send.data(), bytes + 1, recv.data());
    benchmark::DoNotOptimize(recv.data());
  }
  send[bytes] = 1;
  group.Endpoint(0).AllGather(send.data(), bytes + 1, recv.data());
  for (auto& t : helpers) t.join();
  state.counters["GBps"] = benchmark::Counter(
      static_cast<double>(bytes) * hosts * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_InProcessAllGather)
    ->ArgNames({"hosts", "bytes"})
    ->ArgsProduct({{2, 4}, {64, 1 << 20}})
    ->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Dequantization of each supported GGUF type: valid random blocks (finite fp16/bf16 scales,
// random quants), 1M output elements. GB/s of fp32 output.
uint16_t RandomSmallHalf(std::mt19937& rng) {
  // Positive halves in [2^-8, 2^-2): exponent 7..12 (bias 15), any mantissa.
  const uint16_t exp = 7 + rng() % 6;
  return static_cast<uint16_t>((exp << 10) | (rng() & 0x3FF));
}

std::vector<uint8_t> RandomBlocks(GgmlType type, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const size_t bytes = starattn::RowBytes(type, n);
  std::vector<uint8_t> buf(bytes);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  auto put_half = [&](uint8_t* p) {
    const uint16_t h = RandomSmallHalf(rng);
    std::memcpy(p, &h, 2);
  };
  const size_t bb = starattn::BlockBytes(type);
  const int64_t n_blocks = n / starattn::BlockSize(type);
  for (int64_t i = 0; i < n_blocks; ++i) {
    uint8_t* b = buf.data() + i * bb;
    switch (type) {
      case GgmlType::kF32: {
        const float f = std::uniform_real_distribution<float>(-1, 1)(rng);
        std::memcpy(b, &f, 4);
        break;
      }
      case GgmlType::kF16: {
        uint16_t h = RandomSmallHalf(rng) | static_cast<uint16_t>((rng() & 1) << 15);
        std::memcpy(b, &h, 2);
        break;
      }
      case GgmlType::kBF16: {
        const float f = std::uniform_real_distribution<float>(-1, 1)(rng);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        const uint16_t h = static_cast<uint16_t>(u >> 16);
        std::memcpy(b, &h, 2);
        break;
      }
      case GgmlType::kQ4_0:
      case GgmlType::kQ5_0:
      case GgmlType::kQ8_0:
        put_half(b);
        break;
      case GgmlType::kQ4_1:
      case GgmlType::kQ5_1:
      case GgmlType::kQ4_K:
      case GgmlType::kQ5_K:
        put_half(b);
        put_half(b + 2);
        break;
      case GgmlType::kQ6_K:
        put_half(b + 208);
        break;
      default:
        break;
    }
  }
  return buf;
}

void BM_Dequantize(benchmark::State& state) {
  const auto type = static_cast<GgmlType>(state.range(0));
  constexpr int64_t n = 1 << 20;
  const auto src = RandomBlocks(type, n, 8);
  std::vector<float> dst(n);
  for (auto _ : state) {
    starattn::Dequantize(type, src.data(), n, dst.data());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  for (float f : dst) {
    if (!std::isfinite(f)) {
      state.SkipWithError("non-finite output: invalid random blocks");
      break;
    }
  }
  state.SetLabel(starattn::TypeName(static_cast<uint32_t>(type)));
  state.counters["GBps"] =
      benchmark::Counter(4.0 * n * 1e-9 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["in_GBps"] = benchmark::Counter(double(src.size()) * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
void DequantArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("type");
  for (GgmlType t :
       {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0,
        GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ5_K,
        GgmlType::kQ6_K, GgmlType::kQ8_1, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ8_K}) {
    if (starattn::IsSupportedType(static_cast<uint32_t>(t))) b->Arg(static_cast<int64_t>(t));
  }
}
BENCHMARK(BM_Dequantize)->Apply(DequantArgs)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// Tokenizer: the default model's tokenizer (STARATTN_BENCH_MODEL overrides the path) encoding a
// generated English-like text of ~256 KB with digits and punctuation. MB/s of input.
std::string ModelPath() {
  if (const char* p = std::getenv("STARATTN_BENCH_MODEL")) return p;
  return std::string(STARATTN_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::string GeneratedText(size_t bytes) {
  static const char* words[] = {
      "the",   "star",   "attention", "model",  "reads",   "a",      "long",   "context",
      "in",    "blocks", "and",       "each",   "host",    "keeps",  "its",    "own",
      "cache", "of",     "keys",      "values", "while",   "query",  "tokens", "attend",
      "to",    "all",    "them",      "merged", "exactly", "number", "magic",  "is",
      "city",  "Paris",  "remember",  "what",   "said",    "Mary",   "went",   "kitchen",
      "über",  "naïve",  "café",      "東京",   "😀",       "don't",  "it's",   "HTTP"};
  std::mt19937 rng(9);
  std::string s;
  s.reserve(bytes + 64);
  while (s.size() < bytes) {
    const int r = rng() % 100;
    if (r < 5) {
      s += std::to_string(rng() % 100000);
    } else {
      s += words[rng() % (sizeof(words) / sizeof(words[0]))];
    }
    const int p = rng() % 40;
    s += p == 0 ? ". " : p == 1 ? ", " : p == 2 ? "\n" : p == 3 ? "; " : " ";
  }
  return s;
}

void BM_Tokenizer(benchmark::State& state) {
  const std::string path = ModelPath();
  if (!std::filesystem::exists(path)) {
    state.SkipWithError(("model not found: " + path).c_str());
    for (auto _ : state) {
    }
    return;
  }
  const auto gguf = starattn::GgufFile::Open(path);
  const auto tok = starattn::Tokenizer::FromGguf(gguf);
  const std::string text = GeneratedText(static_cast<size_t>(state.range(0)));
  size_t n_tokens = 0;
  for (auto _ : state) {
    const auto ids = tok->Encode(text, false, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["MBps"] =
      benchmark::Counter(text.size() * 1e-6 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["Mtok_per_s"] =
      benchmark::Counter(n_tokens * 1e-6 * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(n_tokens);
}
BENCHMARK(BM_Tokenizer)
    ->ArgName("bytes")
    ->Arg(256 << 10)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

// As the CLI does: flush denormals before any thread starts (threads inherit it).
int main(int argc, char** argv) {
  starattn::cpu::EnableFlushDenormals();
  const starattn::CpuInfo cpu = starattn::ReadCpuInfo();
  benchmark::AddCustomContext("cpu", cpu.Describe());
  benchmark::AddCustomContext("cpu_family", std::to_string(cpu.family));
  benchmark::AddCustomContext("cpu_model", std::to_string(cpu.model));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
