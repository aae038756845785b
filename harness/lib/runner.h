// Running samples (input_context, input_query, outputs) through a model with an attention mode,
// appending prediction records (records.h), resumable at sample granularity. Used by `run` and
// `sweep`.
//
// Hosts are threads of this process, or MPI processes. Under MPI this process is rank 0, the
// driver: it alone reads the inputs, tokenizes, writes the records and resumes; for each sample it
// sends the model path, the configuration and the token ids to the other ranks, which run
// ServeSamples, and every rank enters RunSample with the same inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/model/distributed.h"
#include "engine/model/model.h"
#include "harness/lib/device.h"

namespace starattn::cli {

struct RunInput {
  nlohmann::json record;  // the input line, kept whole in the output
  std::string key;        // identity for resuming: "<task>/<index>", else "<file>:<line>"
};

// The most tokens a sample may ask to generate ("tokens_to_generate").
inline constexpr int64_t kMaxTokensToGenerate = int64_t{1} << 20;

// Reads input samples; errors name the file and line and the field: input_context and
// input_query strings; task (a non-empty string), index (an integer), outputs or output (a string
// or a non-empty list of strings) and tokens_to_generate (0 to kMaxTokensToGenerate) when present;
// duplicate keys.
std::vector<RunInput> ReadRunInputs(const std::string& path);
// Adds one file's samples to `into` (keys must stay unique).
void AppendRunInputs(const std::string& path, std::vector<RunInput>& into);

// Where samples run: the model on --device, its hosts in this process or across the MPI world.
class SampleRunner {
 public:
  // `mpi`: the MPI world with this process as rank 0 (the others run ServeSamples), or null.
  SampleRunner(const DeviceChoice& device, Communicator* mpi);
  // Under MPI, tells the other ranks to stop; also when an error unwinds the driver, so that they
  // exit instead of waiting for a sample that will not come.
  ~SampleRunner();
  SampleRunner(const SampleRunner&) = delete;
  SampleRunner& operator=(const SampleRunner&) = delete;

  // Loads the model at `path` unless it is already loaded (under MPI the other ranks load it
  // before their next sample).
  const Model& Load(const std::string& path);
  const Model& model() const;

  // The communicator a configuration of `hosts` hosts runs on: "mpi" when they equal the MPI
  // world size; "in-process" without MPI, or for one host under MPI (rank 0 alone: dense).
  // Throws Error for other host counts under MPI.
  std::string_view CommunicatorFor(int hosts) const;

  // Throws Error with one line when `cfg` cannot run a sample of these sizes on the loaded
  // model (distributed.h ValidateDistConfig; a sparse mode's patterns against the model).
  void Check(const DistConfig& cfg, int64_t context_tokens, int64_t query_tokens,
             int64_t max_new_tokens) const;
  SampleResult Run(const DistConfig& cfg, std::span<const int32_t> context,
                   std::span<const int32_t> query, const GenerateOptions& gen);
  const DeviceChoice& device() const { return device_; }

 private:
  struct Host;
  friend void ServeSamples(Communicator& mpi, const DeviceChoice& device);
  DeviceChoice device_;
  Communicator* mpi_;
  std::unique_ptr<Host> host_;
};

// The other ranks under MPI: run what rank 0's SampleRunner sends until it stops.
void ServeSamples(Communicator& mpi, const DeviceChoice& device);

// The output record of one sample: the input line (with "outputs", from "output" where only that
// is given), the prediction, its sample_key, token counts, timings, attention work, the attention
// configuration, the communicator and the backend.
nlohmann::json PredictionRecord(const RunInput& s, const SampleResult& r, const DistConfig& cfg,
                                std::string_view communicator, const DeviceChoice& device,
                                size_t context_tokens, size_t query_tokens, double seconds);

struct RunnerOptions {
  DistConfig cfg;
  GenerateOptions gen;
  bool per_sample_tokens = true;  // a record's tokens_to_generate overrides gen.max_new_tokens
  int64_t limit = -1;             // at most this many new samples (-1: all)
};

struct RunProgress {
  int64_t done = 0;  // samples finished, earlier runs included
  int64_t total = 0;
  int64_t ran_now = 0;  // samples run by this call
  double seconds = 0;   // of the last sample
};

// Runs every input whose key is not yet in `output` (records::RecordWriter: a torn last line is
// cut first), appending one record per sample. Returns the number of samples run now.
int64_t RunSamples(SampleRunner& runner, const std::vector<RunInput>& inputs,
                   const std::string& output, const RunnerOptions& opts,
                   const std::function<void(const RunInput&, const RunProgress&)>& on_sample);

}  // namespace starattn::cli
