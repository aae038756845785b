#include "engine/common/memory.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "engine/common/error.h"

namespace starattn {
namespace {

// The whole file, or "" when it cannot be read.
std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// The cgroup paths of this process: (v2 path, v1 memory-controller path), "" when absent.
std::pair<std::string, std::string> OwnCgroups(const std::string& proc) {
  std::string v2, v1;
  std::istringstream in(ReadSmallFile(proc + "/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    // "hierarchy-id:controllers:path"
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (id == "0" && controllers.empty()) v2 = path;
    std::istringstream cs(controllers);
    for (std::string c; std::getline(cs, c, ',');) {
      if (c == "memory") v1 = path;
    }
  }
  return {v2, v1};
}

// limit - usage under the first directory of `dirs` that has both files; false if none has.
bool CgroupHeadroom(const std::vector<std::string>& dirs, const char* limit_file,
                    const char* usage_file, uint64_t* headroom) {
  for (const std::string& dir : dirs) {
    uint64_t limit = 0, usage = 0;
    if (!ParseCgroupBytes(ReadSmallFile(dir + "/" + limit_file), &limit)) continue;
    if (!ParseCgroupBytes(ReadSmallFile(dir + "/" + usage_file), &usage)) continue;
    *headroom = limit > usage ? limit - usage : 0;
    return true;
  }
  return false;
}

}  // namespace

bool ParseMeminfoAvailable(std::string_view meminfo, uint64_t* bytes) {
  constexpr std::string_view kKey = "MemAvailable:";
  size_t pos = 0;
  while (pos < meminfo.size()) {
    size_t end = meminfo.find('\n', pos);
    if (end == std::string_view::npos) end = meminfo.size();
    std::string_view line = meminfo.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line = Trim(line.substr(kKey.size()));
    if (line.size() < 3 || line.substr(line.size() - 3) != " kB") return false;
    const std::string_view digits = Trim(line.substr(0, line.size() - 3));
    uint64_t kb = 0;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), kb);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || digits.empty()) {
      return false;
    }
    if (kb > std::numeric_limits<uint64_t>::max() / 1024) return false;
    *bytes = kb * 1024;
    return true;
  }
  return false;
}

bool ParseCgroupBytes(std::string_view text, uint64_t* bytes) {
  const std::string_view t = Trim(text);
  if (t == "max") {
    *bytes = std::numeric_limits<uint64_t>::max();
    return true;
  }
  if (t.empty()) return false;
  uint64_t v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return false;
  *bytes = v;
  return true;
}

MemoryBudget AvailableHostMemory(const std::string& proc, const std::string& cgroup) {
  MemoryBudget b;
  if (ParseMeminfoAvailable(ReadSmallFile(proc + "/meminfo"), &b.bytes)) {
    b.source = "host memory (MemAvailable in /proc/meminfo)";
  } else {
    const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    b.bytes = pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                                    : std::numeric_limits<uint64_t>::max();
    b.source = "host memory (free pages)";
  }
  const auto [v2, v1] = OwnCgroups(proc);
  uint64_t headroom = 0;
  bool limited = false;
  if (!v2.empty()) {
    limited = CgroupHeadroom({cgroup + v2, cgroup}, "memory.max", "memory.current", &headroom);
  }
  if (!limited && !v1.empty()) {
    limited = CgroupHeadroom({cgroup + "/memory" + v1, cgroup + "/memory"}, "memory.limit_in_bytes",
                             "memory.usage_in_bytes", &headroom);
  }
  if (limited && headroom < b.bytes) {
    b.bytes = headroom;
    b.source = "the cgroup memory limit";
  }
  return b;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

void CheckFits(uint64_t bytes_needed, const MemoryBudget& budget, std::string_view what) {
  if (bytes_needed <= budget.bytes) return;
  Fail("{} needs {} but {} has {} available", what, FormatBytes(bytes_needed), budget.source,
       FormatBytes(budget.bytes));
}

void CheckFits(uint64_t bytes_needed, uint64_t bytes_available, std::string_view what,
               std::string_view where) {
  CheckFits(bytes_needed, MemoryBudget{bytes_available, std::string(where)}, what);
}

}  // namespace starattn
