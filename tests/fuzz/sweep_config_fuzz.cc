// Sweep configs (tasks/*.json, harness/lib/sweep_config.h). Input: the config file's bytes, read
// from a scratch directory that holds the committed head-mix mask file as masks/mix.json (a
// config's relative mask_file resolves there).
//
// An accepted config then goes through what `sweep` checks before any work: every attention entry
// at every benchmark length (At, ValidateDistConfig, a mask file against the model) for a model
// shaped as the default one (SmolLM2-135M: 30 layers, 9 query and 3 KV heads).
//
// Invariants on an accepted config: every model label, attention label and length label names one
// directory (not empty, ".", ".." or containing '/' or NUL), since the sweep writes
// OUT/<model>/<attention>/<length>; every length has a positive token count.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/common/error.h"
#include "engine/model/config.h"
#include "harness/lib/sweep.h"
#include "harness/lib/sweep_config.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace starattn;

const fuzz::ScratchDir& Scratch() {
  static const fuzz::ScratchDir dir = [] {
    fuzz::ScratchDir d;
    std::ifstream in(
        std::string(STARATTN_SOURCE_DIR) + "/tasks/masks/smollm2-half-dense-streaming.json",
        std::ios::binary);
    const std::string mask((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (mask.empty()) fuzz::Violation("cannot read tasks/masks/smollm2-half-dense-streaming.json");
    std::filesystem::create_directories(d.path() + "/masks");
    d.Write("masks/mix.json", mask);
    return d;
  }();
  return dir;
}

ModelConfig SmolLm2Shape() {
  ModelConfig mc;
  mc.n_layers = 30;
  mc.d_model = 576;
  mc.n_heads = 9;
  mc.n_kv_heads = 3;
  mc.head_dim = 64;
  mc.d_ff = 1536;
  mc.vocab_size = 49152;
  mc.max_positions = 8192;
  mc.rope_dims = 64;
  return mc;
}

void CheckLabel(const std::string& label, const char* what) {
  if (label.empty() || label == "." || label == ".." ||
      label.find_first_of(std::string("/\0", 2)) != std::string::npos) {
    std::fprintf(stderr, "%s label '%s'\n", what, label.c_str());
    fuzz::Violation("a label that is not one directory name was accepted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ModelConfig mc = SmolLm2Shape();
  const std::string path =
      Scratch().Write("sweep.json", std::string_view(reinterpret_cast<const char*>(data), size));
  cli::SweepConfig cfg;
  try {
    cfg = cli::ParseSweepConfig(path);
  } catch (const Error& e) {
    fuzz::Rejected(e);
    return 0;
  }
  for (const cli::SweepModel& m : cfg.models) CheckLabel(m.label, "model");
  for (const cli::SweepAttention& a : cfg.attention) CheckLabel(a.label, "attention");
  for (const cli::SweepBenchmark& b : cfg.benchmarks) {
    for (const std::string& l : b.lengths) {
      CheckLabel(cli::LengthLabel(l), "length");
      if (cli::LengthTokens(b.name, l) <= 0) fuzz::Violation("a length of no tokens was accepted");
    }
  }
  try {
    cli::CheckSweepAttention(cfg, "model", mc);
  } catch (const Error& e) {
    fuzz::Rejected(e);
  }
  return 0;
}
