#include "engine/common/testing.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace starattn::testing {

bool AllClose(const float* got, const float* ref, size_t n, Tolerance tol,
              const std::string& what) {
  for (size_t i = 0; i < n; ++i) {
    const double g = got[i], r = ref[i];
    const bool ok =
        std::isfinite(g) == std::isfinite(r) &&
        (!std::isfinite(r) ? g == r : std::abs(g - r) <= tol.atol + tol.rtol * std::abs(r));
    if (!ok) {
      ADD_FAILURE() << what << ": first mismatch at index " << i << " of " << n << ": got " << g
                    << ", want " << r << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
      return false;
    }
  }
  return true;
}

bool AllClose(const std::vector<float>& got, const std::vector<float>& ref, Tolerance tol,
              const std::string& what) {
  if (got.size() != ref.size()) {
    ADD_FAILURE() << what << ": size " << got.size() << " != " << ref.size();
    return false;
  }
  return AllClose(got.data(), ref.data(), got.size(), tol, what);
}

float Rng::Uniform(float lo, float hi) { return static_cast<float>(lo + (hi - lo) * Uniform()); }

std::vector<float> Rng::UniformVector(size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (auto& x : v) x = Uniform(lo, hi);
  return v;
}

std::string SeedTrace(uint64_t seed) { return fmt::format("seed = {}", seed); }

std::string FixturePath(const std::string& name) {
  return std::string(STARATTN_SOURCE_DIR) + "/tests/fixtures/" + name;
}

std::string SharedDataDir() {
  if (const char* env = std::getenv("STARATTN_SHARED_DATA"); env != nullptr && *env != 0) {
    return std::filesystem::is_directory(env) ? std::string(env) : std::string();
  }
  const std::string p = std::string(STARATTN_SOURCE_DIR) + "/../shared/data";
  return std::filesystem::is_directory(p) ? p : std::string();
}

std::string DefaultModelPath() {
  if (const char* env = std::getenv("STARATTN_MODEL"); env != nullptr && *env != 0) {
    return std::filesystem::is_regular_file(env) ? std::string(env) : std::string();
  }
  const std::string p =
      std::string(STARATTN_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  return std::filesystem::is_regular_file(p) ? p : std::string();
}

bool AllowMissingModel() {
  const char* env = std::getenv("STARATTN_ALLOW_MISSING_MODEL");
  return env != nullptr && std::string(env) == "1";
}

}  // namespace starattn::testing
