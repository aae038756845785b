// safetensors reader: the fixtures of tools/make_io_fixtures.py (single file and two shards),
// and malformed files written here in a temp dir.
#include "engine/io/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;

using testing::ThrowsOneLineErrorAt;

// The fixture values: (i - 5) * 0.25 at flat index i.
std::vector<float> Expected(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = (i - 5) * 0.25f;
  return v;
}

void ExpectFixtureTensors(const SafetensorsCheckpoint& c) {
  ASSERT_EQ(c.tensors().size(), 4u);
  EXPECT_EQ(c.Find("missing"), nullptr);
  struct Want {
    const char* name;
    const char* dtype;
    std::vector<int64_t> shape;
    size_t nbytes;
  };
  for (const Want& w : {Want{"a.f32", "F32", {3, 4}, 48}, Want{"b.f16", "F16", {2, 3, 4}, 48},
                        Want{"c.bf16", "BF16", {5}, 10}}) {
    SCOPED_TRACE(w.name);
    const SafeTensor* t = c.Find(w.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->name, w.name);
    EXPECT_EQ(t->dtype, w.dtype);
    EXPECT_EQ(t->shape, w.shape);
    EXPECT_EQ(t->nbytes, w.nbytes);
    EXPECT_EQ(c.ReadF32(*t), Expected(static_cast<int>(t->n_elements())));
  }
  // Listed, but not convertible to F32.
  const SafeTensor* i32 = c.Find("d.i32");
  ASSERT_NE(i32, nullptr);
  EXPECT_EQ(i32->dtype, "I32");
  EXPECT_EQ(i32->shape, (std::vector<int64_t>{4}));
  EXPECT_THAT([&] { c.ReadF32(*i32); }, ThrowsOneLineErrorAt(i32->file + ": ", "I32"));
}

TEST(SafetensorsTest, ReadsSingleFile) {
  const std::string dir = testing::FixturePath("io/st/single");
  const SafetensorsCheckpoint c = SafetensorsCheckpoint::OpenDir(dir);
  ExpectFixtureTensors(c);
  EXPECT_EQ(fs::path(c.Find("a.f32")->file), fs::path(dir) / "model.safetensors");

  ExpectFixtureTensors(SafetensorsCheckpoint::OpenFile(dir + "/model.safetensors"));
}

TEST(SafetensorsTest, ReadsBytesInMemory) {
  const std::string bytes =
      ReadFileToString(testing::FixturePath("io/st/single/model.safetensors"));
  const SafetensorsCheckpoint c =
      SafetensorsCheckpoint::FromMapped(MappedFile::FromBytes("mem.safetensors", bytes));
  ExpectFixtureTensors(c);
  EXPECT_EQ(c.Find("a.f32")->file, "mem.safetensors");
  EXPECT_THAT(
      [&] {
        SafetensorsCheckpoint::FromMapped(
            MappedFile::FromBytes("cut.safetensors", bytes.substr(0, 20)));
      },
      ThrowsOneLineErrorAt("cut.safetensors: header length"));
}

// A shape entry nested 100,000 deep: an Error quoting two levels, not a stack overflow in the
// message (json::dump() recursed once per level).
TEST(SafetensorsTest, DeeplyNestedShapeIsAnError) {
  const std::string shape = std::string(100000, '[') + std::string(100000, ']');
  std::string header =
      "{\"t\": {\"dtype\": \"F32\", \"shape\": [" + shape + "], \"data_offsets\": [0, 0]}}";
  header += std::string((8 - header.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header;
  EXPECT_THAT(
      [&] { SafetensorsCheckpoint::FromMapped(MappedFile::FromBytes("deep.safetensors", file)); },
      ::testing::ThrowsMessage<Error>(::testing::Eq(
          "deep.safetensors: tensor 't' shape entry must be a non-negative integer, got "
          "[[[...]]]")));
}

TEST(SafetensorsTest, ReadsShards) {
  const SafetensorsCheckpoint c =
      SafetensorsCheckpoint::OpenDir(testing::FixturePath("io/st/sharded"));
  ExpectFixtureTensors(c);
  EXPECT_EQ(fs::path(c.Find("a.f32")->file).filename(), "model-00001-of-00002.safetensors");
  EXPECT_EQ(fs::path(c.Find("b.f16")->file).filename(), "model-00001-of-00002.safetensors");
  EXPECT_EQ(fs::path(c.Find("c.bf16")->file).filename(), "model-00002-of-00002.safetensors");
}

class SafetensorsBadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("st_test_") + info->name() + "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteRaw(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
    return path;
  }
  // A safetensors file: u64 header length, header, data.
  std::string WriteSt(const std::string& name, const std::string& header, const std::string& data) {
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    return WriteRaw(name, bytes + header + data);
  }
  // Expects opening `path` (a file, or a dir when `dir` is set) to fail with a one-line
  // message starting with `prefix` and containing `want`.
  void ExpectError(const std::string& path, const std::string& want, bool dir = false,
                   std::string prefix = "") {
    if (prefix.empty()) prefix = path;
    auto open = [&] {
      if (dir) {
        SafetensorsCheckpoint::OpenDir(path);
      } else {
        SafetensorsCheckpoint::OpenFile(path);
      }
    };
    EXPECT_THAT(open, ThrowsOneLineErrorAt(prefix + ": ", want));
  }

  fs::path dir_;
};

const std::string kEight(8, 'x');  // 8 data bytes

TEST_F(SafetensorsBadTest, MinimalValidFile) {
  const std::string path =
      WriteSt("ok.safetensors",
              R"({"__metadata__":{"x":"y"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("e":{"dtype":"F16","shape":[0,3],"data_offsets":[8,8]}})",
              kEight);
  const SafetensorsCheckpoint c = SafetensorsCheckpoint::OpenFile(path);
  EXPECT_EQ(c.tensors().size(), 2u);
  EXPECT_EQ(c.ReadF32(*c.Find("e")).size(), 0u);
}

TEST_F(SafetensorsBadTest, BadHeader) {
  ExpectError(WriteRaw("short.safetensors", "abc"), "too short");
  ExpectError(WriteSt("json.safetensors", "{\"w\": {\"dtype\": \n", kEight), "invalid JSON");
  ExpectError(WriteSt("array.safetensors", "[1, 2]", ""), "not a JSON object");
  std::string bytes(8, '\0');
  const uint64_t huge = 1000;
  std::memcpy(bytes.data(), &huge, 8);
  ExpectError(WriteRaw("len.safetensors", bytes + "{}"), "header length 1000");
  std::memset(bytes.data(), 0xFF, 8);
  ExpectError(WriteRaw("len2.safetensors", bytes + "{}"), "header length");
}

TEST_F(SafetensorsBadTest, BadEntries) {
  auto one = [&](const std::string& entry, const std::string& data = kEight) {
    return WriteSt("bad.safetensors", "{\"w\":" + entry + "}", data);
  };
  ExpectError(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,16]})"),
              "outside the 8-byte data section");
  ExpectError(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), "outside");
  ExpectError(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]})"),
              "outside");
  ExpectError(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), "needs 12");
  ExpectError(one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
              "overflows");
  ExpectError(one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), "non-negative");
  ExpectError(one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"), "non-negative");
  ExpectError(one(R"({"dtype":"Q7","shape":[2],"data_offsets":[0,8]})"), "unknown dtype 'Q7'");
  ExpectError(one(R"({"dtype":7,"shape":[2],"data_offsets":[0,8]})"), "dtype");
  ExpectError(one(R"({"dtype":"F32","data_offsets":[0,8]})"), "shape");
  ExpectError(one(R"({"dtype":"F32","shape":[2]})"), "data_offsets");
  ExpectError(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), "data_offsets");
  ExpectError(one("[]"), "not an object");
  ExpectError(WriteSt("overlap.safetensors",
                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})",
                      kEight),
              "overlap");
}

TEST_F(SafetensorsBadTest, UnreadableDtype) {
  const std::string path =
      WriteSt("u8.safetensors", R"({"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", kEight);
  const SafetensorsCheckpoint c = SafetensorsCheckpoint::OpenFile(path);
  EXPECT_THAT([&] { c.ReadF32(*c.Find("w")); }, ThrowsOneLineErrorAt(path + ": ", "U8"));
}

TEST_F(SafetensorsBadTest, TruncatedAtEveryLength) {
  const std::string valid =
      ReadFileToString(testing::FixturePath("io/st/single/model.safetensors"));
  for (size_t len = 0; len < valid.size(); ++len) {
    const std::string path = WriteRaw("cut.safetensors", valid.substr(0, len));
    EXPECT_THAT([&] { SafetensorsCheckpoint::OpenFile(path); }, ThrowsOneLineErrorAt(path + ": "))
        << len;
  }
}

TEST_F(SafetensorsBadTest, BadDirectories) {
  const std::string empty = (dir_ / "empty").string();
  fs::create_directories(empty);
  ExpectError(empty, "no model.safetensors", /*dir=*/true);

  const fs::path sharded = dir_ / "sharded";
  fs::create_directories(sharded);
  const std::string index = (sharded / "model.safetensors.index.json").string();
  auto write_index = [&](const std::string& text) {
    std::ofstream(index, std::ios::trunc) << text;
  };
  const std::string shard_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  WriteSt("sharded/s1.safetensors", shard_header, kEight);

  write_index("{\"weight_map\": {\"w\": ");
  ExpectError(sharded.string(), "invalid JSON", true, index);
  write_index(R"({"metadata": {}})");
  ExpectError(sharded.string(), "weight_map", true, index);
  write_index(R"({"weight_map": {"w": "s1.safetensors", "v": "s2.safetensors"}})");
  ExpectError(sharded.string(), "shard 's2.safetensors' listed in weight_map does not exist", true,
              index);
  write_index(R"({"weight_map": {"w": "s1.safetensors", "v": "s1.safetensors"}})");
  ExpectError(sharded.string(), "tensor 'v' is not in its shard", true, index);
  write_index(R"({"weight_map": {"w": "../s1.safetensors"}})");
  ExpectError(sharded.string(), "invalid shard", true, index);
  write_index(R"({"weight_map": {"w": 3}})");
  ExpectError(sharded.string(), "not a string", true, index);

  // The same tensor in two shards.
  const std::string s2 = WriteSt("sharded/s2.safetensors", shard_header, kEight);
  write_index(R"({"weight_map": {"w": "s1.safetensors", "x": "s2.safetensors"}})");
  ExpectError(sharded.string(), "also appears", true, s2);

  write_index(R"({"weight_map": {"w": "s1.safetensors"}})");
  const SafetensorsCheckpoint ok = SafetensorsCheckpoint::OpenDir(sharded.string());
  EXPECT_EQ(ok.tensors().size(), 1u);
}

}  // namespace
}  // namespace starattn
