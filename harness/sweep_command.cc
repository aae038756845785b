// sweep: a declarative config (tasks/<name>.json) end to end: generate (or reuse) task files,
// run every attention configuration over every task and length, score, and write
//   results/<name>/<model>/<attn>/<length>/{pred.jsonl, summary.csv, summary.json}
//   results/<name>/manifest.json
// Resumable at sample granularity: rerun the same command after an interruption.
#include <omp.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/common/mapped_file.h"
#include "engine/dist/mpi_communicator.h"
#include "harness/cli.h"
#include "harness/lib/device.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/runner.h"
#include "harness/lib/sweep_config.h"
#include "ruler/scoring.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

std::string Now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string CommandOutput(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

nlohmann::json Machine() {
  nlohmann::json m;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      m["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  m["cores"] = std::thread::hardware_concurrency();
  m["threads"] = omp_get_max_threads();
  struct utsname u {};
  if (uname(&u) == 0) m["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  std::ifstream mem("/proc/meminfo");
  while (std::getline(mem, line)) {
    if (line.rfind("MemTotal", 0) == 0) {
      m["memory"] = line.substr(line.find(':') + 1);
      m["memory"] = m["memory"].get<std::string>().substr(
          m["memory"].get<std::string>().find_first_not_of(' '));
      break;
    }
  }
  return m;
}

// Calls one of the CLI's own commands in this process.
void RunCommand(const std::string& name, const std::vector<std::string>& args) {
  for (auto group : {RulerCommands, BabilongCommands}) {
    for (const Command& c : group()) {
      if (c.name == name) {
        if (c.run(args) != 0) Fail("{} failed", name);
        return;
      }
    }
  }
  Fail("internal: no command {}", name);
}

// Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise.
class Progress {
 public:
  explicit Progress(int64_t total) : total_(total), tty_(isatty(STDERR_FILENO)) {}
  void Update(int64_t done, int64_t ran_now, const std::string& what) {
    done_ = done;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = ran_now > 0 ? ran_now / elapsed : 0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    const std::string stats = fmt::format("{}/{} samples  {:.2f}/s  ETA {}", done, total_, rate,
                                          rate > 0 ? FormatSeconds(eta) : std::string("?"));
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
      std::cerr << "\r[" << std::string(filled, '=') << std::string(kWidth - filled, ' ') << "] "
                << stats << "  " << what << "\033[K" << std::flush;
    } else {
      std::cerr << "sweep: " << stats << "  " << what << "\n";
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
  int64_t total_;
  int64_t done_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The generated task files of one benchmark and length.
std::vector<std::string> TaskFiles(const SweepBenchmark& b, const std::string& data_dir,
                                   const std::string& length) {
  std::vector<std::string> files;
  for (const std::string& task : b.tasks) {
    const fs::path f = b.name == "ruler"
                           ? fs::path(data_dir) / std::to_string(LengthTokens("ruler", length)) /
                                 (task + ".jsonl")
                           : fs::path(data_dir) / (task + "_" + length + ".jsonl");
    if (fs::exists(f)) files.push_back(f.string());
  }
  return files;
}

// Generates a benchmark's files unless an earlier sweep generated them with the same settings.
void Generate(const SweepConfig& cfg, const SweepModel& model, const SweepBenchmark& b,
              const std::string& data_dir) {
  std::vector<std::string> args = {"--model", model.path, "--samples",
                                   std::to_string(cfg.samples), "--seed",
                                   std::to_string(cfg.seed), "--template", cfg.chat_template,
                                   "--out", data_dir, "--tasks"};
  args.insert(args.end(), b.tasks.begin(), b.tasks.end());
  args.push_back("--lengths");
  for (const auto& l : b.lengths) {
    args.push_back(b.name == "ruler" ? std::to_string(LengthTokens("ruler", l)) : l);
  }
  for (const auto& [k, v] : b.data) args.insert(args.end(), {"--" + k, v});
  const fs::path stamp = fs::path(data_dir) / "generated.json";
  const nlohmann::json want = {{"command", b.name == "ruler" ? "generate-ruler" : "generate-babilong"},
                               {"args", args}};
  if (fs::exists(stamp)) {
    try {
      if (nlohmann::json::parse(ReadFileToString(stamp.string())) == want) {
        std::cerr << "sweep: reusing " << b.name << " data in " << data_dir << "\n";
        return;
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  std::cerr << "sweep: generating " << b.name << " data into " << data_dir << "\n";
  fs::create_directories(data_dir);
  RunCommand(want["command"].get<std::string>(), args);
  std::ofstream(stamp) << want.dump(2) << "\n";
}

void Score(const fs::path& dir) {
  const auto preds = ruler::ReadPredictions((dir / "pred.jsonl").string());
  const auto scores = ruler::ScorePredictions(preds, ruler::GlobalMetrics(), {});
  WriteFileAtomically((dir / "summary.csv").string(), ruler::SummaryCsv(scores));
  WriteFileAtomically((dir / "summary.json").string(), ruler::SummaryJson(scores).dump(2) + "\n");
}

int RunSweep(const std::vector<std::string>& args) {
  po::options_description desc("sweep options");
  desc.add_options()("config", po::value<std::string>()->required(), "sweep config (tasks/<name>.json)")
      ("out,o", po::value<std::string>(), "results directory (default: results/<name>)")
      ("threads,t", po::value<int>()->default_value(0), "CPU threads (0 = all cores)")
      ("limit", po::value<int64_t>()->default_value(-1),
       "stop after this many new samples (for trying a config; rerun to continue)");
  AddDeviceOptions(desc);
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  desc.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: starattn sweep tasks/<name>.json [--out DIR]\n\n" << desc << "\n";
    return 0;
  }
  po::notify(vm);
  if (LaunchedUnderMpi()) {
    Fail("sweep runs its hosts in-process; under mpirun use `starattn run` per configuration on "
         "the sweep's generated files (see README)");
  }
  ApplyThreadsOption(vm);
  const DeviceChoice device = DeviceFromOptions(vm);
  const SweepConfig cfg = ParseSweepConfig(vm["config"].as<std::string>());
  const fs::path out = vm.count("out") ? fs::path(vm["out"].as<std::string>())
                                       : fs::path("results") / cfg.name;
  fs::create_directories(out);

  nlohmann::ordered_json manifest;
  manifest["name"] = cfg.name;
  manifest["config_file"] = cfg.source;
  manifest["config"] = cfg.raw;
  manifest["version"] = STARATTN_VERSION;
  manifest["git_commit"] = CommandOutput("git rev-parse HEAD 2>/dev/null");
  manifest["git_dirty"] = !CommandOutput("git status --porcelain --untracked-files=no 2>/dev/null").empty();
  manifest["machine"] = Machine();
  manifest["device"] = {{"device", DeviceName(device.device)},
                        {"dtype", device.device == Device::kCpu ? "fp32"
                                  : device.fp16                 ? "fp16"
                                                                : "bf16"}};
  manifest["seeds"] = {cfg.seed};
  manifest["started"] = Now();
  manifest["runs"] = nlohmann::json::array();
  const fs::path manifest_path = out / "manifest.json";
  if (fs::exists(manifest_path)) {  // keep the history of earlier (interrupted) invocations
    try {
      const auto old = nlohmann::json::parse(ReadFileToString(manifest_path.string()));
      if (old.contains("runs")) manifest["runs"] = old["runs"];
      if (old.contains("started")) manifest["first_started"] = old.value("first_started", old["started"]);
    } catch (const nlohmann::json::exception&) {
    }
  }

  // 1. Data.
  struct Unit {  // one (model, attention, length) run
    const SweepModel* model;
    const SweepAttention* attn;
    std::string length;  // label
    int64_t length_tokens;
    std::vector<RunInput> inputs;
  };
  std::vector<Unit> units;
  int64_t total = 0;
  for (const SweepModel& m : cfg.models) {
    // Inputs per length label, all benchmarks together.
    std::map<std::string, std::pair<int64_t, std::vector<RunInput>>> by_length;
    for (const SweepBenchmark& b : cfg.benchmarks) {
      const std::string data_dir = (out / "data" / m.label / b.name).string();
      Generate(cfg, m, b, data_dir);
      for (const std::string& l : b.lengths) {
        auto& slot = by_length[LengthLabel(l)];
        slot.first = std::max(slot.first, LengthTokens(b.name, l));
        const auto files = TaskFiles(b, data_dir, l);
        if (files.size() < b.tasks.size()) {
          std::cerr << "sweep: " << b.name << " at " << l << ": " << b.tasks.size() - files.size()
                    << " task(s) have no data (skipped; see the generator's messages above)\n";
        }
        for (const auto& f : files) AppendRunInputs(f, slot.second);
      }
    }
    for (const SweepAttention& a : cfg.attention) {
      for (auto& [label, slot] : by_length) {
        units.push_back({&m, &a, label, slot.first, slot.second});
        total += static_cast<int64_t>(slot.second.size());
      }
    }
  }

  // 2. Runs, 3. scores.
  Progress progress(total);
  int64_t done_before = 0, ran_total = 0;
  const int64_t limit = vm["limit"].as<int64_t>();
  const std::string* loaded_path = nullptr;
  std::unique_ptr<Model> model;
  std::unique_ptr<ModelRunner> runner;  // the model on --device (its weights, for cuda)
  for (Unit& u : units) {
    if (loaded_path == nullptr || *loaded_path != u.model->path) {
      runner.reset();  // before the model it refers to
      model = Model::Load(u.model->path);
      runner = std::make_unique<ModelRunner>(*model, device);
      loaded_path = &u.model->path;
    }
    const fs::path dir = out / u.model->label / u.attn->label / u.length;
    RunnerOptions ro;
    ro.cfg = u.attn->At(u.length_tokens);
    ro.gen.max_new_tokens = cfg.tokens_to_generate.value_or(128);
    ro.per_sample_tokens = !cfg.tokens_to_generate.has_value();
    ro.limit = limit < 0 ? -1 : std::max<int64_t>(0, limit - ran_total);
    if (device.device != Device::kCpu) {
      ro.run_sample = [&, cfg = ro.cfg](std::span<const int32_t> context,
                                        std::span<const int32_t> query,
                                        const GenerateOptions& gen) {
        return runner->RunSample(cfg, context, query, gen, nullptr);
      };
    }
    const std::string what = u.attn->label + " " + u.length;
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t ran = RunSamples(*model, u.inputs, (dir / "pred.jsonl").string(), ro,
                                   [&](const RunInput& s, const RunProgress& p) {
      progress.Update(done_before + p.done, ran_total + p.ran_now, what + " " + s.key);
    });
    ran_total += ran;
    done_before += static_cast<int64_t>(u.inputs.size());
    progress.Update(done_before, ran_total, what);
    if (fs::exists(dir / "pred.jsonl")) Score(dir);
    if (ran > 0) {
      manifest["runs"].push_back(
          {{"model", u.model->label}, {"attn", u.attn->label}, {"length", u.length},
           {"samples_run", ran}, {"device", DeviceName(device.device)},
           {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
           {"finished", Now()}});
      // After every unit, so that a killed sweep still records the runs it finished.
      WriteFileAtomically(manifest_path.string(), manifest.dump(2) + "\n");
    }
    if (limit >= 0 && ran_total >= limit) break;
  }
  progress.Done();
  manifest["finished"] = Now();
  WriteFileAtomically(manifest_path.string(), manifest.dump(2) + "\n");
  std::cerr << "sweep: " << ran_total << " samples run; results in " << out.string() << "\n";
  return 0;
}

}  // namespace

std::vector<Command> SweepCommands() {
  return {{"sweep", "run a sweep config end to end (resumable): generate, run, score", RunSweep}};
}

}  // namespace starattn::cli
