// The project's one seeded random generator and its mappings to integers and floats. Benchmark
// generators (ruler/, babilong/), the bootstrap (harness/lib/stats) and the tests all draw from
// SplitMix64 with the mappings below, never from std distributions (whose output differs across
// standard libraries), so that a printed seed gives the same numbers everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace starattn {

// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014): the
// state advances by a fixed odd constant and each output is the state through a bijective mix.
class SplitMix64 {
 public:
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;

  // The output mix (also a good 64-bit integer hash, used to derive seeds).
  static constexpr uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // `state` is used as given (callers that derive it from a seed say how).
  explicit constexpr SplitMix64(uint64_t state) : state_(state) {}

  constexpr uint64_t NextU64() { return Mix(state_ += kGamma); }

  // Uniform in [0, n), n >= 1, unbiased: Lemire's multiply-shift with rejection ("Fast Random
  // Integer Generation in an Interval", 2019).
  constexpr uint64_t Below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(NextU64()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(NextU64()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Uniform in [0, 1) from the top 53 bits.
  constexpr double Uniform() {
    return static_cast<double>(NextU64() >> 11) * (1.0 / 9007199254740992.0);
  }

  // Fisher-Yates, back to front (each slot i-1 swapped with Below(i)).
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(Below(i));
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  uint64_t state_;
};

}  // namespace starattn
