// A sweep (sweep_config.h) end to end, as library calls: generate (or reuse) the task files, run
// every attention configuration over every model and length, score, and write
//   OUT/<model>/<attn>/<length>/{pred.jsonl, summary.csv, summary.json}
//   OUT/manifest.json
// Resumable at sample granularity (runner.h, records.h): rerun after an interruption. Under MPI
// these run on rank 0 only; the other ranks serve its samples (runner.h ServeSamples).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "harness/lib/device.h"
#include "harness/lib/runner.h"
#include "harness/lib/sweep_config.h"

namespace starattn::cli {

// 0. The inputs every benchmark's generator checks before it starts (datagen.h Check*Inputs: the
// profile, a prompts file, a subset file, the bAbI files), for the first model's options. Throws
// Error with one line naming the problem, before any work.
void CheckSweepInputs(const SweepConfig& cfg);
// Each model's configuration (read without its weights) against each attention entry at each
// nominal length: a mask file's layers, heads and blocks, top-k against the context blocks, hosts
// against star's blocks. Throws Error naming the model, the entry and the length.
void CheckSweepAttention(const SweepConfig& cfg);
// The same for one model's configuration.
void CheckSweepAttention(const SweepConfig& cfg, const std::string& model_label,
                         const ModelConfig& mc);

// 1. Data: each model's benchmark files under OUT/data/<model>/<benchmark>, generated unless an
// earlier sweep generated them with the same options (OUT/data/<model>/<benchmark>/generated.json,
// which also holds the prompts file's hash). Returns {model: {benchmark: profile.json}} (datagen.h
// DataInfo; {} for data generated before profile.json existed).
nlohmann::ordered_json PrepareSweepData(const SweepConfig& cfg, const std::string& out,
                                        std::ostream& log);

// One (model, attention, length) run.
struct SweepUnit {
  const SweepModel* model = nullptr;
  const SweepAttention* attn = nullptr;
  std::string length;  // label, e.g. "4k"
  int64_t length_tokens = 0;
  std::vector<RunInput> inputs;  // every benchmark's samples at this length
  // Per benchmark at this length: its profile, prompts hash and haystack (from profile.json).
  nlohmann::ordered_json data = nlohmann::ordered_json::object();
  std::string Dir(const std::string& out) const;  // OUT/<model>/<attn>/<length>
};

// 2. Plan: the units in run order (model, attention, length), inputs read from the generated
// files. A task without a file (the generator skipped it for missing data) is noted in `log`.
// `samples` >= 0 keeps only the samples whose index is below it in every task (FirstSamples: a
// partial sweep that every configuration reaches together; a later run with more continues).
std::vector<SweepUnit> PlanSweep(const SweepConfig& cfg, const std::string& out, std::ostream& log,
                                 int64_t samples = -1);

// OUT/manifest.json: the config, version, git commit, machine, device, seeds, and the runs of
// this and earlier (interrupted) invocations; rewritten atomically after every unit.
class SweepManifest {
 public:
  SweepManifest(const SweepConfig& cfg, const std::string& out, const std::string& version,
                const DeviceChoice& device, int mpi_ranks);
  // Appends a finished unit, stamped with this invocation's git_commit and git_dirty.
  void AddRun(nlohmann::ordered_json run);
  // The data of every model and benchmark (PrepareSweepData), as "data" in the manifest.
  void SetData(nlohmann::ordered_json data);
  void Finish();

 private:
  void Write() const;
  std::string path_;
  nlohmann::ordered_json json_;
};

struct SweepProgress {
  int64_t done = 0;   // samples finished, earlier invocations included
  int64_t total = 0;  // samples of the whole sweep
  int64_t ran = 0;    // samples run by this invocation
  std::string what;   // "<attn> <length> <sample key>"
};

struct SweepRunOptions {
  int64_t limit = -1;  // stop after this many new samples (-1: all)
  std::string device_name = "cpu";
  std::string precision;  // DeviceChoice::precision(), recorded with every unit
  std::function<void(const SweepProgress&)> on_progress;
};

// 3. Runs the units through `runner` and scores each (summary.csv, summary.json), recording every
// unit that ran samples in the manifest. Returns the samples run.
int64_t RunSweepUnits(const SweepConfig& cfg, const std::vector<SweepUnit>& units,
                      const std::string& out, SampleRunner& runner, SweepManifest& manifest,
                      const SweepRunOptions& opts);

// The inputs whose "index" is below n (all when n < 0). Throws Error naming a sample without an
// integer index when n >= 0.
std::vector<RunInput> FirstSamples(const std::vector<RunInput>& inputs, int64_t n);

// summary.csv and summary.json of DIR/pred.jsonl (every task's registered metric).
void WriteSummaries(const std::string& dir);

}  // namespace starattn::cli
