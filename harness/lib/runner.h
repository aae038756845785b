// Running samples (input_context, input_query, outputs) through a model with an attention mode,
// appending predictions to a JSONL file, resumable at sample granularity. Used by `run` and
// `sweep`.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/model/distributed.h"

namespace starattn::cli {

struct RunInput {
  nlohmann::json record;  // the input line, kept whole in the output
  std::string key;        // identity for resuming: "<task>/<index>", else the line number
};

// Reads input samples; errors name the file and line (missing fields, duplicate keys).
std::vector<RunInput> ReadRunInputs(const std::string& path);
// Adds one file's samples to `into` (keys must stay unique).
void AppendRunInputs(const std::string& path, std::vector<RunInput>& into);

struct RunnerOptions {
  DistConfig cfg;
  GenerateOptions gen;
  bool per_sample_tokens = true;  // a record's tokens_to_generate overrides gen.max_new_tokens
  int64_t limit = -1;             // at most this many new samples (-1: all)
  Communicator* mpi = nullptr;    // one host per MPI process; null: in-process hosts
  std::string device = "cpu";     // recorded with every prediction
  std::string precision;          // the backend's arithmetic and K/V types, recorded likewise
  // Runs one sample (harness/lib/device.h: ModelRunner::RunSample on the chosen backend).
  std::function<SampleResult(std::span<const int32_t> context, std::span<const int32_t> query,
                             const GenerateOptions& gen)>
      run_sample;
};

struct RunProgress {
  int64_t done = 0;     // samples finished, earlier runs included
  int64_t total = 0;
  int64_t ran_now = 0;  // samples run by this call
  double seconds = 0;   // of the last sample
};

// Keys of the complete lines of an earlier output (a torn last line is cut off first, by the
// writing rank only).
std::vector<std::string> FinishedKeys(const std::string& output, bool writer, Communicator* mpi);

// Runs every input whose key is not yet in `output`, appending one line per sample (flushed).
// Returns the number of samples run now.
int64_t RunSamples(const Model& model, const std::vector<RunInput>& inputs,
                   const std::string& output, const RunnerOptions& opts,
                   const std::function<void(const RunInput&, const RunProgress&)>& on_sample);

}  // namespace starattn::cli
