// The CPU this process runs on, as /proc/cpuinfo describes it: recorded with every performance
// number (machines differ between runs; numbers compare only within one machine).
#pragma once

#include <string>
#include <vector>

namespace starattn {

struct CpuInfo {
  std::string vendor;      // "AuthenticAMD"
  std::string model_name;  // "AMD EPYC"
  int family = 0;          // 25: Zen 3/4, 26: Zen 5
  int model = 0;
  int logical_cpus = 0;
  // The instruction-set flags the kernels care about, in this order where present: avx2 fma f16c
  // avx512f avx512bw avx512_vnni avx512_bf16 avx_vnni amx_bf16 amx_int8.
  std::vector<std::string> flags;
  // "AuthenticAMD AMD EPYC (family 26, model 2), 2 CPUs, avx2 fma ... avx512_bf16"
  std::string Describe() const;
};

// Empty fields where /proc/cpuinfo is unavailable.
CpuInfo ReadCpuInfo();

}  // namespace starattn
