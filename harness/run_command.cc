// run: a JSONL file of samples (input_context, input_query, outputs) through the model with an
// attention mode across hosts, writing predictions; resumable at sample granularity.
#include <omp.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/dist/mpi_communicator.h"
#include "engine/model/distributed.h"
#include "harness/cli.h"
#include "harness/jsonl.h"

namespace po = boost::program_options;

namespace starattn::cli {
namespace {

struct Sample {
  nlohmann::json record;  // the input line, kept whole in the output
  std::string key;        // identity for resuming: the index, else the line number
};

std::vector<Sample> ReadSamples(const std::string& path) {
  std::vector<Sample> samples;
  int64_t line_no = 0;
  ForEachJsonLine(path, /*allow_partial_last=*/false, [&](nlohmann::json j, int64_t line) {
    line_no = line;
    if (!j.is_object()) Fail("{}:{}: not a JSON object", path, line);
    for (const char* f : {"input_context", "input_query"}) {
      if (!j.contains(f) || !j[f].is_string()) Fail("{}:{}: missing string field '{}'", path, line, f);
    }
    Sample s;
    s.key = j.contains("index") ? j["index"].dump() : "line" + std::to_string(line);
    s.record = std::move(j);
    samples.push_back(std::move(s));
  });
  std::set<std::string> keys;
  for (const auto& s : samples) {
    if (!keys.insert(s.key).second) Fail("{}: duplicate sample index {}", path, s.key);
  }
  return samples;
}

int RunRun(const std::vector<std::string>& args) {
  po::options_description desc("run options");
  desc.add_options()
      ("model,m", po::value<std::string>()->required(), "model: a .gguf file or a HF directory")
      ("input,i", po::value<std::string>()->required(), "input JSONL (input_context, input_query, outputs)")
      ("output,o", po::value<std::string>()->required(), "predictions JSONL (appended; resumable)")
      ("attn", po::value<std::string>()->default_value("dense"), "attention: dense, star, ring")
      ("hosts", po::value<int>()->default_value(1), "hosts (under mpirun: must equal the world size)")
      ("block-size", po::value<int64_t>()->default_value(0), "star: context block size in tokens")
      ("anchor-size", po::value<int64_t>()->default_value(-1), "star: anchor size (default: block size)")
      ("anchor-positions", po::value<std::string>()->default_value("original"),
       "star: original (anchor keeps ids 0..a-1) or shifted (ids just before the block)")
      ("anchor-source", po::value<std::string>()->default_value("first"),
       "star: first (first block), previous (the block before), none")
      ("tokens-to-generate,n", po::value<int64_t>()->default_value(128),
       "tokens to generate at most (default: each sample's tokens_to_generate field, else 128)")
      ("stop-words", po::value<std::vector<std::string>>()->multitoken(), "stop strings")
      ("limit", po::value<int64_t>()->default_value(-1), "run at most this many samples")
      ("threads,t", po::value<int>()->default_value(0), "CPU threads per process (0 = all cores)")
      ("quiet,q", "no per-sample log lines");
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
                        "usage: starattn run --model M --attn dense|star|ring --hosts H "
                        "--input in.jsonl --output pred.jsonl")) {
    return 0;
  }
  const int threads = vm["threads"].as<int>();
  if (threads < 0) Fail("--threads must be >= 0, got {}", threads);
  if (threads > 0) omp_set_num_threads(threads);

  DistConfig cfg;
  cfg.mode = ParseAttnMode(vm["attn"].as<std::string>());
  cfg.hosts = vm["hosts"].as<int>();
  cfg.block_size = vm["block-size"].as<int64_t>();
  cfg.anchor_size = vm["anchor-size"].as<int64_t>();
  cfg.anchor_positions = ParseAnchorPositions(vm["anchor-positions"].as<std::string>());
  cfg.anchor_source = ParseAnchorSource(vm["anchor-source"].as<std::string>());
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  if (cfg.mode != AttnMode::kStar && (vm["block-size"].defaulted() == false)) {
    Fail("--block-size applies to --attn star only");
  }
  GenerateOptions opts;
  opts.max_new_tokens = vm["tokens-to-generate"].as<int64_t>();
  if (opts.max_new_tokens < 1) Fail("--tokens-to-generate must be at least 1");
  if (vm.count("stop-words")) opts.stop_strings = vm["stop-words"].as<std::vector<std::string>>();

  // Under mpirun every process is one host.
  std::unique_ptr<Communicator> mpi;
  if (LaunchedUnderMpi()) {
    mpi = MpiWorld();
    if (mpi->size() != cfg.hosts) {
      Fail("--hosts {} does not match the MPI world size {}", cfg.hosts, mpi->size());
    }
  }
  const bool writer = mpi == nullptr || mpi->rank() == mpi->size() - 1;

  const std::string in_path = vm["input"].as<std::string>();
  const std::string out_path = vm["output"].as<std::string>();
  std::vector<Sample> samples = ReadSamples(in_path);
  // Resume: keep the complete lines of an earlier run, drop a torn last line.
  std::set<std::string> done;
  if (std::filesystem::exists(out_path)) {
    if (writer) TruncatePartialLastLine(out_path);
    if (mpi) mpi->Barrier();
    ForEachJsonLine(out_path, /*allow_partial_last=*/true, [&](nlohmann::json j, int64_t line) {
      if (j.contains("sample_key")) done.insert(j["sample_key"].get<std::string>());
    });
  }
  auto model = Model::Load(vm["model"].as<std::string>());
  const Tokenizer& tok = model->tokenizer();

  std::ofstream out;
  if (writer) {
    out.open(out_path, std::ios::app);
    if (!out) Fail("{}: cannot open for appending", out_path);
  }
  const int64_t limit = vm["limit"].as<int64_t>();
  int64_t ran = 0, skipped = 0;
  for (const Sample& s : samples) {
    if (done.count(s.key)) {
      ++skipped;
      continue;
    }
    if (limit >= 0 && ran >= limit) break;
    const auto context = tok.Encode(s.record["input_context"].get<std::string>(),
                                    tok.add_bos_default(), /*parse_special=*/true);
    const auto query = tok.Encode(s.record["input_query"].get<std::string>(), false, true);
    GenerateOptions sample_opts = opts;
    if (vm["tokens-to-generate"].defaulted() && s.record.contains("tokens_to_generate")) {
      sample_opts.max_new_tokens = s.record["tokens_to_generate"].get<int64_t>();
    }
    const auto t0 = std::chrono::steady_clock::now();
    SampleResult r = mpi ? RunSample(*model, *mpi, cfg, context, query, sample_opts)
                         : RunInProcess(*model, cfg, context, query, sample_opts);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++ran;
    if (!writer) continue;
    nlohmann::json rec = s.record;
    if (!rec.contains("outputs") && rec.contains("output")) {
      rec["outputs"] = rec["output"].is_array() ? rec["output"] : nlohmann::json::array({rec["output"]});
    }
    rec["pred"] = r.generation.text;
    rec["sample_key"] = s.key;
    rec["context_tokens"] = context.size();
    rec["query_tokens"] = query.size();
    rec["generated_tokens"] = r.generation.tokens.size();
    rec["stop_reason"] = r.generation.stop_reason;
    nlohmann::json hosts = nlohmann::json::array();
    for (const HostStats& h : r.hosts) {
      hosts.push_back({{"phase1_s", h.phase1_seconds}, {"phase2_s", h.phase2_seconds},
                       {"decode_s", h.decode_seconds}, {"context_tokens", h.context_tokens},
                       {"kv_bytes", h.kv_bytes}, {"peak_kv_bytes", h.peak_kv_bytes}});
    }
    rec["timing"] = {{"total_s", seconds},
                     {"phase1_critical_s", r.phase1_critical_seconds},
                     {"phase2_critical_s", r.phase2_critical_seconds},
                     {"decode_critical_s", r.decode_critical_seconds},
                     {"hosts", hosts}};
    rec["attn"] = {{"mode", AttnModeName(cfg.mode)}, {"hosts", cfg.hosts},
                   {"block_size", cfg.block_size}, {"anchor_size", cfg.anchor()},
                   {"anchor_positions", AnchorPositionsName(cfg.anchor_positions)},
                   {"anchor_source", AnchorSourceName(cfg.anchor_source)},
                   {"communicator", mpi ? "mpi" : "in-process"}};
    // One line, one write, flushed: a kill leaves at most one torn line, dropped on resume.
    out << rec.dump() << '\n';
    out.flush();
    if (!vm.count("quiet")) {
      std::cerr << "[" << ran + skipped << "/" << samples.size() << "] " << s.key << ": "
                << context.size() << "+" << query.size() << " tokens, " << seconds << " s\n";
    }
  }
  if (writer && !vm.count("quiet")) {
    std::cerr << "run: " << ran << " samples run, " << skipped << " already done, output "
              << out_path << "\n";
  }
  return 0;
}

}  // namespace

std::vector<Command> RunCommands() {
  return {{"run", "run JSONL samples with dense/star/ring attention (resumable)", RunRun}};
}

}  // namespace starattn::cli
