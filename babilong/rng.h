// The benchmark's random numbers: SplitMix64 (engine/common/random.h) with its own integer and
// float mappings, so that a seed gives the same samples on every platform and standard library
// (std distributions do not).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "engine/common/hash.h"
#include "engine/common/random.h"

namespace starattn::babilong {

// SplitMix64 whose state starts at the seed, plus the draws the generator needs.
class Rng : public SplitMix64 {
 public:
  explicit Rng(uint64_t seed) : SplitMix64(seed) {}

  bool Bernoulli(double p) { return Uniform() < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
};

// Seed of an independent stream: the parts (e.g. Fnv1a64 of names, engine/common/hash.h) are
// mixed in order through splitmix64.
inline uint64_t StreamSeed(std::initializer_list<uint64_t> parts) {
  uint64_t s = 0x5EED5EED5EED5EEDull;
  for (const uint64_t p : parts) {
    Rng r(s ^ p);
    s = r.NextU64();
  }
  return s;
}

}  // namespace starattn::babilong
