#include "engine/model/rope.h"

#include <cmath>
#include <numbers>

namespace starattn {

std::vector<float> RopeInvFreq(int64_t rot_dims, float theta,
                               const std::vector<float>& freq_factors) {
  std::vector<float> inv(rot_dims / 2);
  for (int64_t i = 0; i < rot_dims / 2; ++i) {
    double f = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / rot_dims);
    if (!freq_factors.empty()) f /= freq_factors[i];
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

std::vector<float> Llama3FreqFactors(int64_t rot_dims, float theta, float factor,
                                     float low_freq_factor, float high_freq_factor,
                                     int64_t original_max_positions) {
  // As in Meta's reference and llama.cpp's converter: long wavelengths are divided by `factor`,
  // short ones kept, and the band between interpolated smoothly.
  const double low_freq_wavelen = original_max_positions / low_freq_factor;
  const double high_freq_wavelen = original_max_positions / high_freq_factor;
  std::vector<float> factors(rot_dims / 2);
  for (int64_t i = 0; i < rot_dims / 2; ++i) {
    const double freq = 1.0 / std::pow(static_cast<double>(theta), 2.0 * i / rot_dims);
    const double wavelen = 2.0 * std::numbers::pi / freq;
    double f;
    if (wavelen < high_freq_wavelen) {
      f = 1.0;
    } else if (wavelen > low_freq_wavelen) {
      f = factor;
    } else {
      const double smooth = (original_max_positions / wavelen - low_freq_factor) /
                            (high_freq_factor - low_freq_factor);
      f = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    factors[i] = static_cast<float>(f);
  }
  return factors;
}

}  // namespace starattn
