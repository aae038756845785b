#include "harness/lib/sweep.h"

#include <omp.h>
#include <sys/utsname.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <thread>

#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/common/mapped_file.h"
#include "harness/lib/datagen.h"
#include "harness/lib/profiles.h"
#include "harness/lib/records.h"
#include "ruler/scoring.h"

namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

// ---- Data -------------------------------------------------------------------------------------

// A benchmark's `data` entries of the config as generator options.
void SetDataOptions(const SweepBenchmark& b,
                    const std::vector<std::pair<const char*, std::string*>>& fields) {
  for (const auto& [key, value] : b.data) {
    bool known = false;
    for (const auto& [name, field] : fields) {
      if (key == name) {
        *field = value;
        known = true;
      }
    }
    if (!known) Fail("{}.{}: not a data option of {}", b.name, key, b.name);
  }
}

RulerDataOptions RulerOptionsOf(const SweepConfig& cfg, const SweepModel& model,
                                const SweepBenchmark& b, const std::string& dir) {
  RulerDataOptions o;
  o.tokenizer = model.path;
  o.tasks = b.tasks;
  for (const auto& l : b.lengths) o.lengths.push_back(LengthTokens("ruler", l));
  o.samples = cfg.samples;
  o.seed = cfg.seed;
  o.chat_template = cfg.chat_template;
  o.out = dir;
  o.profile = b.profile;
  o.settings = b.settings;
  SetDataOptions(b, {{"essays", &o.essays},
                     {"books", &o.books},
                     {"wordlists", &o.wordlists},
                     {"squad", &o.squad},
                     {"hotpotqa", &o.hotpotqa}});
  return o;
}

BabilongDataOptions BabilongOptionsOf(const SweepConfig& cfg, const SweepModel& model,
                                      const SweepBenchmark& b, const std::string& dir) {
  BabilongDataOptions o;
  o.tokenizer = model.path;
  o.tasks = b.tasks;
  o.lengths = b.lengths;
  o.samples = cfg.samples;
  o.seed = cfg.seed;
  o.chat_template = cfg.chat_template;
  o.out = dir;
  o.profile = b.profile;
  o.settings = b.settings;
  SetDataOptions(b, {{"babi", &o.babi}, {"books", &o.books}});
  return o;
}

// The generated task files of one benchmark and length.
std::vector<std::string> TaskFiles(const SweepBenchmark& b, const std::string& data_dir,
                                   const std::string& length) {
  std::vector<std::string> files;
  for (const std::string& task : b.tasks) {
    const fs::path f =
        b.name == "ruler"
            ? fs::path(data_dir) / std::to_string(LengthTokens("ruler", length)) / (task + ".jsonl")
            : fs::path(data_dir) / (task + "_" + length + ".jsonl");
    if (fs::exists(f)) files.push_back(f.string());
  }
  return files;
}

std::string DataDir(const std::string& out, const SweepModel& m, const SweepBenchmark& b) {
  return (fs::path(out) / "data" / m.label / b.name).string();
}

// DIR/profile.json, {} when absent or unreadable (data generated before it existed).
nlohmann::ordered_json ReadDataInfo(const std::string& dir) {
  const fs::path f = fs::path(dir) / kDataInfoFile;
  if (!fs::exists(f)) return nlohmann::ordered_json::object();
  try {
    return nlohmann::ordered_json::parse(ReadFileToString(f.string()));
  } catch (const nlohmann::json::exception&) {
    return nlohmann::ordered_json::object();
  }
}

// What a unit records of a benchmark's data: profile, overrides, prompts hash, haystack.
nlohmann::ordered_json UnitDataOf(const nlohmann::ordered_json& info) {
  nlohmann::ordered_json d = nlohmann::ordered_json::object();
  for (const char* key : {"profile", "overrides", "haystack"}) {
    if (info.contains(key)) d[key] = info[key];
  }
  if (info.contains("prompts") && info["prompts"].is_object()) {
    d["prompts_sha256"] = info["prompts"].value("sha256", "");
  }
  return d;
}

// The prompts file of a BABILong benchmark's options, "" for the built-in prompts.
std::string PromptsFileOf(const BabilongDataOptions& o) {
  const babilong::Profile p = MakeBabilongProfile(o.profile, o.settings);
  return p.BuiltInPrompts() ? "" : p.prompts;
}

// ---- Manifest ---------------------------------------------------------------------------------

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

// The value after "<key>:" of the first line of a /proc file that starts with `key`.
std::string ProcField(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

nlohmann::json Machine() {
  nlohmann::json m;
  m["cpu"] = ProcField("/proc/cpuinfo", "model name");
  m["cores"] = std::thread::hardware_concurrency();
  m["threads"] = omp_get_max_threads();
  struct utsname u {};
  if (uname(&u) == 0) m["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m["memory"] = ProcField("/proc/meminfo", "MemTotal");
  return m;
}

}  // namespace

void CheckSweepInputs(const SweepConfig& cfg) {
  const SweepModel& m = cfg.models.front();
  for (const SweepBenchmark& b : cfg.benchmarks) {
    if (b.name == "ruler") {
      CheckRulerInputs(RulerOptionsOf(cfg, m, b, ""));
    } else {
      CheckBabilongInputs(BabilongOptionsOf(cfg, m, b, ""));
    }
  }
}

void CheckSweepAttention(const SweepConfig& cfg) {
  for (const SweepModel& m : cfg.models) CheckSweepAttention(cfg, m.label, ReadModelConfig(m.path));
}

void CheckSweepAttention(const SweepConfig& cfg, const std::string& model_label,
                         const ModelConfig& mc) {
  for (const SweepAttention& a : cfg.attention) {
    for (const SweepBenchmark& b : cfg.benchmarks) {
      for (const std::string& l : b.lengths) {
        const int64_t L = LengthTokens(b.name, l);
        try {
          const DistConfig c = a.At(L);
          // The nominal length as the context; the positions are checked per sample.
          ValidateDistConfig(c, L, 1, 0, std::numeric_limits<int64_t>::max());
          if (c.sparse != nullptr) c.sparse->Validate(mc, L);
        } catch (const Error& e) {
          Fail("{}: attention '{}' at {} ({}) on model '{}': {}", cfg.source, a.label, l, b.name,
               model_label, e.what());
        }
      }
    }
  }
}

nlohmann::ordered_json PrepareSweepData(const SweepConfig& cfg, const std::string& out,
                                        std::ostream& log) {
  nlohmann::ordered_json infos = nlohmann::ordered_json::object();
  for (const SweepModel& m : cfg.models) {
    for (const SweepBenchmark& b : cfg.benchmarks) {
      const std::string dir = DataDir(out, m, b);
      const bool ruler = b.name == "ruler";
      const RulerDataOptions ro = ruler ? RulerOptionsOf(cfg, m, b, dir) : RulerDataOptions{};
      const BabilongDataOptions bo =
          ruler ? BabilongDataOptions{} : BabilongOptionsOf(cfg, m, b, dir);
      nlohmann::json want = {{"generator", b.name}, {"options", ruler ? ro.ToJson() : bo.ToJson()}};
      // A prompts file edited in place must not reuse the data made from its old text.
      if (const std::string prompts = ruler ? "" : PromptsFileOf(bo); !prompts.empty()) {
        want["prompts_sha256"] = FileSha256(prompts);
      }
      const fs::path stamp = fs::path(dir) / "generated.json";
      bool reuse = false;
      if (fs::exists(stamp)) {
        try {
          reuse = nlohmann::json::parse(ReadFileToString(stamp.string())) == want;
        } catch (const nlohmann::json::exception&) {
          // An unreadable stamp: generate again.
        }
      }
      if (reuse) {
        log << "sweep: reusing " << b.name << " data in " << dir << "\n";
        infos[m.label][b.name] = ReadDataInfo(dir);
        continue;
      }
      log << "sweep: generating " << b.name << " data into " << dir << "\n";
      fs::create_directories(dir);
      infos[m.label][b.name] = ruler ? GenerateRulerData(ro, log) : GenerateBabilongData(bo, log);
      WriteFileAtomically(stamp.string(), want.dump(2) + "\n");
    }
  }
  return infos;
}

std::string SweepUnit::Dir(const std::string& out) const {
  return (fs::path(out) / model->label / attn->label / length).string();
}

std::vector<SweepUnit> PlanSweep(const SweepConfig& cfg, const std::string& out, std::ostream& log,
                                 int64_t samples) {
  std::vector<SweepUnit> units;
  for (const SweepModel& m : cfg.models) {
    // Inputs per length label, all benchmarks together.
    std::map<std::string, std::pair<int64_t, std::vector<RunInput>>> by_length;
    std::map<std::string, nlohmann::ordered_json> data_by_length;
    for (const SweepBenchmark& b : cfg.benchmarks) {
      const std::string data_dir = DataDir(out, m, b);
      const nlohmann::ordered_json info = UnitDataOf(ReadDataInfo(data_dir));
      for (const std::string& l : b.lengths) {
        data_by_length[LengthLabel(l)][b.name] = info;
        auto& slot = by_length[LengthLabel(l)];
        slot.first = std::max(slot.first, LengthTokens(b.name, l));
        const auto files = TaskFiles(b, data_dir, l);
        if (files.size() < b.tasks.size()) {
          log << "sweep: " << b.name << " at " << l << ": " << b.tasks.size() - files.size()
              << " task(s) have no data (skipped; see the generator's messages above)\n";
        }
        for (const auto& f : files) AppendRunInputs(f, slot.second);
      }
    }
    for (auto& [label, slot] : by_length) slot.second = FirstSamples(slot.second, samples);
    for (const SweepAttention& a : cfg.attention) {
      for (const auto& [label, slot] : by_length) {
        units.push_back({&m, &a, label, slot.first, slot.second, data_by_length[label]});
      }
    }
  }
  return units;
}

SweepManifest::SweepManifest(const SweepConfig& cfg, const std::string& out,
                             const std::string& version, const DeviceChoice& device, int mpi_ranks)
    : path_((fs::path(out) / "manifest.json").string()) {
  json_["name"] = cfg.name;
  json_["config_file"] = cfg.source;
  json_["config"] = cfg.raw;
  json_["version"] = version;
  json_["git_commit"] = CommandOutput("git rev-parse HEAD 2>/dev/null");
  json_["git_dirty"] =
      !CommandOutput("git status --porcelain --untracked-files=no 2>/dev/null").empty();
  json_["machine"] = Machine();  // rank 0's, under MPI
  json_["device"] = {{"device", DeviceName(device.device)},
                     {"compute", DTypeName(device.compute)},
                     {"kv_dtype", DTypeName(device.kv)}};
  if (mpi_ranks > 0) json_["mpi_ranks"] = mpi_ranks;
  json_["seeds"] = {cfg.seed};
  json_["started"] = Now();
  json_["runs"] = nlohmann::json::array();
  if (fs::exists(path_)) {  // keep the history of earlier (interrupted) invocations
    try {
      const auto old = nlohmann::json::parse(ReadFileToString(path_));
      if (old.contains("runs")) json_["runs"] = old["runs"];
      if (old.contains("started")) {
        json_["first_started"] = old.value("first_started", old["started"]);
      }
    } catch (const nlohmann::json::exception&) {
      // An unreadable manifest: this invocation starts a new history.
    }
  }
}

void SweepManifest::AddRun(nlohmann::ordered_json run) {
  // Each run keeps the binary that computed it: a resumed sweep may run another commit, and the
  // top-level git_commit is only this invocation's.
  run["git_commit"] = json_["git_commit"];
  run["git_dirty"] = json_["git_dirty"];
  json_["runs"].push_back(std::move(run));
  Write();
}

void SweepManifest::SetData(nlohmann::ordered_json data) {
  json_["data"] = std::move(data);
  Write();
}

void SweepManifest::Finish() {
  json_["finished"] = Now();
  Write();
}

void SweepManifest::Write() const { WriteFileAtomically(path_, json_.dump(2) + "\n"); }

void WriteSummaries(const std::string& dir) {
  const std::string pred = (fs::path(dir) / "pred.jsonl").string();
  records::ReadOptions ropts;
  ropts.drop_inputs = true;
  std::vector<ruler::Prediction> preds;
  for (records::Record& r : records::ReadRecords(pred, ropts).records) {
    preds.push_back(records::ToRulerPrediction(std::move(r)));
  }
  const auto scores = ruler::ScorePredictions(preds, ruler::GlobalMetrics(), {});
  WriteFileAtomically((fs::path(dir) / "summary.csv").string(), ruler::SummaryCsv(scores));
  WriteFileAtomically((fs::path(dir) / "summary.json").string(),
                      ruler::SummaryJson(scores).dump(2) + "\n");
}

std::vector<RunInput> FirstSamples(const std::vector<RunInput>& inputs, int64_t n) {
  if (n < 0) return inputs;
  std::vector<RunInput> out;
  for (const RunInput& in : inputs) {
    const auto i = in.record.find("index");
    if (i == in.record.end() || !i->is_number_integer()) {
      Fail("sample '{}' has no integer index: --samples selects samples by their index", in.key);
    }
    if (i->get<int64_t>() < n) out.push_back(in);
  }
  return out;
}

int64_t RunSweepUnits(const SweepConfig& cfg, const std::vector<SweepUnit>& units,
                      const std::string& out, SampleRunner& runner, SweepManifest& manifest,
                      const SweepRunOptions& opts) {
  SweepProgress progress;
  for (const SweepUnit& u : units) progress.total += static_cast<int64_t>(u.inputs.size());
  int64_t done_before = 0;
  for (const SweepUnit& u : units) {
    runner.Load(u.model->path);
    const std::string dir = u.Dir(out);
    RunnerOptions ro;
    ro.cfg = u.attn->At(u.length_tokens);
    ro.gen.max_new_tokens = cfg.tokens_to_generate.value_or(128);
    ro.per_sample_tokens = !cfg.tokens_to_generate.has_value();
    ro.limit = opts.limit < 0 ? -1 : std::max<int64_t>(0, opts.limit - progress.ran);
    const std::string what = u.attn->label + " " + u.length;
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t ran_before = progress.ran;
    const int64_t ran = RunSamples(runner, u.inputs, (fs::path(dir) / "pred.jsonl").string(), ro,
                                   [&](const RunInput& s, const RunProgress& p) {
                                     progress.done = done_before + p.done;
                                     progress.ran = ran_before + p.ran_now;
                                     progress.what = what + " " + s.key;
                                     if (opts.on_progress) opts.on_progress(progress);
                                   });
    done_before += static_cast<int64_t>(u.inputs.size());
    progress.done = done_before;
    progress.ran = ran_before + ran;
    progress.what = what;
    if (opts.on_progress) opts.on_progress(progress);
    if (fs::exists(fs::path(dir) / "pred.jsonl")) WriteSummaries(dir);
    if (ran > 0) {
      // After every unit, so that a killed sweep still records the runs it finished.
      manifest.AddRun(
          {{"model", u.model->label},
           {"attn", u.attn->label},
           {"length", u.length},
           {"samples_run", ran},
           {"device", opts.device_name},
           {"precision", opts.precision},
           {"data", u.data},
           {"seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
           {"finished", Now()}});
    }
    if (opts.limit >= 0 && progress.ran >= opts.limit) break;
  }
  return progress.ran;
}

}  // namespace starattn::cli
