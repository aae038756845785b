// Host memory budget (meminfo and cgroup limits, read from fake /proc and /sys/fs/cgroup trees)
// and CheckFits' one-line errors.
#include "engine/common/memory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/common/error.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;

class FakeTree {
 public:
  FakeTree() {
    root_ = fs::temp_directory_path() /
            ("starattn_mem_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "proc" / "self");
    fs::create_directories(root_ / "cgroup");
  }
  ~FakeTree() { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& text) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string proc() const { return (root_ / "proc").string(); }
  std::string cgroup() const { return (root_ / "cgroup").string(); }

 private:
  fs::path root_;
};

constexpr const char* kMeminfo =
    "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:    2000000 kB\n";

TEST(MemoryTest, ParsesMeminfoAndCgroupFiles) {
  uint64_t b = 0;
  ASSERT_TRUE(ParseMeminfoAvailable(kMeminfo, &b));
  EXPECT_EQ(b, 2000000ull * 1024);
  EXPECT_FALSE(ParseMeminfoAvailable("MemTotal: 5 kB\n", &b));
  EXPECT_FALSE(ParseMeminfoAvailable("MemAvailable: lots kB\n", &b));
  EXPECT_FALSE(ParseMeminfoAvailable("MemAvailable: 99999999999999999999 kB\n", &b));
  ASSERT_TRUE(ParseCgroupBytes("max\n", &b));
  EXPECT_EQ(b, std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(ParseCgroupBytes("1073741824\n", &b));
  EXPECT_EQ(b, 1073741824u);
  EXPECT_FALSE(ParseCgroupBytes("", &b));
  EXPECT_FALSE(ParseCgroupBytes("12x", &b));
}

TEST(MemoryTest, MemAvailableWithoutCgroupLimit) {
  FakeTree t;
  t.Write("proc/meminfo", kMeminfo);
  t.Write("proc/self/cgroup", "0::/user.slice\n");
  t.Write("cgroup/user.slice/memory.max", "max\n");
  t.Write("cgroup/user.slice/memory.current", "5000\n");
  const MemoryBudget m = AvailableHostMemory(t.proc(), t.cgroup());
  EXPECT_EQ(m.bytes, 2000000ull * 1024);
  EXPECT_EQ(m.source, "host memory (MemAvailable in /proc/meminfo)");
}

TEST(MemoryTest, CgroupV2LimitCapsTheBudget) {
  FakeTree t;
  t.Write("proc/meminfo", kMeminfo);
  t.Write("proc/self/cgroup", "0::/job\n");
  t.Write("cgroup/job/memory.max", "1073741824\n");
  t.Write("cgroup/job/memory.current", "73741824\n");
  const MemoryBudget m = AvailableHostMemory(t.proc(), t.cgroup());
  EXPECT_EQ(m.bytes, 1000000000u);
  EXPECT_EQ(m.source, "the cgroup memory limit");
}

TEST(MemoryTest, CgroupV1LimitAtTheHierarchyRoot) {
  // In a container, /proc/self/cgroup names the host's path but the mount shows only our own
  // cgroup at the root of the hierarchy.
  FakeTree t;
  t.Write("proc/meminfo", kMeminfo);
  t.Write("proc/self/cgroup", "4:memory:/docker/abc\n0::/\n");
  t.Write("cgroup/memory/memory.limit_in_bytes", "536870912\n");
  t.Write("cgroup/memory/memory.usage_in_bytes", "600000000\n");  // over the limit: 0 left
  const MemoryBudget m = AvailableHostMemory(t.proc(), t.cgroup());
  EXPECT_EQ(m.bytes, 0u);
  EXPECT_EQ(m.source, "the cgroup memory limit");
}

TEST(MemoryTest, FallsBackToSysconfWithoutMeminfo) {
  FakeTree t;
  const MemoryBudget m = AvailableHostMemory(t.proc(), t.cgroup());
  EXPECT_GT(m.bytes, 0u);
  EXPECT_EQ(m.source, "host memory (free pages)");
}

TEST(MemoryTest, ThisMachineHasSomeMemory) {
  const MemoryBudget m = AvailableHostMemory();
  EXPECT_GT(m.bytes, 16u << 20) << m.source;
  EXPECT_FALSE(m.source.empty());
}

TEST(MemoryTest, CheckFitsThrowsOneLine) {
  CheckFits(100, 100, "buffer");
  const MemoryBudget budget{uint64_t{3} << 30, "host memory (MemAvailable in /proc/meminfo)"};
  CheckFits(uint64_t{3} << 30, budget, "KV cache");
  EXPECT_THAT(
      [&] { CheckFits(uint64_t{12} << 30, budget, "KV cache of 2 hosts x 131072 tokens"); },
      ::testing::ThrowsMessage<Error>(
          "KV cache of 2 hosts x 131072 tokens needs 12.0 GiB but host memory (MemAvailable "
          "in /proc/meminfo) has 3.0 GiB available"));
  EXPECT_THAT([] { CheckFits(2048, 1000, "weights", "GPU 0 (free memory)"); },
              ::testing::ThrowsMessage<Error>(
                  "weights needs 2.0 KiB but GPU 0 (free memory) has 1000 bytes available"));
}

TEST(MemoryTest, FormatBytes) {
  EXPECT_EQ(FormatBytes(0), "0 bytes");
  EXPECT_EQ(FormatBytes(1023), "1023 bytes");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 20), "5.0 MiB");
  EXPECT_EQ(FormatBytes(std::numeric_limits<uint64_t>::max()), "16.0 EiB");
}

}  // namespace
}  // namespace starattn
