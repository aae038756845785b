#include "engine/common/cpu_info.h"

#include <fmt/format.h>

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "engine/common/error.h"
#include "engine/common/parse.h"

namespace starattn {

CpuInfo ReadCpuInfo() {
  CpuInfo info;
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(f, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "processor") {
      ++info.logical_cpus;
    } else if (info.logical_cpus == 1) {  // the first processor's description
      if (key == "vendor_id") info.vendor = value;
      if (key == "model name") info.model_name = value;
      // A kernel that writes something else here leaves 0 (unknown): this only labels output.
      auto number = [&](int* out) {
        try {
          *out = static_cast<int>(ParseInt(value, key, 0, std::numeric_limits<int>::max()));
        } catch (const Error&) {
          *out = 0;
        }
      };
      if (key == "cpu family") number(&info.family);
      if (key == "model") number(&info.model);
      if (key == "flags") {
        std::istringstream words(value);
        for (std::string w; words >> w;) flags.insert(w);
      }
    }
  }
  for (const char* want : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
                           "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8"}) {
    if (flags.count(want)) info.flags.push_back(want);
  }
  return info;
}

std::string CpuInfo::Describe() const {
  std::string flag_list;
  for (const std::string& fl : flags) flag_list += (flag_list.empty() ? "" : " ") + fl;
  return fmt::format("{} {} (family {}, model {}), {} CPUs, {}", vendor, model_name, family, model,
                     logical_cpus, flag_list);
}

}  // namespace starattn
