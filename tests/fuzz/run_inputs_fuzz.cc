// Task samples (the JSONL files `generate`, `generate-babilong` and sweeps write and `run` reads:
// input_context, input_query, outputs, ...). Input: the file's bytes.
//
// The file goes through ReadRunInputs (harness/lib/runner.h); each sample it accepts becomes the
// prediction record `run` would write for it (PredictionRecord, with a generated text taken from
// the sample, possibly cut inside a UTF-8 character), appended with RecordWriter to a fresh
// pred.jsonl, which the record reader (records.h) then reads back.
//
// Invariants: when every accepted sample has its answers ("outputs" or "output"), the reader
// accepts the file `run` wrote, with the samples' keys in order: a sample `run` accepts never
// yields a record that eval, report or compare reject (the time spent running it would be lost).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "harness/lib/records.h"
#include "harness/lib/runner.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace starattn;

const fuzz::ScratchDir& Scratch() {
  static const fuzz::ScratchDir dir;
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      Scratch().Write("samples.jsonl", std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<cli::RunInput> inputs;
  try {
    inputs = cli::ReadRunInputs(path);
  } catch (const Error& e) {
    fuzz::Rejected(e);
    return 0;
  }
  const std::string out = Scratch().path() + "/pred.jsonl";
  std::filesystem::remove(out);
  bool all_answered = true;
  {
    records::RecordWriter writer(out);
    for (const cli::RunInput& s : inputs) {
      all_answered &= s.record.contains("outputs") || s.record.contains("output");
      SampleResult r;
      // A generation cut anywhere, also inside a UTF-8 character.
      const std::string query = s.record["input_query"].get<std::string>();
      r.generation.text = query.substr(0, query.size() / 2 + 1);
      r.hosts.resize(1);
      const nlohmann::json rec =
          cli::PredictionRecord(s, r, DistConfig{}, "in-process", cli::DeviceChoice{}, 1, 1, 0.5);
      if (rec["sample_key"] != s.key)
        fuzz::Violation("the record's sample_key is not the input's key");
      writer.Append(rec);
    }
  }
  if (!all_answered) return 0;
  records::RecordFile f;
  try {
    f = records::ReadRecords(out, {.default_task = "fuzz"});
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    fuzz::Violation("the reader rejects a record run wrote for an accepted sample");
  }
  if (f.records.size() != inputs.size()) fuzz::Violation("records read != samples run");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (f.records[i].key != inputs[i].key)
      fuzz::Violation("a record's key differs from its sample's");
  }
  return 0;
}
