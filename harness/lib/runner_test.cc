// The driver / server protocol of runner.h without MPI: rank 0's SampleRunner and a ServeSamples
// thread over an in-process communicator give the results of in-process hosts, one-host
// configurations stay on rank 0, and the server stops when the driver goes away.
#include "harness/lib/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "engine/dist/communicator.h"

namespace starattn::cli {
namespace {

TEST(SampleRunnerTest, RankZeroDrivesTheOtherRanks) {
  const std::string model_path = testing::FixturePath("tiny/llama-tied/model.gguf");
  std::vector<int32_t> context, query = {7, 200, 31};
  for (int i = 0; i < 40; ++i) context.push_back((i * 37 + 11) % 256);
  DistConfig star;
  star.mode = AttnMode::kStar;
  star.hosts = 2;
  star.block_size = 8;
  DistConfig dense;
  GenerateOptions gen;
  gen.max_new_tokens = 6;
  gen.stop_at_eog = false;
  gen.ubatch = 16;

  const auto model = Model::Load(model_path);
  ModelRunner in_process(*model, DeviceChoice{});
  const SampleResult want_star = in_process.RunSample(star, context, query, gen, nullptr);
  const SampleResult want_dense = in_process.RunSample(dense, context, query, gen, nullptr);

  InProcessGroup group(2);
  std::thread server([&] { ServeSamples(group.Endpoint(1), DeviceChoice{}); });
  {
    SampleRunner runner(DeviceChoice{}, &group.Endpoint(0));
    runner.Load(model_path);
    EXPECT_EQ(runner.CommunicatorFor(2), "mpi");
    EXPECT_EQ(runner.CommunicatorFor(1), "in-process");
    EXPECT_THAT([&] { runner.CommunicatorFor(3); },
                testing::ThrowsOneLineError("3 hosts cannot run under mpirun -np 2"));
    // Twice: the server keeps the model loaded and serves the next sample.
    for (int round = 0; round < 2; ++round) {
      const SampleResult got = runner.Run(star, context, query, gen);
      EXPECT_EQ(got.generation.tokens, want_star.generation.tokens) << round;
      ASSERT_EQ(got.hosts.size(), 2u);
    }
    // One host: rank 0 alone, the server waits.
    EXPECT_EQ(runner.Run(dense, context, query, gen).generation.tokens,
              want_dense.generation.tokens);
    // An impossible configuration fails on rank 0 before the server is involved.
    DistConfig bad = star;
    bad.block_size = 0;
    EXPECT_THROW(runner.Run(bad, context, query, gen), Error);
    EXPECT_EQ(runner.Run(star, context, query, gen).generation.tokens, want_star.generation.tokens);
  }  // the runner tells the server to stop
  server.join();
}

TEST(SampleRunnerTest, InProcessWithoutACommunicator) {
  SampleRunner runner(DeviceChoice{}, nullptr);
  EXPECT_EQ(runner.CommunicatorFor(4), "in-process");
  EXPECT_THAT([&] { runner.model(); }, testing::ThrowsOneLineError("no model loaded"));
}

// Samples whose fields a prediction record keeps are checked when read, so that a sample that
// runs never yields a record that eval, report or compare reject (found by run_inputs_fuzz).
TEST(RunInputsTest, BadSamplesNameFileLineAndField) {
  namespace fs = std::filesystem;
  const fs::path path =
      fs::temp_directory_path() / ("starattn_run_inputs_" + std::to_string(::getpid()) + ".jsonl");
  const std::string io = R"("input_context": "c", "input_query": "q")";
  const struct {
    std::string text;
    const char* error;
  } cases[] = {
      {R"({"input_query": "q"})", ":1: missing string field 'input_context'"},
      {"{" + io + R"(, "task": 3})", ":1: \"task\" must be a non-empty string, got 3"},
      {"{" + io + R"(, "task": ""})", ":1: \"task\" must be a non-empty string"},
      {"{" + io + R"(, "index": 1.5})", ":1: index: 1.5 is not an integer"},
      {"{" + io + R"(, "outputs": [1]})", "\"outputs\" must be a string or a non-empty list"},
      {"{" + io + R"(, "output": []})", "\"output\" must be a string or a non-empty list"},
      {"{" + io + R"(, "tokens_to_generate": -1})", ":1: tokens_to_generate: -1 is out of range"},
      {"{" + io + R"(, "tokens_to_generate": "9"})", ":1: tokens_to_generate: expected an integer"},
      {"{" + io + R"(, "index": 0}
{)" + io + R"(, "index": 0})",
       ":2: duplicate sample 0"},
  };
  for (const auto& c : cases) {
    std::ofstream(path) << c.text << "\n";
    EXPECT_THAT([&] { ReadRunInputs(path.string()); },
                ::testing::ThrowsMessage<Error>(::testing::HasSubstr(c.error)))
        << c.text;
  }
  // Accepted: "output" as a string, no index (the key is the file and line), null task.
  std::ofstream(path) << "{" << io << R"(, "output": "x", "task": null, "tokens_to_generate": 0})"
                      << "\n";
  const std::vector<RunInput> ok = ReadRunInputs(path.string());
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].key, path.string() + ":1");
  fs::remove(path);
}

}  // namespace
}  // namespace starattn::cli
