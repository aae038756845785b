// simulate: the cost model of dense, ring and star attention at paper scale (harness/lib/
// simulate.h) for a model shape and a hardware file. Bad input exits 2 with a one-line error.
//
//   starattn simulate --hardware tasks/hardware/a100-nvlink.json --model llama-3.1-8b
//       --hosts 4 --devices-per-host 2 --lengths 16k 32k 64k 128k --block L/4
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/common/error.h"
#include "engine/io/gguf.h"
#include "engine/model/config.h"
#include "harness/cli.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/simulate_table.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace starattn::cli {
namespace {

// A built-in name, a .gguf file, a Hugging Face directory or its config.json.
sim::ModelShape LoadShape(const std::string& spec, std::string* source) {
  if (auto builtin = sim::BuiltinModel(spec)) {
    *source = "built-in";
    return *builtin;
  }
  ModelConfig c;
  std::string file;
  if (spec.ends_with(".gguf")) {
    file = spec;
    c = ConfigFromGguf(GgufFile::Open(spec));
  } else if (fs::is_directory(spec)) {
    file = (fs::path(spec) / "config.json").string();
    c = ConfigFromHfJson(file);
  } else if (spec.ends_with(".json")) {
    file = spec;
    c = ConfigFromHfJson(spec);
  } else {
    std::string names;
    for (const auto& n : sim::BuiltinModelNames()) names += (names.empty() ? "" : ", ") + n;
    Fail(
        "--model '{}': not a built-in shape ({}), a .gguf file, a Hugging Face directory or a "
        "config.json",
        spec, names);
  }
  c.Validate(file);
  *source = file;
  return sim::ShapeFromConfig(c, fs::path(spec).filename().string());
}

int64_t Positive(const po::variables_map& vm, const char* key) {
  const int64_t v = vm[key].as<int64_t>();
  if (v < 1) Fail("--{} must be positive, got {}", key, v);
  return v;
}

int SimulateMain(const std::vector<std::string>& args) {
  po::options_description desc("simulate options");
  // clang-format off
  desc.add_options()
      ("hardware", po::value<std::string>()->required(),
       "hardware file (tasks/hardware/*.json): devices, links, software overheads, sources")
      ("model", po::value<std::string>()->required(),
       "built-in shape (llama-3.1-8b, llama-3.1-70b, llama-3-8b-1048k, smollm2-135m), .gguf, "
       "Hugging Face directory or config.json")
      ("lengths", po::value<std::vector<std::string>>()->multitoken()->required(),
       "context lengths in tokens (16384, 16k, 1M)")
      ("hosts", po::value<int64_t>()->default_value(4), "star hosts")
      ("devices-per-host", po::value<int64_t>()->default_value(1),
       "devices per star host (they hold consecutive layers)")
      ("ring-hosts", po::value<int64_t>(), "ring hosts (default: --hosts)")
      ("ring-devices-per-host", po::value<int64_t>(),
       "devices per ring host (default: --devices-per-host)")
      ("dense-devices", po::value<int64_t>(),
       "devices of the single dense host (default: hosts x devices per host)")
      ("block", po::value<std::string>()->default_value("L/4"), "star block: tokens or L/k")
      ("anchor", po::value<std::string>()->default_value("block"),
       "star anchor: block, tokens, L/k or 0 (none)")
      ("query-tokens", po::value<int64_t>()->default_value(40), "query tokens per sample")
      ("decode-tokens", po::value<int64_t>()->default_value(99),
       "generated tokens per sample (the reference decodes exactly this many)")
      ("json", po::value<std::string>(), "also write the inputs and results as JSON");
  // clang-format on
  po::variables_map vm;
  if (!ParseCommandLine(
          args, desc, vm,
          "usage: starattn simulate --hardware FILE --model NAME|PATH --lengths L... "
          "[--hosts H --devices-per-host G] [--block L/4] [--anchor block]\n\n"
          "Cost model of dense, ring (naive and zigzag) and star attention: time per phase, "
          "memory per device and star's speedups, with every input echoed. Exit 2 on bad "
          "input.")) {
    return 0;
  }
  sim::Request req;
  req.hardware = sim::ReadHardwareFile(vm["hardware"].as<std::string>());
  req.model = LoadShape(vm["model"].as<std::string>(), &req.model_source);
  for (const auto& l : vm["lengths"].as<std::vector<std::string>>()) {
    req.lengths.push_back(sim::ParseTokens(l, "--lengths"));
  }
  req.star = {Positive(vm, "hosts"), Positive(vm, "devices-per-host")};
  req.ring = req.star;
  if (vm.count("ring-hosts")) req.ring.hosts = Positive(vm, "ring-hosts");
  if (vm.count("ring-devices-per-host")) {
    req.ring.devices_per_host = Positive(vm, "ring-devices-per-host");
  }
  req.dense = {1, req.star.hosts * req.star.devices_per_host};
  if (vm.count("dense-devices")) req.dense.devices_per_host = Positive(vm, "dense-devices");
  req.block = sim::ParseSize(vm["block"].as<std::string>(), "--block", false);
  req.anchor = sim::ParseSize(vm["anchor"].as<std::string>(), "--anchor", true);
  req.query_tokens = Positive(vm, "query-tokens");
  req.decode_tokens = Positive(vm, "decode-tokens");
  const std::vector<sim::Row> rows = sim::RunRequest(req);
  std::cout << sim::RenderMarkdown(req, rows);
  if (vm.count("json")) {
    const std::string path = vm["json"].as<std::string>();
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << sim::ToJson(req, rows).dump(2) << "\n";
      if (!out) Fail("{}: write failed", tmp);
    }
    fs::rename(tmp, path);
  }
  return 0;
}

// Bad input (a hardware field, an option, an impossible scenario) exits 2.
int RunSimulate(const std::vector<std::string>& args) {
  try {
    return SimulateMain(args);
  } catch (const Error& e) {
    std::cerr << "starattn simulate: error: " << e.what() << "\n";
  } catch (const po::error& e) {
    std::cerr << "starattn simulate: error: " << e.what() << " (see --help)\n";
  } catch (const fs::filesystem_error& e) {
    std::cerr << "starattn simulate: error: " << e.what() << "\n";
  }
  return 2;
}

}  // namespace

std::vector<Command> SimulateCommands() {
  return {{"simulate", "cost model of dense, ring and star attention at paper scale", RunSimulate}};
}

}  // namespace starattn::cli
