// run: a JSONL file of samples (input_context, input_query, outputs) through the model with an
// attention mode across hosts, writing predictions; resumable at sample granularity.
#include <omp.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/common/error.h"
#include "engine/dist/mpi_communicator.h"
#include "engine/model/distributed.h"
#include "harness/cli.h"
#include "harness/lib/attn_options.h"
#include "harness/lib/device.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/runner.h"

namespace po = boost::program_options;

namespace starattn::cli {
namespace {

int RunRun(const std::vector<std::string>& args) {
  po::options_description desc("run options");
  desc.add_options()("model,m", po::value<std::string>()->required(),
                     "model: a .gguf file or a HF directory")(
      "input,i", po::value<std::string>()->required(),
      "input JSONL (input_context, input_query, outputs)")(
      "output,o", po::value<std::string>()->required(), "predictions JSONL (appended; resumable)")(
      "tokens-to-generate,n", po::value<int64_t>()->default_value(128),
      "tokens to generate at most (default: each sample's tokens_to_generate field, else 128)")(
      "stop-words", po::value<std::vector<std::string>>()->multitoken(), "stop strings")(
      "limit", po::value<int64_t>()->default_value(-1), "run at most this many samples")(
      "threads,t", po::value<int>()->default_value(0), "CPU threads per process (0 = all cores)")(
      "quiet,q", "no per-sample log lines");
  AddAttentionOptions(desc);
  AddDeviceOptions(desc);
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn run --model M --attn dense|star|ring|streaming|block-sparse|topk-kv "
          "[--hosts H] "
          "--input in.jsonl --output pred.jsonl")) {
    return 0;
  }
  ApplyThreadsOption(vm);
  const DeviceChoice device = DeviceFromOptions(vm);

  const DistConfig cfg = DistConfigFromOptions(vm);
  GenerateOptions opts;
  opts.max_new_tokens = vm["tokens-to-generate"].as<int64_t>();
  if (opts.max_new_tokens < 1) Fail("--tokens-to-generate must be at least 1");
  if (vm.count("stop-words")) opts.stop_strings = vm["stop-words"].as<std::vector<std::string>>();

  // Under mpirun every process is one host; rank 0 reads the inputs and writes the records.
  std::unique_ptr<Communicator> mpi;
  if (LaunchedUnderMpi()) {
    mpi = MpiWorld();
    if (mpi->size() != cfg.hosts) {
      Fail("--hosts {} does not match the MPI world size {}", cfg.hosts, mpi->size());
    }
    if (mpi->rank() != 0) {
      ServeSamples(*mpi, device);
      return 0;
    }
  }
  SampleRunner runner(device, mpi.get());
  const std::string out_path = vm["output"].as<std::string>();
  const std::vector<RunInput> samples = ReadRunInputs(vm["input"].as<std::string>());
  runner.Load(vm["model"].as<std::string>());
  RunnerOptions ropts;
  ropts.cfg = cfg;
  ropts.gen = opts;
  ropts.per_sample_tokens = vm["tokens-to-generate"].defaulted();
  ropts.limit = vm["limit"].as<int64_t>();
  const bool quiet = vm.count("quiet") != 0;
  const int64_t ran =
      RunSamples(runner, samples, out_path, ropts, [&](const RunInput& s, const RunProgress& p) {
        if (!quiet) {
          std::cerr << "[" << p.done << "/" << p.total << "] " << s.key << ": " << p.seconds
                    << " s\n";
        }
      });
  if (!quiet) {
    std::cerr << "run: " << ran << " samples run, " << samples.size() - ran
              << " already done or beyond --limit, output " << out_path << "\n";
  }
  return 0;
}

}  // namespace

std::vector<Command> RunCommands() {
  return {{"run", "run JSONL samples with dense/star/ring attention (resumable)", RunRun}};
}

}  // namespace starattn::cli
