#include "harness/lib/profiles.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>

#include <algorithm>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn::cli {
namespace {

bool Has(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The benchmark's own profile names, for the error of a name of the other benchmark.
void CheckProfileBenchmark(std::string_view benchmark, const std::string& name,
                           const std::vector<std::string>& own) {
  if (Has(own, name)) return;
  const std::string other = BenchmarkOfProfile(name);
  if (!other.empty()) {
    Fail("profile '{}' is a {} profile, not a {} one ({} profiles: {})", name,
         other == "ruler" ? "RULER" : "BABILong", benchmark == "ruler" ? "RULER" : "BABILong",
         benchmark == "ruler" ? "RULER" : "BABILong", fmt::join(own, ", "));
  }
}

template <typename Profile, typename Set>
void ApplySettings(Profile& p, const nlohmann::json& settings, Set set) {
  if (settings.is_null()) return;
  if (!settings.is_object()) Fail("profile settings must be an object, got {}", settings.dump());
  for (const auto& [key, value] : settings.items()) set(p, key, value);
}

}  // namespace

std::string BenchmarkOfProfile(std::string_view name) {
  if (Has(ruler::ProfileNames(), name)) return "ruler";
  if (Has(babilong::ProfileNames(), name)) return "babilong";
  return "";
}

ruler::Profile MakeRulerProfile(const std::string& name, const nlohmann::json& settings) {
  CheckProfileBenchmark("ruler", name, ruler::ProfileNames());
  ruler::Profile p = ruler::ProfileNamed(name);
  ApplySettings(p, settings, [](ruler::Profile& q, const std::string& k, const nlohmann::json& v) {
    ruler::SetProfileValue(q, k, v);
  });
  return p;
}

babilong::Profile MakeBabilongProfile(const std::string& name, const nlohmann::json& settings) {
  CheckProfileBenchmark("babilong", name, babilong::ProfileNames());
  babilong::Profile p = babilong::ProfileNamed(name);
  ApplySettings(p, settings,
                [](babilong::Profile& q, const std::string& k, const nlohmann::json& v) {
                  babilong::SetProfileValue(q, k, v);
                });
  return p;
}

nlohmann::json ParseSetOptions(const std::vector<std::string>& items) {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      Fail("--set '{}': expected KEY=VALUE (e.g. match=word)", Printable(item));
    }
    const std::string key = item.substr(0, eq), text = item.substr(eq + 1);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    const size_t dot = key.find('.');
    if (dot == std::string::npos) {
      out[key] = value;
    } else if (dot == 0 || dot + 1 == key.size()) {
      Fail("--set '{}': empty key part", Printable(item));
    } else {
      out[key.substr(0, dot)][key.substr(dot + 1)] = value;
    }
  }
  return out;
}

std::string FileSha256(const std::string& path) {
  const std::string bytes = ReadFileToString(path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr) != 1) {
    Fail("{}: SHA-256 failed", path);
  }
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace starattn::cli
