#include "harness/lib/runner.h"

#include <chrono>
#include <iostream>
#include <optional>
#include <set>
#include <type_traits>

#include "engine/common/error.h"
#include "engine/common/parse.h"
#include "harness/lib/jsonl.h"
#include "harness/lib/records.h"

namespace starattn::cli {

// ---- Inputs -----------------------------------------------------------------------------------

void AppendRunInputs(const std::string& path, std::vector<RunInput>& into) {
  std::set<std::string> keys;
  for (const auto& s : into) keys.insert(s.key);
  ForEachJsonLine(path, /*allow_torn_last=*/false, [&](nlohmann::json j, int64_t line) {
    const std::string where = fmt::format("{}:{}", path, line);
    if (!j.is_object()) Fail("{}: not a JSON object", where);
    for (const char* f : {"input_context", "input_query"}) {
      if (!j.contains(f) || !j[f].is_string()) Fail("{}: missing string field '{}'", where, f);
    }
    // The fields the prediction record keeps, checked as the readers of records check them: a
    // sample that runs must give a record that eval, report and compare accept.
    const std::optional<std::string> task = records::TaskOf(j, where);
    if (const auto i = j.find("index"); i != j.end()) JsonInt(*i, where + ": index");
    (void)records::ReferencesOf(j, where);
    if (const auto n = j.find("tokens_to_generate"); n != j.end()) {
      JsonInt(*n, where + ": tokens_to_generate", 0, kMaxTokensToGenerate);
    }
    RunInput s;
    if (j.contains("index")) {
      s.key = (task ? *task + "/" : std::string()) + j["index"].dump();
    } else {
      s.key = path + ":" + std::to_string(line);
    }
    if (!keys.insert(s.key).second) Fail("{}: duplicate sample {}", where, s.key);
    s.record = std::move(j);
    into.push_back(std::move(s));
  });
}

std::vector<RunInput> ReadRunInputs(const std::string& path) {
  std::vector<RunInput> v;
  AppendRunInputs(path, v);
  return v;
}

// ---- Hosts: the model on its device, and the messages from rank 0 to the others ---------------

// The model and its runner on the device (the one place that calls ModelRunner for samples).
struct SampleRunner::Host {
  std::string path;
  std::unique_ptr<Model> model;
  std::unique_ptr<ModelRunner> runner;  // the model on --device (its weights, for cuda)

  void Load(const std::string& p, const DeviceChoice& device, Communicator* mpi) {
    if (model != nullptr && p == path) return;
    runner.reset();  // before the model it refers to
    model = Model::Load(p);
    runner = std::make_unique<ModelRunner>(*model, device, mpi);
    path = p;
  }
  SampleResult Run(const DistConfig& cfg, std::span<const int32_t> context,
                   std::span<const int32_t> query, const GenerateOptions& gen, Communicator* mpi) {
    return runner->RunSample(cfg, context, query, gen, mpi);
  }
};

namespace {

// One sample as rank 0 broadcasts it: this header, then the model path, the stop strings (a JSON
// list), the context ids and the query ids. Every rank runs the same binary, so the header goes
// as bytes.
// The fields of DistConfig a multi-host configuration uses (star, ring: the sparse modes run on
// one host, rank 0 alone, and are never sent).
struct WireConfig {
  AttnMode mode = AttnMode::kDense;
  int32_t hosts = 1;
  int64_t block_size = 0, anchor_size = -1, ubatch = 512;
  AnchorPositions anchor_positions = AnchorPositions::kOriginal;
  AnchorSource anchor_source = AnchorSource::kFirst;
};

WireConfig ToWire(const DistConfig& c) {
  if (c.mode != AttnMode::kDense && c.mode != AttnMode::kStar && c.mode != AttnMode::kRing) {
    Fail("{} attention runs on one host; it is not sent to other MPI ranks", AttnModeName(c.mode));
  }
  return {c.mode,         c.hosts, c.block_size, c.anchor_size, c.ubatch, c.anchor_positions,
          c.anchor_source};
}

DistConfig FromWire(const WireConfig& w) {
  DistConfig c;
  c.mode = w.mode;
  c.hosts = w.hosts;
  c.block_size = w.block_size;
  c.anchor_size = w.anchor_size;
  c.ubatch = w.ubatch;
  c.anchor_positions = w.anchor_positions;
  c.anchor_source = w.anchor_source;
  return c;
}

struct JobHeader {
  int32_t stop = 0;  // 1: no more samples
  int32_t stop_at_eog = 1;
  WireConfig cfg;
  int64_t max_new_tokens = 0;
  int64_t ubatch = 0;
  uint64_t model_bytes = 0;
  uint64_t stop_strings_bytes = 0;
  uint64_t context_tokens = 0;
  uint64_t query_tokens = 0;
};
static_assert(std::is_trivially_copyable_v<JobHeader>, "JobHeader is broadcast as bytes");
// Every field of GenerateOptions travels in the header; a new one must be added there.
struct GenerateOptionsFields {
  int64_t max_new_tokens;
  std::vector<std::string> stop_strings;
  bool stop_at_eog;
  int64_t ubatch;
};
static_assert(sizeof(GenerateOptions) == sizeof(GenerateOptionsFields),
              "GenerateOptions changed: send its new fields to the other ranks (JobHeader)");

struct Job {
  bool stop = false;
  std::string model;
  DistConfig cfg;
  GenerateOptions gen;
  std::vector<int32_t> context, query;
};

void BroadcastBytes(Communicator& mpi, void* data, uint64_t bytes) {
  if (bytes > 0) mpi.Broadcast(data, bytes, 0);
}

void SendStop(Communicator& mpi) {
  JobHeader h;
  h.stop = 1;
  mpi.Broadcast(&h, sizeof(h), 0);
}

void SendJob(Communicator& mpi, const std::string& model, const DistConfig& cfg,
             const GenerateOptions& gen, std::span<const int32_t> context,
             std::span<const int32_t> query) {
  std::string stops = nlohmann::json(gen.stop_strings).dump();
  std::string path = model;
  JobHeader h;
  h.stop_at_eog = gen.stop_at_eog ? 1 : 0;
  h.cfg = ToWire(cfg);
  h.max_new_tokens = gen.max_new_tokens;
  h.ubatch = gen.ubatch;
  h.model_bytes = path.size();
  h.stop_strings_bytes = stops.size();
  h.context_tokens = context.size();
  h.query_tokens = query.size();
  mpi.Broadcast(&h, sizeof(h), 0);
  BroadcastBytes(mpi, path.data(), path.size());
  BroadcastBytes(mpi, stops.data(), stops.size());
  std::vector<int32_t> ids(context.begin(), context.end());
  ids.insert(ids.end(), query.begin(), query.end());
  BroadcastBytes(mpi, ids.data(), ids.size() * sizeof(int32_t));
}

Job ReceiveJob(Communicator& mpi) {
  JobHeader h;
  mpi.Broadcast(&h, sizeof(h), 0);
  Job job;
  if (h.stop != 0) {
    job.stop = true;
    return job;
  }
  job.model.resize(h.model_bytes);
  BroadcastBytes(mpi, job.model.data(), h.model_bytes);
  std::string stops(h.stop_strings_bytes, '\0');
  BroadcastBytes(mpi, stops.data(), h.stop_strings_bytes);
  std::vector<int32_t> ids(h.context_tokens + h.query_tokens);
  BroadcastBytes(mpi, ids.data(), ids.size() * sizeof(int32_t));
  job.cfg = FromWire(h.cfg);
  job.gen.max_new_tokens = h.max_new_tokens;
  job.gen.stop_strings = nlohmann::json::parse(stops).get<std::vector<std::string>>();
  job.gen.stop_at_eog = h.stop_at_eog != 0;
  job.gen.ubatch = h.ubatch;
  job.context.assign(ids.begin(), ids.begin() + static_cast<int64_t>(h.context_tokens));
  job.query.assign(ids.begin() + static_cast<int64_t>(h.context_tokens), ids.end());
  return job;
}

}  // namespace

SampleRunner::SampleRunner(const DeviceChoice& device, Communicator* mpi)
    : device_(device), mpi_(mpi), host_(std::make_unique<Host>()) {
  if (mpi_ != nullptr && mpi_->rank() != 0) {
    Fail("internal: SampleRunner drives from rank 0, not rank {}", mpi_->rank());
  }
}

SampleRunner::~SampleRunner() {
  if (mpi_ == nullptr) return;
  try {
    SendStop(*mpi_);
  } catch (const std::exception& e) {
    // Already unwinding from an error, or MPI is gone: mpirun ends the other ranks.
    std::cerr << "starattn: could not tell the other ranks to stop: " << e.what() << "\n";
  }
}

const Model& SampleRunner::Load(const std::string& path) {
  host_->Load(path, device_, mpi_);
  return *host_->model;
}

const Model& SampleRunner::model() const {
  if (host_->model == nullptr) Fail("internal: no model loaded");
  return *host_->model;
}

std::string_view SampleRunner::CommunicatorFor(int hosts) const {
  if (mpi_ == nullptr) return "in-process";
  if (hosts == mpi_->size()) return "mpi";
  if (hosts == 1) return "in-process";
  Fail(
      "{} hosts cannot run under mpirun -np {}: a configuration needs 1 host or {} (one per "
      "process)",
      hosts, mpi_->size(), mpi_->size());
}

void SampleRunner::Check(const DistConfig& cfg, int64_t context_tokens, int64_t query_tokens,
                         int64_t max_new_tokens) const {
  const ModelConfig& mc = model().config();
  ValidateDistConfig(cfg, context_tokens, query_tokens, max_new_tokens, mc.max_positions);
  if (cfg.sparse != nullptr) cfg.sparse->Validate(mc, context_tokens + query_tokens);
}

SampleResult SampleRunner::Run(const DistConfig& cfg, std::span<const int32_t> context,
                               std::span<const int32_t> query, const GenerateOptions& gen) {
  if (CommunicatorFor(cfg.hosts) != "mpi") return host_->Run(cfg, context, query, gen, nullptr);
  // Impossible configurations fail here, on rank 0, before the other ranks are involved.
  ValidateDistConfig(cfg, static_cast<int64_t>(context.size()), static_cast<int64_t>(query.size()),
                     gen.max_new_tokens, model().config().max_positions);
  SendJob(*mpi_, host_->path, cfg, gen, context, query);
  return host_->Run(cfg, context, query, gen, mpi_);
}

void ServeSamples(Communicator& mpi, const DeviceChoice& device) {
  SampleRunner::Host host;
  for (Job job = ReceiveJob(mpi); !job.stop; job = ReceiveJob(mpi)) {
    host.Load(job.model, device, &mpi);
    host.Run(job.cfg, job.context, job.query, job.gen, &mpi);
  }
}

// ---- Runs -------------------------------------------------------------------------------------

nlohmann::json PredictionRecord(const RunInput& s, const SampleResult& r, const DistConfig& cfg,
                                std::string_view communicator, const DeviceChoice& device,
                                size_t context_tokens, size_t query_tokens, double seconds) {
  nlohmann::json rec = s.record;
  if (!rec.contains("outputs") && rec.contains("output")) {
    rec["outputs"] =
        rec["output"].is_array() ? rec["output"] : nlohmann::json::array({rec["output"]});
  }
  rec["pred"] = r.generation.text;
  rec["sample_key"] = s.key;
  rec["context_tokens"] = context_tokens;
  rec["query_tokens"] = query_tokens;
  rec["generated_tokens"] = r.generation.tokens.size();
  rec["stop_reason"] = r.generation.stop_reason;
  nlohmann::json hosts = nlohmann::json::array();
  for (const HostStats& h : r.hosts) {
    hosts.push_back({{"phase1_s", h.phase1_seconds},
                     {"phase2_s", h.phase2_seconds},
                     {"decode_s", h.decode_seconds},
                     {"context_tokens", h.context_tokens},
                     {"kv_bytes", h.kv_bytes},
                     {"peak_kv_bytes", h.peak_kv_bytes},
                     {"prefill_scores", h.prefill_scores},
                     {"decode_kv_bytes", h.decode_kv_bytes},
                     {"prefill_attention_s", h.prefill_attention_seconds},
                     {"decode_attention_s", h.decode_attention_seconds}});
  }
  rec["timing"] = {{"total_s", seconds},
                   {"phase1_critical_s", r.phase1_critical_seconds},
                   {"phase2_critical_s", r.phase2_critical_seconds},
                   {"decode_critical_s", r.decode_critical_seconds},
                   {"hosts", hosts}};
  // Attention work over all hosts beside what dense attention computes for the same sample.
  int64_t scores = 0, kv_read = 0;
  for (const HostStats& h : r.hosts) {
    scores += h.prefill_scores;
    kv_read += h.decode_kv_bytes;
  }
  rec["attention_work"] = {{"prefill_scores", scores},
                           {"dense_prefill_scores", r.dense_prefill_scores},
                           {"decode_kv_bytes", kv_read},
                           {"dense_decode_kv_bytes", r.dense_decode_kv_bytes}};
  rec["attn"] = {{"mode", AttnModeName(cfg.mode)},
                 {"hosts", cfg.hosts},
                 {"block_size", cfg.block_size},
                 {"anchor_size", cfg.mode == AttnMode::kStar ? cfg.anchor() : 0},
                 {"anchor_positions", AnchorPositionsName(cfg.anchor_positions)},
                 {"anchor_source", AnchorSourceName(cfg.anchor_source)},
                 {"communicator", communicator}};
  if (cfg.sparse != nullptr) {
    const SparseSpec& sp = *cfg.sparse;
    rec["attn"]["sparse"] = {{"source", sp.source},
                             {"block", sp.block},
                             {"sink", sp.sink},
                             {"local", sp.local},
                             {"unit", sp.streaming_in_blocks ? "blocks" : "tokens"},
                             {"density", sp.density}};
  }
  if (cfg.mode == AttnMode::kTopkKv) {
    rec["attn"]["topk_kv"] = {{"topk", cfg.topk},
                              {"topk_fraction", cfg.topk_fraction},
                              {"sink", cfg.topk_sink},
                              {"block", cfg.topk_block},
                              {"recency", cfg.topk_recency}};
  }
  rec["backend"] = {{"device", DeviceName(device.device)}, {"precision", device.precision()}};
  return rec;
}

int64_t RunSamples(SampleRunner& runner, const std::vector<RunInput>& inputs,
                   const std::string& output, const RunnerOptions& opts,
                   const std::function<void(const RunInput&, const RunProgress&)>& on_sample) {
  const std::string_view communicator = runner.CommunicatorFor(opts.cfg.hosts);
  const Tokenizer& tok = runner.model().tokenizer();
  auto encode = [&](const RunInput& s) {
    return std::pair{tok.Encode(s.record["input_context"].get<std::string>(), tok.add_bos_default(),
                                /*parse_special=*/true),
                     tok.Encode(s.record["input_query"].get<std::string>(), false, true)};
  };
  auto gen_of = [&](const RunInput& s) {
    GenerateOptions gen = opts.gen;
    if (opts.per_sample_tokens && s.record.contains("tokens_to_generate")) {
      gen.max_new_tokens = JsonInt(s.record["tokens_to_generate"], "tokens_to_generate");
    }
    return gen;
  };
  // Every sample against the configuration before the output is touched: an impossible
  // configuration is one error, with nothing written.
  for (const RunInput& s : inputs) {
    const auto [context, query] = encode(s);
    try {
      runner.Check(opts.cfg, static_cast<int64_t>(context.size()),
                   static_cast<int64_t>(query.size()), gen_of(s).max_new_tokens);
    } catch (const Error& e) {
      Fail("sample {}: {}", s.key, e.what());
    }
  }
  records::RecordWriter writer(output);
  RunProgress progress;
  progress.total = static_cast<int64_t>(inputs.size());
  for (const RunInput& s : inputs) {
    if (writer.Has(s.key)) ++progress.done;
  }
  for (const RunInput& s : inputs) {
    if (writer.Has(s.key)) continue;
    if (opts.limit >= 0 && progress.ran_now >= opts.limit) break;
    const auto [context, query] = encode(s);
    const GenerateOptions gen = gen_of(s);
    const auto t0 = std::chrono::steady_clock::now();
    const SampleResult r = runner.Run(opts.cfg, context, query, gen);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    writer.Append(PredictionRecord(s, r, opts.cfg, communicator, runner.device(), context.size(),
                                   query.size(), seconds));
    ++progress.ran_now;
    ++progress.done;
    progress.seconds = seconds;
    if (on_sample) on_sample(s, progress);
  }
  return progress.ran_now;
}

}  // namespace starattn::cli
