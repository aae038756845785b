#include "engine/common/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("starattn_files_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Names in dir_ (to see that no temporary file is left behind).
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir_;
};

TEST_F(FilesTest, WritesAndReplacesWholeFiles) {
  const std::string path = (dir_ / "a.json").string();
  WriteFileAtomically(path, "first\n");
  EXPECT_EQ(ReadFileToString(path), "first\n");
  WriteFileAtomically(path, "second, longer\n");
  EXPECT_EQ(ReadFileToString(path), "second, longer\n");
  EXPECT_EQ(Names(), std::vector<std::string>{"a.json"});
}

TEST_F(FilesTest, AnUncommittedWriterLeavesTheTargetAlone) {
  const std::string path = (dir_ / "b.jsonl").string();
  WriteFileAtomically(path, "old\n");
  {
    AtomicFileWriter w(path);
    w.out() << "half of the new";
    // destroyed without Commit(), as when an exception unwinds
  }
  EXPECT_EQ(ReadFileToString(path), "old\n");
  EXPECT_EQ(Names(), std::vector<std::string>{"b.jsonl"});
  {
    AtomicFileWriter w(path);
    w.out() << "new\n";
    w.Commit();
  }
  EXPECT_EQ(ReadFileToString(path), "new\n");
}

TEST_F(FilesTest, AMissingDirectoryIsAnError) {
  const std::string path = (dir_ / "no" / "such" / "c.txt").string();
  EXPECT_THAT([&] { WriteFileAtomically(path, "x"); },
              ThrowsMessage<Error>(HasSubstr("c.txt.tmp")));
}

}  // namespace
}  // namespace starattn
