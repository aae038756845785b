// Memory limits checked before allocating: how much host memory this process may still use, and
// a one-line Error when a model, a KV cache or a buffer would not fit. Backend-independent: a
// device backend passes its own budget (e.g. cudaMemGetInfo's free bytes) to CheckFits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace starattn {

// Bytes that can still be allocated, and where the number comes from (for messages).
struct MemoryBudget {
  uint64_t bytes = 0;
  std::string source;  // "host memory (MemAvailable)", "cgroup memory limit", "GPU 0 free memory"
};

// Host memory this process can still allocate: the smallest of MemAvailable (/proc/meminfo) and
// the headroom under the cgroup's memory limit (v2 memory.max - memory.current, v1
// memory.limit_in_bytes - memory.usage_in_bytes), read from the process's own cgroup or the
// hierarchy's root. Falls back to sysconf(_SC_AVPHYS_PAGES) when /proc/meminfo is unreadable.
// `proc` and `cgroup` are the mount points (tests pass fake trees).
MemoryBudget AvailableHostMemory(const std::string& proc = "/proc",
                                 const std::string& cgroup = "/sys/fs/cgroup");

// Throws Error "<what> needs 12.0 GiB but <budget.source> has 3.1 GiB available" when
// bytes_needed > budget.bytes. Call it before the allocation (model weights, KV cache, scratch).
void CheckFits(uint64_t bytes_needed, const MemoryBudget& budget, std::string_view what);
// The same with a plain number of available bytes, named `where` ("host memory", "GPU 0").
void CheckFits(uint64_t bytes_needed, uint64_t bytes_available, std::string_view what,
               std::string_view where = "this machine");

// "512 bytes", "1.5 KiB", "3.1 GiB".
std::string FormatBytes(uint64_t bytes);

// Parsers of the files AvailableHostMemory reads (exposed for tests). Return false when the text
// has no usable value; "max" (cgroup v2, no limit) reads as UINT64_MAX.
bool ParseMeminfoAvailable(std::string_view meminfo, uint64_t* bytes);
bool ParseCgroupBytes(std::string_view text, uint64_t* bytes);

}  // namespace starattn
