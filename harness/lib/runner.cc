#include "harness/lib/runner.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "engine/common/error.h"
#include "harness/lib/jsonl.h"

namespace starattn::cli {

void AppendRunInputs(const std::string& path, std::vector<RunInput>& into) {
  std::set<std::string> keys;
  for (const auto& s : into) keys.insert(s.key);
  ForEachJsonLine(path, /*allow_partial_last=*/false, [&](nlohmann::json j, int64_t line) {
    if (!j.is_object()) Fail("{}:{}: not a JSON object", path, line);
    for (const char* f : {"input_context", "input_query"}) {
      if (!j.contains(f) || !j[f].is_string()) {
        Fail("{}:{}: missing string field '{}'", path, line, f);
      }
    }
    RunInput s;
    if (j.contains("index")) {
      s.key = (j.contains("task") && j["task"].is_string() ? j["task"].get<std::string>() + "/"
                                                            : std::string()) +
              j["index"].dump();
    } else {
      s.key = path + ":" + std::to_string(line);
    }
    if (!keys.insert(s.key).second) Fail("{}:{}: duplicate sample {}", path, line, s.key);
    s.record = std::move(j);
    into.push_back(std::move(s));
  });
}

std::vector<RunInput> ReadRunInputs(const std::string& path) {
  std::vector<RunInput> v;
  AppendRunInputs(path, v);
  return v;
}

std::vector<std::string> FinishedKeys(const std::string& output, bool writer, Communicator* mpi) {
  std::vector<std::string> keys;
  const bool exists = std::filesystem::exists(output);
  if (exists && writer) TruncatePartialLastLine(output);
  if (mpi) mpi->Barrier();
  if (!exists) return keys;
  ForEachJsonLine(output, /*allow_partial_last=*/true, [&](nlohmann::json j, int64_t) {
    if (j.contains("sample_key") && j["sample_key"].is_string()) {
      keys.push_back(j["sample_key"].get<std::string>());
    }
  });
  return keys;
}

int64_t RunSamples(const Model& model, const std::vector<RunInput>& inputs,
                   const std::string& output, const RunnerOptions& opts,
                   const std::function<void(const RunInput&, const RunProgress&)>& on_sample) {
  const bool writer = opts.mpi == nullptr || opts.mpi->rank() == opts.mpi->size() - 1;
  const std::vector<std::string> finished = FinishedKeys(output, writer, opts.mpi);
  const std::set<std::string> done(finished.begin(), finished.end());
  std::ofstream out;
  if (writer) {
    if (auto dir = std::filesystem::path(output).parent_path(); !dir.empty()) {
      std::filesystem::create_directories(dir);
    }
    out.open(output, std::ios::app);
    if (!out) Fail("{}: cannot open for appending", output);
  }
  if (!opts.run_sample) Fail("RunSamples: no sample runner given");
  const Tokenizer& tok = model.tokenizer();
  const DistConfig& cfg = opts.cfg;
  RunProgress progress;
  progress.total = static_cast<int64_t>(inputs.size());
  for (const RunInput& s : inputs) {
    if (done.count(s.key)) ++progress.done;
  }
  for (const RunInput& s : inputs) {
    if (done.count(s.key)) continue;
    if (opts.limit >= 0 && progress.ran_now >= opts.limit) break;
    const auto context = tok.Encode(s.record["input_context"].get<std::string>(),
                                    tok.add_bos_default(), /*parse_special=*/true);
    const auto query = tok.Encode(s.record["input_query"].get<std::string>(), false, true);
    GenerateOptions gen = opts.gen;
    if (opts.per_sample_tokens && s.record.contains("tokens_to_generate")) {
      gen.max_new_tokens = s.record["tokens_to_generate"].get<int64_t>();
    }
    const auto t0 = std::chrono::steady_clock::now();
    SampleResult r = opts.run_sample(context, query, gen);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++progress.ran_now;
    ++progress.done;
    progress.seconds = seconds;
    if (writer) {
      nlohmann::json rec = s.record;
      if (!rec.contains("outputs") && rec.contains("output")) {
        rec["outputs"] =
            rec["output"].is_array() ? rec["output"] : nlohmann::json::array({rec["output"]});
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
      rec["attn"] = {{"mode", AttnModeName(cfg.mode)},
                     {"hosts", cfg.hosts},
                     {"block_size", cfg.block_size},
                     {"anchor_size", cfg.mode == AttnMode::kStar ? cfg.anchor() : 0},
                     {"anchor_positions", AnchorPositionsName(cfg.anchor_positions)},
                     {"anchor_source", AnchorSourceName(cfg.anchor_source)},
                     {"communicator", opts.mpi ? "mpi" : "in-process"}};
      rec["backend"] = {{"device", opts.device}, {"precision", opts.precision}};
      // One line, one write, flushed: a kill leaves at most one torn line, cut on resume.
      out << rec.dump() << '\n';
      out.flush();
      if (!out) Fail("{}: write failed", output);
    }
    if (on_sample) on_sample(s, progress);
  }
  return progress.ran_now;
}

}  // namespace starattn::cli
