// Scalar dequantization of GGML block formats, bit-for-bit as ggml-quants.c dequantize_row_*
// computes it in fp32 (see the note on bit-exactness below).
#include "engine/io/dequant.h"

#include <bit>
#include <cstring>
#include <string>

#include "engine/common/error.h"
#include "engine/common/parse.h"

// Bit-exactness: ggml and gguf-py round each product and sum in fp32. A compiler may fuse
// `d * q + m` into an FMA, but every product here is exact in fp32 (an fp16 scale has 11
// significant bits, a 6-bit sub-scale and a <= 6-bit quant add at most 12 more, fewer than 24),
// so fused and unfused forms round identically. Q6_K's `d * sc * q` has no add to fuse.

namespace starattn {
namespace {

static_assert(std::endian::native == std::endian::little, "GGML blocks are little-endian");

constexpr int kQk = 32;    // elements per block of the Q*_0 / Q*_1 formats
constexpr int kQkK = 256;  // elements per super-block of the K-quants

struct TypeTraits {
  uint32_t id;
  const char* name;
  int64_t block_size;
  size_t block_bytes;
};

// Every type ggml defines, so that tensors of types we cannot dequantize still have a size.
constexpr TypeTraits kTypes[] = {
    {0, "F32", 1, 4},
    {1, "F16", 1, 2},
    {2, "Q4_0", kQk, 2 + kQk / 2},
    {3, "Q4_1", kQk, 2 + 2 + kQk / 2},
    {6, "Q5_0", kQk, 2 + 4 + kQk / 2},
    {7, "Q5_1", kQk, 2 + 2 + 4 + kQk / 2},
    {8, "Q8_0", kQk, 2 + kQk},
    {9, "Q8_1", kQk, 4 + 4 + kQk},
    {10, "Q2_K", kQkK, 2 + 2 + kQkK / 16 + kQkK / 4},
    {11, "Q3_K", kQkK, 2 + kQkK / 4 + kQkK / 8 + 12},
    {12, "Q4_K", kQkK, 2 + 2 + 12 + kQkK / 2},
    {13, "Q5_K", kQkK, 2 + 2 + 12 + kQkK / 8 + kQkK / 2},
    {14, "Q6_K", kQkK, kQkK / 2 + kQkK / 4 + kQkK / 16 + 2},
    {15, "Q8_K", kQkK, 4 + kQkK + kQkK / 8},
    {16, "IQ2_XXS", kQkK, 2 + kQkK / 4},
    {17, "IQ2_XS", kQkK, 2 + kQkK / 4 + kQkK / 32},
    {18, "IQ3_XXS", kQkK, 2 + kQkK / 4 + kQkK / 8},
    {19, "IQ1_S", kQkK, 2 + kQkK / 8 + kQkK / 16},
    {20, "IQ4_NL", kQk, 2 + kQk / 2},
    {21, "IQ3_S", kQkK, 2 + kQkK / 4 + kQkK / 8 + kQkK / 32 + 4},
    {22, "IQ2_S", kQkK, 2 + kQkK / 4 + kQkK / 16},
    {23, "IQ4_XS", kQkK, 2 + 2 + kQkK / 2 + kQkK / 64},
    {24, "I8", 1, 1},
    {25, "I16", 1, 2},
    {26, "I32", 1, 4},
    {27, "I64", 1, 8},
    {28, "F64", 1, 8},
    {29, "IQ1_M", kQkK, kQkK / 8 + kQkK / 16 + kQkK / 32},
    {30, "BF16", 1, 2},
    {34, "TQ1_0", kQkK, 2 + 4 * 13},
    {35, "TQ2_0", kQkK, 2 + 64},
    {39, "MXFP4", kQk, 1 + kQk / 2},
};

const TypeTraits* FindType(uint32_t id) {
  for (const TypeTraits& t : kTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const TypeTraits& RequireType(GgmlType type) {
  const TypeTraits* t = FindType(static_cast<uint32_t>(type));
  if (t == nullptr) Fail("unknown GGML type id {}", static_cast<uint32_t>(type));
  return *t;
}

// Little-endian loads from unaligned bytes.
uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
float LoadHalf(const uint8_t* p) { return HalfToFloat(LoadU16(p)); }

// ---- 32-element blocks ---------------------------------------------------------------------
// Each decoder writes one block as integers q[32] and (d, m) with value = q * d + m (m = 0 for
// the symmetric formats); Dequantize and DecomposeBlocks32 both read blocks through them.

// block_q4_0 {fp16 d; uint8 qs[16]}: q[j] = lo nibble - 8, q[j + 16] = hi nibble - 8.
void BlockQ4_0(const uint8_t* x, int8_t* q, float* d, float* m) {
  *d = LoadHalf(x);
  *m = 0.0f;
  const uint8_t* qs = x + 2;
  for (int j = 0; j < kQk / 2; ++j) {
    q[j] = static_cast<int8_t>((qs[j] & 0x0F) - 8);
    q[j + kQk / 2] = static_cast<int8_t>((qs[j] >> 4) - 8);
  }
}

// block_q4_1 {fp16 d, m; uint8 qs[16]}: q = nibble.
void BlockQ4_1(const uint8_t* x, int8_t* q, float* d, float* m) {
  *d = LoadHalf(x);
  *m = LoadHalf(x + 2);
  const uint8_t* qs = x + 4;
  for (int j = 0; j < kQk / 2; ++j) {
    q[j] = static_cast<int8_t>(qs[j] & 0x0F);
    q[j + kQk / 2] = static_cast<int8_t>(qs[j] >> 4);
  }
}

// The 5-bit quants of block_q5_0/q5_1: bit j of qh is the 5th bit of element j.
void Quants5(const uint8_t* qs, uint32_t qh, int bias, int8_t* q) {
  for (int j = 0; j < kQk / 2; ++j) {
    const uint8_t xh0 = ((qh >> (j + 0)) << 4) & 0x10;
    const uint8_t xh1 = ((qh >> (j + 12))) & 0x10;
    q[j] = static_cast<int8_t>(((qs[j] & 0x0F) | xh0) - bias);
    q[j + kQk / 2] = static_cast<int8_t>(((qs[j] >> 4) | xh1) - bias);
  }
}

// block_q5_0 {fp16 d; uint32 qh; uint8 qs[16]}: q = 5-bit quant - 16.
void BlockQ5_0(const uint8_t* x, int8_t* q, float* d, float* m) {
  *d = LoadHalf(x);
  *m = 0.0f;
  Quants5(x + 6, LoadU32(x + 2), 16, q);
}

// block_q5_1 {fp16 d, m; uint32 qh; uint8 qs[16]}: q = 5-bit quant.
void BlockQ5_1(const uint8_t* x, int8_t* q, float* d, float* m) {
  *d = LoadHalf(x);
  *m = LoadHalf(x + 2);
  Quants5(x + 8, LoadU32(x + 4), 0, q);
}

// block_q8_0 {fp16 d; int8 qs[32]}.
void BlockQ8_0(const uint8_t* x, int8_t* q, float* d, float* m) {
  *d = LoadHalf(x);
  *m = 0.0f;
  std::memcpy(q, x + 2, kQk);
}

// Decodes one block into `runs` runs of 32: q[32 * runs], d[runs], m[runs]; value = q * d + m.
using BlockFn = void (*)(const uint8_t* x, int8_t* q, float* d, float* m);

// ---- 256-element K-quant super-blocks --------------------------------------------------------

// The 12 scale bytes of Q4_K/Q5_K hold eight 6-bit (scale, min) pairs (ggml get_scale_min_k4):
// pairs 0..3 are the low 6 bits of bytes j and j+4; pairs 4..7 take their low 4 bits from
// byte j+4 (scale: low nibble, min: high nibble) and their top 2 bits from the spare top bits
// of bytes j-4 (scale) and j (min).
void GetScaleMinK4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// block_q4_K {fp16 d, dmin; uint8 scales[12]; uint8 qs[128]}: eight sub-blocks of 32;
// value = d * sc * q4 - dmin * m, written as q4 * (d * sc) + (-(dmin * m)) (the same rounding:
// both products are exact). Each 32-byte run of qs feeds two sub-blocks (low then high nibbles).
void BlockQ4_K(const uint8_t* x, int8_t* q, float* d, float* m) {
  const float dd = LoadHalf(x);
  const float min = LoadHalf(x + 2);
  const uint8_t* scales = x + 4;
  const uint8_t* qs = x + 16;
  for (int s = 0; s < 8; ++s) {
    uint8_t sc, mm;
    GetScaleMinK4(s, scales, &sc, &mm);
    d[s] = dd * sc;
    m[s] = -(min * mm);
    const uint8_t* run = qs + 32 * (s / 2);
    for (int l = 0; l < 32; ++l) {
      q[32 * s + l] = static_cast<int8_t>(s % 2 == 0 ? run[l] & 0xF : run[l] >> 4);
    }
  }
}

// block_q5_K {fp16 d, dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]}: as Q4_K with a 5th
// bit per element; sub-block s takes its high bits from bit s of qh[l].
void BlockQ5_K(const uint8_t* x, int8_t* q, float* d, float* m) {
  BlockQ4_K(x, q, d, m);  // scales, minima and the low nibbles sit where Q4_K has them...
  const uint8_t* qh = x + 16;
  const uint8_t* ql = x + 48;  // ...except that the nibbles start after qh
  for (int s = 0; s < 8; ++s) {
    const uint8_t* run = ql + 32 * (s / 2);
    for (int l = 0; l < 32; ++l) {
      const int lo = s % 2 == 0 ? run[l] & 0xF : run[l] >> 4;
      q[32 * s + l] = static_cast<int8_t>(lo + ((qh[l] >> s) & 1 ? 16 : 0));
    }
  }
}

struct Blocks32Format {
  GgmlType type;
  BlockFn block;
  int runs;      // runs of 32 elements per block
  bool has_min;  // false: m is always 0
};

constexpr Blocks32Format kBlocks32Formats[] = {
    {GgmlType::kQ4_0, BlockQ4_0, 1, false}, {GgmlType::kQ4_1, BlockQ4_1, 1, true},
    {GgmlType::kQ5_0, BlockQ5_0, 1, false}, {GgmlType::kQ5_1, BlockQ5_1, 1, true},
    {GgmlType::kQ8_0, BlockQ8_0, 1, false}, {GgmlType::kQ4_K, BlockQ4_K, 8, true},
    {GgmlType::kQ5_K, BlockQ5_K, 8, true},
};

const Blocks32Format* FindBlocks32(GgmlType type) {
  for (const Blocks32Format& f : kBlocks32Formats) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

// y = q * d + m; the formats without a minimum skip the add (adding a zero m would turn -0 into
// +0, which ggml does not do).
void DequantBlocks(const Blocks32Format& f, size_t block_bytes, const uint8_t* x, int64_t nb,
                   float* y) {
  int8_t q[8 * kQk];
  float d[8], m[8];
  for (int64_t i = 0; i < nb; ++i, x += block_bytes) {
    f.block(x, q, d, m);
    for (int r = 0; r < f.runs; ++r) {
      for (int j = 0; j < kQk; ++j, ++y) {
        const int8_t v = q[r * kQk + j];
        *y = f.has_min ? v * d[r] + m[r] : v * d[r];
      }
    }
  }
}

// block_q6_K {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; fp16 d}: sixteen sub-blocks of 16;
// y = d * scale * (q6 - 32). Each half (128 elements) uses 64 ql bytes, 32 qh bytes, 8 scales.
void DequantQ6_K(const uint8_t* x, int64_t nb, float* y) {
  for (int64_t i = 0; i < nb; ++i, x += 210) {
    const float d = LoadHalf(x + 208);
    const uint8_t* ql = x;
    const uint8_t* qh = x + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
    for (int n = 0; n < kQkK; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int8_t q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int8_t q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int8_t q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int8_t q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace

std::string TypeName(uint32_t type_id) {
  const TypeTraits* t = FindType(type_id);
  return t != nullptr ? std::string(t->name) : "type" + std::to_string(type_id);
}

bool IsSupportedType(uint32_t type_id) {
  switch (static_cast<GgmlType>(type_id)) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return true;
    default:
      return false;
  }
}

int64_t BlockSize(GgmlType type) { return RequireType(type).block_size; }

size_t BlockBytes(GgmlType type) { return RequireType(type).block_bytes; }

size_t RowBytes(GgmlType type, int64_t n) {
  const TypeTraits& t = RequireType(type);
  if (n < 0 || n % t.block_size != 0) {
    Fail("{} elements of type {} are not a whole number of {}-element blocks", n, t.name,
         t.block_size);
  }
  return CheckedMul<size_t>(static_cast<size_t>(n / t.block_size), t.block_bytes,
                            fmt::format("bytes of {} elements of type {}", n, t.name));
}

void Dequantize(GgmlType type, const void* src, int64_t n, float* dst) {
  const uint32_t id = static_cast<uint32_t>(type);
  if (!IsSupportedType(id)) Fail("cannot dequantize GGML type {}", TypeName(id));
  const TypeTraits& t = RequireType(type);
  if (n < 0 || n % t.block_size != 0) {
    Fail("cannot dequantize {} elements of type {}: not a multiple of the block size {}", n, t.name,
         t.block_size);
  }
  const auto* x = static_cast<const uint8_t*>(src);
  const int64_t nb = n / t.block_size;
  if (const Blocks32Format* f = FindBlocks32(type)) {
    return DequantBlocks(*f, t.block_bytes, x, nb, dst);
  }
  switch (type) {
    case GgmlType::kF32:
      if (n > 0) std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = HalfToFloat(LoadU16(x + 2 * i));
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFloat(LoadU16(x + 2 * i));
      return;
    case GgmlType::kQ6_K:
      return DequantQ6_K(x, nb, dst);
    default:
      Fail("cannot dequantize GGML type {}", TypeName(id));
  }
}

// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Exact in fp32. Subnormals are
// normalized; NaNs keep their payload with the quiet bit set (as the F16C instruction and
// ggml's portable fallback both do).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13) | (mant != 0 ? 0x00400000u : 0);
  } else if (exp != 0) {
    bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: value = mant * 2^-24. Shift the leading 1 up to bit 10 (the implicit bit).
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400) == 0);
    bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FF) << 13);
  }
  return std::bit_cast<float>(bits);
}

// bfloat16 is the top half of an fp32 (ggml_compute_bf16_to_fp32: a plain shift).
float Bf16ToFloat(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

bool HasBlocks32Form(GgmlType type) { return FindBlocks32(type) != nullptr; }

void DecomposeBlocks32(GgmlType type, const void* src, int64_t n, int8_t* q, float* scale,
                       float* offset) {
  const Blocks32Format* f = FindBlocks32(type);
  if (f == nullptr)
    Fail("GGML type {} has no exact int8 form", TypeName(static_cast<uint32_t>(type)));
  const TypeTraits& t = RequireType(type);
  if (n < 0 || n % t.block_size != 0) {
    Fail("cannot decompose {} elements of type {}: not a multiple of the block size {}", n, t.name,
         t.block_size);
  }
  const auto* x = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n / t.block_size; ++i, x += t.block_bytes) {
    f->block(x, q + i * t.block_size, scale + i * f->runs, offset + i * f->runs);
  }
}

}  // namespace starattn
