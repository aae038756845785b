#include "ruler/rng.h"

#include <string>
#include <unordered_map>

#include "engine/common/hash.h"

namespace starattn::ruler {
namespace {

constexpr uint64_t Mix(uint64_t z) { return SplitMix64::Mix(z); }

}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream)
    : SplitMix64(Mix(seed + kGamma) ^ Mix(stream * 0xD1B54A32D192ED03ull + 1)) {}

int64_t Rng::Range(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
}

std::vector<int64_t> Rng::SampleDistinct(int64_t n, int64_t k) {
  // Partial Fisher-Yates over a virtual identity array; swapped slots live in a map so that
  // drawing few of many costs O(k).
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(k));
  std::unordered_map<int64_t, int64_t> moved;
  auto at = [&](int64_t i) {
    auto it = moved.find(i);
    return it == moved.end() ? i : it->second;
  };
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(Below(static_cast<uint64_t>(n - i)));
    const int64_t vj = at(j);
    moved[j] = at(i);
    out.push_back(vj);
  }
  return out;
}

std::string Rng::Uuid4() {
  uint64_t hi = NextU64();
  uint64_t lo = NextU64();
  hi = (hi & ~0xF000ull) | 0x4000ull;                         // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    const uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    s += kHex[(word >> shift) & 0xF];
  }
  return s;
}

std::string Rng::Letters(int len, bool upper) {
  std::string s(static_cast<size_t>(len), 'a');
  for (char& c : s) c = static_cast<char>((upper ? 'A' : 'a') + Below(26));
  return s;
}

uint64_t SampleSeed(uint64_t seed, std::string_view task, int64_t length, int64_t index) {
  uint64_t h = Mix(seed ^ 0x52554C4552ull);  // "RULER"
  h = Mix(h ^ Fnv1a64(task));
  h = Mix(h ^ static_cast<uint64_t>(length));
  return Mix(h ^ static_cast<uint64_t>(index));
}

}  // namespace starattn::ruler
