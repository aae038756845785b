// The ruler generators' random numbers: SplitMix64 with its own integer mappings, so that a seed
// gives the same samples on every platform and standard library (std distributions differ).
//
// Seed scheme: the reference seeds Python's MT19937 with 42 + chunk index, which C++ cannot
// reproduce byte for byte; here every sample has its own seed,
//   SampleSeed(seed, task, length, index),
// and each part of a sample (needles, haystack, positions...) draws from its own stream
// Rng(sample_seed, stream), so that shrinking the haystack of one sample changes only the
// haystack-dependent draws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/random.h"

namespace starattn::ruler {

// SplitMix64 (engine/common/random.h) started from a mix of (seed, stream), plus the draws the
// generators need.
class Rng : public SplitMix64 {
 public:
  explicit Rng(uint64_t seed, uint64_t stream = 0);

  // Uniform in [lo, hi], both inclusive; lo <= hi.
  int64_t Range(int64_t lo, int64_t hi);
  // k distinct indexes of [0, n) in draw order (like Python's random.sample); k <= n.
  std::vector<int64_t> SampleDistinct(int64_t n, int64_t k);
  // A random version-4 UUID in its 36-character lowercase form (like
  // str(uuid.UUID(int=random.getrandbits(128), version=4))).
  std::string Uuid4();
  // `len` letters drawn uniformly from [a-z] (upper=false) or [A-Z] (upper=true).
  std::string Letters(int len, bool upper);
};

// The seed of one sample; distinct for every (seed, task, length, index).
uint64_t SampleSeed(uint64_t seed, std::string_view task, int64_t length, int64_t index);

}  // namespace starattn::ruler
