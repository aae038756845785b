// MappedFile and ReadFileToString: contents, empty files, and one-line errors naming the path.
#include "engine/common/mapped_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/common/error.h"
#include "engine/common/testing.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;

fs::path TempPath(const std::string& name) {
  return fs::temp_directory_path() / ("starattn_mf_" + std::to_string(::getpid()) + "_" + name);
}

TEST(MappedFileTest, MapsContentsAndMoves) {
  const fs::path p = TempPath("data");
  std::ofstream(p, std::ios::binary) << std::string("hello\0world", 11);
  MappedFile f = MappedFile::Open(p.string());
  ASSERT_EQ(f.size(), 11u);
  EXPECT_EQ(std::memcmp(f.data(), "hello\0world", 11), 0);
  MappedFile g = std::move(f);
  EXPECT_EQ(g.size(), 11u);
  EXPECT_EQ(f.data(), nullptr);
  EXPECT_EQ(ReadFileToString(p.string()), std::string("hello\0world", 11));
  fs::remove(p);
}

TEST(MappedFileTest, FromBytesOwnsACopy) {
  std::string bytes("abc\0def", 7);
  MappedFile f = MappedFile::FromBytes("mem", bytes);
  bytes[0] = 'X';
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f.path(), "mem");
  EXPECT_EQ(std::memcmp(f.data(), "abc\0def", 7), 0);
  MappedFile g = std::move(f);
  EXPECT_EQ(f.data(), nullptr);
  EXPECT_EQ(std::memcmp(g.data(), "abc\0def", 7), 0);
  g = MappedFile::FromBytes("empty", "");
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(g.data(), nullptr);
}

TEST(MappedFileTest, ReadFileToStringRejectsADirectory) {
  const std::string dir = fs::temp_directory_path().string();
  EXPECT_THAT([&] { ReadFileToString(dir); },
              ::testing::ThrowsMessage<Error>(dir + ": is a directory"));
}

TEST(MappedFileTest, EmptyFile) {
  const fs::path p = TempPath("empty");
  std::ofstream(p).close();
  MappedFile f = MappedFile::Open(p.string());
  EXPECT_EQ(f.size(), 0u);
  fs::remove(p);
}

TEST(MappedFileTest, ErrorsNameThePath) {
  EXPECT_THAT([] { MappedFile::Open("/nonexistent/starattn.bin"); },
              testing::ThrowsOneLineError("/nonexistent/starattn.bin: cannot open"));
  EXPECT_THROW(MappedFile::Open(fs::temp_directory_path().string()), Error);  // a directory
  EXPECT_THROW(ReadFileToString("/nonexistent/x.json"), Error);
}

TEST(PrintableTest, EscapesControlBytesAndCuts) {
  EXPECT_EQ(Printable("a\nb\x7f"), "a\\x0ab\\x7f");
  EXPECT_EQ(Printable(std::string(100, 'x'), 10), std::string(10, 'x') + "...");
}

}  // namespace
}  // namespace starattn
