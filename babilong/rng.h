// The benchmark's own PRNG: splitmix64 with explicit integer and float mappings, so that a seed
// gives the same samples on every platform and standard library (std distributions do not).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace starattn::babilong {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t NextU64() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0: Lemire's multiply-shift with rejection (no modulo bias).
  uint64_t Below(uint64_t n) {
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(NextU64()) * n;
      const uint64_t low = static_cast<uint64_t>(m);
      if (low >= n || low >= (0 - n) % n) return static_cast<uint64_t>(m >> 64);
    }
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * (1.0 / 9007199254740992.0); }
  bool Bernoulli(double p) { return Uniform() < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
  // Fisher-Yates, back to front.
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  uint64_t state_;
};

// FNV-1a of a name, for deriving independent streams from (seed, task, ...).
inline uint64_t HashName(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (const char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

// Seed of an independent stream: the parts are mixed in order through splitmix64.
inline uint64_t StreamSeed(std::initializer_list<uint64_t> parts) {
  uint64_t s = 0x5EED5EED5EED5EEDull;
  for (const uint64_t p : parts) {
    Rng r(s ^ p);
    s = r.NextU64();
  }
  return s;
}

}  // namespace starattn::babilong
