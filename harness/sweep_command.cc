// sweep: a declarative config (tasks/<name>.json) end to end: generate (or reuse) task files,
// run every attention configuration over every task and length, score, and write
//   results/<name>/<model>/<attn>/<length>/{pred.jsonl, summary.csv, summary.json}
//   results/<name>/manifest.json
// Resumable at sample granularity: rerun the same command after an interruption. Under
// `mpirun -np H`, rank 0 runs the sweep (data, records, resume, manifest) and every rank is one
// host of the configurations with H hosts; configurations with one host run on rank 0 alone.
// The steps are library calls (harness/lib/sweep.h).
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "engine/common/error.h"
#include "engine/dist/mpi_communicator.h"
#include "harness/cli.h"
#include "harness/lib/device.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/runner.h"
#include "harness/lib/sweep.h"
#include "harness/lib/sweep_config.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

// Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise.
class Progress {
 public:
  Progress() : tty_(isatty(STDERR_FILENO)) {}
  void Update(const SweepProgress& p) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = p.ran > 0 ? static_cast<double>(p.ran) / elapsed : 0;
    const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : 0;
    const std::string stats = fmt::format("{}/{} samples  {:.2f}/s  ETA {}", p.done, p.total, rate,
                                          rate > 0 ? FormatSeconds(eta) : std::string("?"));
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = p.total > 0 ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
      std::cerr << "\r[" << std::string(filled, '=') << std::string(kWidth - filled, ' ') << "] "
                << stats << "  " << p.what << "\033[K" << std::flush;
    } else {
      std::cerr << "sweep: " << stats << "  " << p.what << "\n";
    }
  }
  void Done() {
    if (tty_) std::cerr << "\n";
  }

 private:
  static std::string FormatSeconds(double s) {
    const int64_t t = static_cast<int64_t>(s + 0.5);
    return t >= 3600 ? fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60)
                     : fmt::format("{}m{:02d}s", t / 60, t % 60);
  }
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

int RunSweep(const std::vector<std::string>& args) {
  po::options_description desc("sweep options");
  desc.add_options()("config", po::value<std::string>()->required(),
                     "sweep config (tasks/<name>.json)")(
      "out,o", po::value<std::string>(), "results directory (default: results/<name>)")(
      "threads,t", po::value<int>()->default_value(0), "CPU threads per process (0 = all cores)")(
      "limit", po::value<int64_t>()->default_value(-1),
      "stop after this many new samples (for trying a config; rerun to continue)")(
      "samples", po::value<int64_t>(),
      "run only the first N samples of every task (1 to the config's samples): every "
      "configuration reaches N before any goes further; rerun with a larger N, or without, "
      "to continue");
  AddDeviceOptions(desc);
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  desc.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: starattn sweep tasks/<name>.json [--out DIR]\n"
                 "       mpirun -np H starattn sweep tasks/<name>.json [--out DIR]\n\n"
              << desc
              << "\nLengths in a config are token counts (4096) or carry each benchmark's suffix "
                 "rule:\n  ruler:    4k = 4 x 1024 = 4096 tokens, 1M = 1024 x 1024 (RULER's "
                 "4096 ... 131072)\n  babilong: 4k = 4 x 1000 = 4000 tokens, 1M = 1,000,000 "
                 "(BABILong's split names)\n";
    return 0;
  }
  po::notify(vm);
  ApplyThreadsOption(vm);
  const DeviceChoice device = DeviceFromOptions(vm);

  // Under mpirun, ranks other than 0 only serve rank 0's samples.
  std::unique_ptr<Communicator> mpi;
  if (LaunchedUnderMpi()) {
    mpi = MpiWorld();
    if (mpi->rank() != 0) {
      ServeSamples(*mpi, device);
      return 0;
    }
  }
  // From here on an error also stops the other ranks (the runner's destructor).
  SampleRunner runner(device, mpi.get());
  // A config or an input it names that cannot work is bad input: one line, exit 2, before any
  // work.
  SweepConfig cfg;
  try {
    cfg = ParseSweepConfig(vm["config"].as<std::string>());
    CheckSweepInputs(cfg);
    CheckSweepAttention(cfg);
    if (vm.count("samples")) {
      const int64_t n = vm["samples"].as<int64_t>();
      if (n < 1 || n > cfg.samples) {
        Fail("--samples {}: must be 1 to the config's samples ({})", n, cfg.samples);
      }
    }
  } catch (const Error& e) {
    std::cerr << "starattn sweep: error: " << e.what() << "\n";
    return 2;
  }
  for (const SweepAttention& a : cfg.attention) {
    try {
      runner.CommunicatorFor(a.hosts);
    } catch (const Error& e) {
      Fail("{}: attention '{}': {}", cfg.source, a.label, e.what());
    }
  }
  const std::string out =
      vm.count("out") ? vm["out"].as<std::string>() : (fs::path("results") / cfg.name).string();
  fs::create_directories(out);
  SweepManifest manifest(cfg, out, STARATTN_VERSION, device, mpi ? mpi->size() : 0);

  manifest.SetData(PrepareSweepData(cfg, out, std::cerr));
  const std::vector<SweepUnit> units =
      PlanSweep(cfg, out, std::cerr, vm.count("samples") ? vm["samples"].as<int64_t>() : -1);
  Progress progress;
  SweepRunOptions ro;
  ro.limit = vm["limit"].as<int64_t>();
  ro.device_name = DeviceName(device.device);
  ro.precision = device.precision();
  ro.on_progress = [&](const SweepProgress& p) { progress.Update(p); };
  const int64_t ran = RunSweepUnits(cfg, units, out, runner, manifest, ro);
  progress.Done();
  manifest.Finish();
  std::cerr << "sweep: " << ran << " samples run; results in " << out << "\n";
  return 0;
}

}  // namespace

std::vector<Command> SweepCommands() {
  return {{"sweep", "run a sweep config end to end (resumable; under mpirun, one host per process)",
           RunSweep}};
}

}  // namespace starattn::cli
