// Every exception main can catch becomes one line and the exit code of its class: 2 for bad
// input, 1 for failures at run time.
#include "harness/lib/exit_status.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/parse.h"

namespace starattn::cli {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

template <typename F>
ExitStatus StatusOf(F&& f) {
  try {
    f();
  } catch (...) {
    return DescribeException(std::current_exception());
  }
  ADD_FAILURE() << "no exception";
  return {};
}

TEST(ExitStatusTest, EngineErrorsAreBadInputRuntimeFailuresAreNot) {
  auto s = StatusOf([] { Fail("{}: bad magic", "m.gguf"); });
  EXPECT_EQ(s.code, 2);
  EXPECT_EQ(s.message, "m.gguf: bad magic");
  s = StatusOf([] { FailAtRuntime("{}: write failed: {}", "pred.jsonl", "No space left"); });
  EXPECT_EQ(s.code, 1);
  EXPECT_EQ(s.message, "pred.jsonl: write failed: No space left");
  s = StatusOf([] { ParseInt("12x", "--samples"); });
  EXPECT_EQ(s.code, 2);
  EXPECT_EQ(s.message, "--samples: '12x' is not an integer");
}

TEST(ExitStatusTest, CommandLineAndJsonErrorsAreBadInput) {
  auto s = StatusOf([] {
    po::options_description desc;
    desc.add_options()("samples", po::value<int>());
    po::variables_map vm;
    po::store(
        po::command_line_parser(std::vector<std::string>{"--samples", "x"}).options(desc).run(),
        vm);
  });
  EXPECT_EQ(s.code, 2);
  EXPECT_NE(s.message.find("(see --help)"), std::string::npos) << s.message;
  s = StatusOf([] { const auto j = nlohmann::json::parse("{\"a\": "); });
  EXPECT_EQ(s.code, 2);
  EXPECT_NE(s.message.find("parse error"), std::string::npos) << s.message;
  s = StatusOf([] { (void)nlohmann::json::parse("{\"a\": \"x\"}")["a"].get<int>(); });
  EXPECT_EQ(s.code, 2);
  EXPECT_NE(s.message.find("type must be number"), std::string::npos) << s.message;
}

TEST(ExitStatusTest, FilesystemErrorsOnUserPathsAreBadInput) {
  const fs::path file = fs::temp_directory_path() / ("starattn_exit_" + std::to_string(::getpid()));
  { std::ofstream(file) << "x"; }
  // --out under a regular file: create_directories fails with ENOTDIR (or EEXIST).
  auto s = StatusOf([&] { fs::create_directories(file / "out"); });
  fs::remove(file);
  EXPECT_EQ(s.code, 2);
  EXPECT_EQ(s.message.find("filesystem error"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find(file.string()), std::string::npos) << s.message;
  s = StatusOf([] {
    throw fs::filesystem_error("cannot write", "/x/pred.jsonl",
                               std::make_error_code(std::errc::no_space_on_device));
  });
  EXPECT_EQ(s.code, 1);
  EXPECT_NE(s.message.find("No space left on device"), std::string::npos) << s.message;
}

TEST(ExitStatusTest, StandardExceptions) {
  auto s = StatusOf([] { (void)std::stoll("99999999999999999999"); });
  EXPECT_EQ(s.code, 2);
  EXPECT_EQ(s.message, "a number in the input is out of range (stoll)");
  s = StatusOf([] { (void)std::stoi("x"); });
  EXPECT_EQ(s.code, 2);
  EXPECT_EQ(s.message, "a number in the input is not a number (stoi)");
  s = StatusOf([] { (void)std::vector<int>(3).at(5); });
  EXPECT_EQ(s.code, 2);
  s = StatusOf([] { throw std::bad_alloc(); });
  EXPECT_EQ(s.code, 1);
  EXPECT_EQ(s.message, "out of memory");
  s = StatusOf([] { throw std::runtime_error("line one\nline two"); });
  EXPECT_EQ(s.code, 1);
  EXPECT_EQ(s.message, "line one\\nline two");
  s = StatusOf([] { throw 42; });
  EXPECT_EQ(s.code, 1);
  EXPECT_EQ(s.message, "unknown exception");
}

}  // namespace
}  // namespace starattn::cli
