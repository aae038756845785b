// RoPE's frequency tables: model math shared by every backend (each backend's Rope kernel takes
// the table the model computes).
#pragma once

#include <cstdint>
#include <vector>

namespace starattn {

// Inverse frequencies [rot_dims / 2]: theta^(-2i/rot_dims) / freq_factors[i] (freq_factors
// may be empty: all ones).
std::vector<float> RopeInvFreq(int64_t rot_dims, float theta,
                               const std::vector<float>& freq_factors);
// Llama 3 "llama3" rope scaling as frequency factors [rot_dims / 2] (the values llama.cpp's
// converter stores in rope_freqs.weight).
std::vector<float> Llama3FreqFactors(int64_t rot_dims, float theta, float factor,
                                     float low_freq_factor, float high_freq_factor,
                                     int64_t original_max_positions);

}  // namespace starattn
