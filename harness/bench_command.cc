// bench: end-to-end timings of one attention mode on synthetic contexts of given lengths:
// phase 1 (context) per host and its critical path (max over hosts), phase 2 (query to the
// first token), decode tokens/s, KV bytes per host and the process's peak RSS. Prints a table
// and optionally writes JSON.
//
//   starattn bench --model models/SmolLM2-135M-Instruct.Q4_1.gguf --attn dense
//       --lengths 1024 4096 --decode-tokens 32 --threads 2 --json dense.json
//   starattn bench --model M --attn star --hosts 4 --block-div 8 --lengths 8192
#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "engine/common/cpu_info.h"
#include "engine/common/error.h"
#include "engine/common/files.h"
#include "engine/model/distributed.h"
#include "harness/cli.h"
#include "harness/lib/attn_options.h"
#include "harness/lib/device.h"
#include "harness/lib/jsonl.h"

namespace po = boost::program_options;

namespace starattn::cli {
namespace {

// Resident bytes now (/proc/self/statm), 0 where unavailable.
int64_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  if (!(f >> pages_total >> pages_resident)) return 0;
  return pages_resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

int64_t PeakRssBytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;  // Linux: kilobytes
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Random ordinary (non-special, non-byte-fallback-looking) token ids, or a repeated text.
std::vector<int32_t> SyntheticContext(const Model& model, int64_t n, const std::string& kind,
                                      uint32_t seed) {
  std::vector<int32_t> ids;
  ids.reserve(n);
  if (kind == "text") {
    const std::string para =
        "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back "
        "again. One of the special magic numbers for the long context is 4217. ";
    const auto piece = model.tokenizer().Encode(para, false, false);
    while (static_cast<int64_t>(ids.size()) < n) {
      for (int32_t id : piece) {
        if (static_cast<int64_t>(ids.size()) == n) break;
        ids.push_back(id);
      }
    }
    return ids;
  }
  if (kind != "random") Fail("--context must be random or text, got '{}'", kind);
  const Tokenizer* tok = model.has_tokenizer() ? &model.tokenizer() : nullptr;
  const int32_t vocab = static_cast<int32_t>(model.config().vocab_size);
  std::mt19937 rng(seed);
  // Skip the low ids (special and byte tokens in most vocabularies).
  std::uniform_int_distribution<int32_t> dist(std::min<int32_t>(300, vocab - 1), vocab - 1);
  while (static_cast<int64_t>(ids.size()) < n) {
    const int32_t id = dist(rng);
    if (tok != nullptr && tok->IsSpecial(id)) continue;
    ids.push_back(id);
  }
  return ids;
}

void WriteJson(const std::string& path, const nlohmann::json& out) {
  if (path.empty()) return;
  WriteFileAtomically(path, out.dump(2) + "\n");
  std::cerr << "bench: wrote " << path << "\n";
}

// What a bench run measures, from the command line.
struct BenchOptions {
  std::string model;
  DistConfig cfg;          // block_size set per length from block_size / block_div
  int64_t block_size = 0;  // star: tokens, or
  int64_t block_div = 0;   // ... the context length / K
  std::vector<int64_t> lengths;
  int64_t query_len = 20, decode = 16;
  int repeats = 1, warmup = 0;
  std::string context_kind = "random";
  uint32_t seed = 1;
  bool isolated = false;
  std::string json;
  DeviceChoice device;
};

BenchOptions ParseBenchOptions(const po::variables_map& vm) {
  BenchOptions o;
  o.model = vm["model"].as<std::string>();
  o.device = DeviceFromOptions(vm);
  // --block-size is star's per-run option; bench also takes --block-div (per length).
  o.block_size = vm["block-size"].as<int64_t>();
  o.block_div = vm["block-div"].as<int64_t>();
  o.cfg = DistConfigFromOptions(vm);
  o.cfg.ubatch = vm["ubatch"].as<int64_t>();
  if (o.block_size < 0 || o.block_div < 0) Fail("--block-size and --block-div must be >= 0");
  if (o.block_size > 0 && o.block_div > 0) Fail("give --block-size or --block-div, not both");
  if (o.cfg.mode != AttnMode::kStar && o.block_div > 0) {
    Fail("--block-div applies to --attn star only");
  }
  if (o.cfg.mode == AttnMode::kStar && o.block_size == 0 && o.block_div == 0) {
    Fail("--attn star needs --block-size B or --block-div K");
  }
  o.query_len = vm["query-tokens"].as<int64_t>();
  o.decode = vm["decode-tokens"].as<int64_t>();
  o.repeats = vm["repeats"].as<int>();
  o.warmup = vm["warmup"].as<int>();
  if (o.query_len < 1) Fail("--query-tokens must be at least 1");
  if (o.decode < 1) Fail("--decode-tokens must be at least 1");
  if (o.repeats < 1) Fail("--repeats must be at least 1");
  o.isolated = vm["isolated-hosts"].as<bool>();
  if (o.isolated && o.device.device != Device::kCpu) {
    Fail("--isolated-hosts times the CPU backend's phase 1; drop it for --device cuda");
  }
  if (o.isolated && o.cfg.mode != AttnMode::kDense && o.cfg.mode != AttnMode::kStar) {
    Fail(
        "--isolated-hosts times dense and star phase 1 only (ring exchanges K/V between hosts; "
        "the sparse modes run on one host)");
  }
  o.lengths = vm["lengths"].as<std::vector<int64_t>>();
  for (int64_t L : o.lengths) {
    if (L < 1) Fail("--lengths must be positive, got {}", L);
  }
  o.context_kind = vm["context"].as<std::string>();
  o.seed = vm["seed"].as<uint32_t>();
  if (vm.count("json")) o.json = vm["json"].as<std::string>();
  return o;
}

// The run configuration at context length L: --block-div K gives ceil(L / K), so that the context
// splits into exactly K blocks (a floor would leave a last block of a few tokens, which still
// pays for a whole anchor).
DistConfig ConfigFor(const BenchOptions& o, int64_t L) {
  DistConfig c = o.cfg;
  if (c.mode == AttnMode::kStar) {
    c.block_size = o.block_size > 0 ? o.block_size : (L + o.block_div - 1) / o.block_div;
  }
  return c;
}

// The JSON header of a run: what ran where, and the memory after loading.
nlohmann::json BenchHeader(const BenchOptions& o, ModelRunner& runner, double load_seconds) {
  nlohmann::json out;
  out["command"] = "bench";
  out["model"] = o.model;
  out["attn"] = AttnModeName(o.cfg.mode);
  out["hosts"] = o.cfg.hosts;
  out["block_size"] = o.block_size;
  out["block_div"] = o.block_div;
  out["anchor_size"] = o.cfg.anchor_size;
  out["ubatch"] = o.cfg.ubatch;
  if (o.cfg.sparse != nullptr) out["sparse_source"] = o.cfg.sparse->source;
  if (o.cfg.mode == AttnMode::kTopkKv) {
    out["topk"] = {{"topk", o.cfg.topk},
                   {"topk_fraction", o.cfg.topk_fraction},
                   {"sink", o.cfg.topk_sink},
                   {"block", o.cfg.topk_block},
                   {"recency", o.cfg.topk_recency}};
  }
  out["threads"] = omp_get_max_threads();
  out["device"] = DeviceName(o.device.device);
  out["compute"] = DTypeName(o.device.compute);
  out["kv_dtype"] = DTypeName(o.device.kv);
  out["precision"] = runner.device_model().precision();
  out["hardware_concurrency"] = std::thread::hardware_concurrency();
  out["query_tokens"] = o.query_len;
  out["decode_tokens"] = o.decode;
  out["repeats"] = o.repeats;
  out["context"] = o.context_kind;
  out["date"] = UtcNow();
  out["model_load_seconds"] = load_seconds;
  // Bytes of the weights in the backend's compute forms (for the CPU: the GEMM form plus the
  // int8/4-bit form decode steps read where the file has one).
  out["weight_bytes"] = runner.device_model().weight_bytes();
  out["rss_after_load_bytes"] = RssBytes();
  const CpuInfo cpu = ReadCpuInfo();
  out["cpu"] = {{"description", cpu.Describe()},
                {"vendor", cpu.vendor},
                {"family", cpu.family},
                {"model", cpu.model},
                {"flags", cpu.flags}};
  out["isolated_hosts"] = o.isolated;
  out["runs"] = nlohmann::json::array();
  std::printf("bench: %s; weights %.1f MiB in their compute form (%s), RSS after load %.1f MiB\n",
              cpu.Describe().c_str(), runner.device_model().weight_bytes() / 1048576.0,
              runner.device_model().precision().c_str(), RssBytes() / 1048576.0);
  return out;
}

// --isolated-hosts: every host's phase 1 alone on all threads, hosts one after another; the
// critical path is the slowest host.
void BenchIsolated(const BenchOptions& o, ModelRunner& runner, const Model& model,
                   nlohmann::json& out) {
  const DistConfig& cfg = o.cfg;
  const int repeats = o.repeats;
  std::printf(
      "starattn bench --isolated-hosts: attn %s, hosts %d, threads %d, repeats %d "
      "(medians; phase 1 only)\n",
      std::string(AttnModeName(cfg.mode)).c_str(), cfg.hosts, omp_get_max_threads(), repeats);
  std::printf("%8s %7s %11s %11s %10s  %s\n", "context", "block", "phase1_s", "prefill_t/s",
              "kv_MiB/h", "per-host phase1_s");
  for (int64_t L_req : o.lengths) {
    const int64_t L = std::min<int64_t>(L_req, model.config().max_positions - 1);
    const DistConfig c = ConfigFor(o, L);
    const auto ctx = SyntheticContext(model, L, o.context_kind, o.seed);
    std::vector<double> crit;
    std::vector<std::vector<double>> per_host(c.hosts);
    int64_t max_kv = 0, max_peak_kv = 0;
    for (int r = 0; r < repeats; ++r) {
      double worst = 0;
      nlohmann::json hosts = nlohmann::json::array();
      for (int h = 0; h < c.hosts; ++h) {
        const HostStats st = runner.Phase1Alone(c, ctx, h);
        worst = std::max(worst, st.phase1_seconds);
        per_host[h].push_back(st.phase1_seconds);
        max_kv = std::max(max_kv, st.kv_bytes);
        max_peak_kv = std::max(max_peak_kv, st.peak_kv_bytes);
        hosts.push_back({{"phase1_seconds", st.phase1_seconds},
                         {"context_tokens", st.context_tokens},
                         {"kv_bytes", st.kv_bytes},
                         {"peak_kv_bytes", st.peak_kv_bytes}});
      }
      crit.push_back(worst);
      out["runs"].push_back({{"length", L_req},
                             {"context_tokens", L},
                             {"block_size", c.block_size},
                             {"repeat", r},
                             {"phase1_critical_seconds", worst},
                             {"per_host", hosts}});
    }
    std::string hosts_col;
    nlohmann::json host_medians = nlohmann::json::array();
    for (const auto& v : per_host) {
      hosts_col += fmt::format(" {:.3f}", Median(v));
      host_medians.push_back(Median(v));
    }
    std::printf("%8lld %7lld %11.3f %11.1f %10.2f %s\n", static_cast<long long>(L),
                static_cast<long long>(c.block_size), Median(crit), L / Median(crit),
                max_kv / 1048576.0, hosts_col.c_str());
    std::fflush(stdout);
    out["summary"].push_back(
        {{"length", L_req},
         {"context_tokens", L},
         {"block_size", c.block_size},
         {"phase1_critical_seconds", Median(crit)},
         {"prefill_tokens_per_second", L / Median(crit)},
         {"per_host_phase1_seconds", host_medians},
         {"max_kv_bytes_per_host", max_kv},
         {"max_peak_kv_bytes_per_host", max_peak_kv},
         {"peak_rss_bytes", PeakRssBytes()},
         // Resident memory against what the run must hold: the weights in
         // their compute form and every host's K/V (in-process hosts share
         // the process).
         {"peak_rss_over_weights_plus_kv",
          static_cast<double>(PeakRssBytes()) /
              static_cast<double>(out["weight_bytes"].get<int64_t>() + max_peak_kv * c.hosts)}});
  }
}

// Every length: prefill, time to first token, decode, memory and attention work, medians over
// the repeats.
void BenchFull(const BenchOptions& o, ModelRunner& runner, const Model& model,
               const std::vector<int32_t>& query, nlohmann::json& out) {
  const int64_t max_pos = model.config().max_positions;
  GenerateOptions opts;
  opts.max_new_tokens = o.decode;
  opts.stop_at_eog = false;
  opts.ubatch = o.cfg.ubatch;
  std::printf(
      "starattn bench: %s, device %s, attn %s, hosts %d, threads %d, query %lld, "
      "decode %lld, repeats %d (medians)\n",
      o.model.c_str(), std::string(DeviceName(o.device.device)).c_str(),
      std::string(AttnModeName(o.cfg.mode)).c_str(), o.cfg.hosts, omp_get_max_threads(),
      static_cast<long long>(o.query_len), static_cast<long long>(o.decode), o.repeats);
  std::printf("%8s %7s %11s %11s %10s %10s %10s %12s %10s %9s %7s %9s %9s\n", "context", "block",
              "phase1_s", "prefill_t/s", "ttft_s", "decode_t/s", "kv_MiB/h", "peak_kv_MiB",
              "rss_MiB", "attn_s", "scores", "read_MiB", "read");
  for (int64_t L_req : o.lengths) {
    // The context is trimmed so that context + query + decode fits the model's positions.
    const int64_t L = std::min<int64_t>(L_req, max_pos - o.query_len - o.decode);
    if (L < 1) Fail("length {}: no room for the context within {} positions", L_req, max_pos);
    const DistConfig c = ConfigFor(o, L);
    ValidateDistConfig(c, L, o.query_len, o.decode, max_pos);
    const auto ctx = SyntheticContext(model, L, o.context_kind, o.seed);
    std::vector<double> p1, p2, dec_tps, pre_tps, attn_s, step_s;
    int64_t max_kv = 0, max_peak_kv = 0;
    double scores_rel = 0, kv_read_per_token = 0, kv_read_rel = 0;
    for (int r = 0; r < o.repeats; ++r) {
      const SampleResult res = runner.RunSample(c, ctx, query, opts, nullptr);
      const int64_t steps = static_cast<int64_t>(res.generation.tokens.size()) - 1;
      const double dec =
          steps > 0 && res.decode_critical_seconds > 0 ? steps / res.decode_critical_seconds : 0.0;
      // Time to first token after the phase-1 critical path (SetCriticalPaths).
      const double ttft = res.phase2_critical_seconds;
      nlohmann::json run;
      run["ttft_seconds"] = ttft;
      run["length"] = L_req;
      run["context_tokens"] = L;
      run["block_size"] = c.block_size;
      run["repeat"] = r;
      run["phase1_critical_seconds"] = res.phase1_critical_seconds;
      run["phase2_critical_seconds"] = res.phase2_critical_seconds;
      run["decode_critical_seconds"] = res.decode_critical_seconds;
      run["prefill_tokens_per_second"] = L / res.phase1_critical_seconds;
      run["generated_tokens"] = res.generation.tokens.size();
      run["decode_steps"] = steps;
      run["decode_tokens_per_second"] = dec;
      run["peak_rss_bytes"] = PeakRssBytes();
      // Attention work against dense attention on the same sample: the prefill's scores, the
      // K/V bytes each decode step read, and the time inside attention (the slowest host).
      int64_t scores = 0, kv_read = 0;
      double prefill_attn = 0, decode_attn = 0;
      nlohmann::json hosts = nlohmann::json::array();
      for (const HostStats& h : res.hosts) {
        hosts.push_back({{"phase1_seconds", h.phase1_seconds},
                         {"phase2_seconds", h.phase2_seconds},
                         {"decode_seconds", h.decode_seconds},
                         {"context_tokens", h.context_tokens},
                         {"kv_bytes", h.kv_bytes},
                         {"peak_kv_bytes", h.peak_kv_bytes},
                         {"prefill_scores", h.prefill_scores},
                         {"decode_kv_bytes", h.decode_kv_bytes},
                         {"prefill_attention_seconds", h.prefill_attention_seconds},
                         {"decode_attention_seconds", h.decode_attention_seconds}});
        max_kv = std::max(max_kv, h.kv_bytes);
        max_peak_kv = std::max(max_peak_kv, h.peak_kv_bytes);
        scores += h.prefill_scores;
        kv_read += h.decode_kv_bytes;
        prefill_attn = std::max(prefill_attn, h.prefill_attention_seconds);
        decode_attn = std::max(decode_attn, h.decode_attention_seconds);
      }
      run["per_host"] = hosts;
      run["prefill_scores"] = scores;
      run["dense_prefill_scores"] = res.dense_prefill_scores;
      run["prefill_scores_over_dense"] =
          res.dense_prefill_scores > 0 ? double(scores) / res.dense_prefill_scores : 0.0;
      run["decode_kv_bytes"] = kv_read;
      run["dense_decode_kv_bytes"] = res.dense_decode_kv_bytes;
      run["decode_kv_bytes_per_token"] = steps > 0 ? double(kv_read) / steps : 0.0;
      run["decode_kv_bytes_over_dense"] =
          res.dense_decode_kv_bytes > 0 ? double(kv_read) / res.dense_decode_kv_bytes : 0.0;
      run["prefill_attention_seconds"] = prefill_attn;
      run["decode_step_seconds"] = steps > 0 ? res.decode_critical_seconds / steps : 0.0;
      scores_rel = run["prefill_scores_over_dense"].get<double>();
      kv_read_per_token = run["decode_kv_bytes_per_token"].get<double>();
      kv_read_rel = run["decode_kv_bytes_over_dense"].get<double>();
      attn_s.push_back(prefill_attn);
      step_s.push_back(run["decode_step_seconds"].get<double>());
      out["runs"].push_back(run);
      p1.push_back(res.phase1_critical_seconds);
      p2.push_back(ttft);
      dec_tps.push_back(dec);
      pre_tps.push_back(L / res.phase1_critical_seconds);
    }
    std::printf(
        "%8lld %7lld %11.3f %11.1f %10.3f %10.2f %10.2f %12.2f %10.1f %9.3f %7.3f %9.3f %9.3f\n",
        static_cast<long long>(L), static_cast<long long>(c.block_size), Median(p1),
        Median(pre_tps), Median(p2), Median(dec_tps), max_kv / 1048576.0, max_peak_kv / 1048576.0,
        PeakRssBytes() / 1048576.0, Median(attn_s), scores_rel, kv_read_per_token / 1048576.0,
        kv_read_rel);
    std::fflush(stdout);
    out["summary"].push_back(
        {{"length", L_req},
         {"context_tokens", L},
         {"block_size", c.block_size},
         {"phase1_critical_seconds", Median(p1)},
         {"prefill_tokens_per_second", Median(pre_tps)},
         {"ttft_seconds", Median(p2)},
         {"decode_tokens_per_second", Median(dec_tps)},
         {"max_kv_bytes_per_host", max_kv},
         {"max_peak_kv_bytes_per_host", max_peak_kv},
         {"peak_rss_bytes", PeakRssBytes()},
         {"prefill_attention_seconds", Median(attn_s)},
         {"prefill_scores_over_dense", scores_rel},
         {"decode_step_seconds", Median(step_s)},
         {"decode_kv_bytes_per_token", kv_read_per_token},
         {"decode_kv_bytes_over_dense", kv_read_rel},
         // Resident memory against what the run must hold: the weights in
         // their compute form and every host's K/V (in-process hosts share
         // the process).
         {"peak_rss_over_weights_plus_kv",
          static_cast<double>(PeakRssBytes()) /
              static_cast<double>(out["weight_bytes"].get<int64_t>() + max_peak_kv * c.hosts)}});
  }
}

int RunBench(const std::vector<std::string>& args) {
  po::options_description desc("bench options");
  desc.add_options()("model,m", po::value<std::string>()->required(),
                     "model: a .gguf file or a HF directory")(
      "block-div", po::value<int64_t>()->default_value(0),
      "star: block size = context length / K (instead of --block-size)")(
      "lengths", po::value<std::vector<int64_t>>()->multitoken()->required(),
      "context lengths in tokens (trimmed to fit the model's positions with query + decode)")(
      "query-tokens", po::value<int64_t>()->default_value(20), "query length in tokens")(
      "decode-tokens", po::value<int64_t>()->default_value(16), "tokens to generate (>= 1)")(
      "repeats", po::value<int>()->default_value(1), "runs per length (the table shows medians)")(
      "warmup", po::value<int>()->default_value(0), "untimed dense runs before the first length")(
      "context", po::value<std::string>()->default_value("random"),
      "synthetic context: random (ordinary token ids) or text (a repeated paragraph)")(
      "ubatch", po::value<int64_t>()->default_value(512), "tokens per forward chunk in phase 1")(
      "seed", po::value<uint32_t>()->default_value(1), "seed of the random context")(
      "isolated-hosts", po::bool_switch(),
      "dense/star: time each host's phase 1 alone on all threads, one host after another (star "
      "phase 1 has no communication, so this is the critical path of H machines like this "
      "one); phase 2 and decoding are not run")("json", po::value<std::string>(),
                                                "write the results as JSON to this file")(
      "threads,t", po::value<int>()->default_value(0), "CPU threads (0 = all cores)");
  AddAttentionOptions(desc);
  AddDeviceOptions(desc);
  po::variables_map vm;
  if (!ParseCommandLine(args, desc, vm,
                        "usage: starattn bench --model M [--device cpu|cuda] --attn MODE "
                        "[--hosts H] [--block-size B | --block-div K] --lengths 1024 4096 ... "
                        "[--decode-tokens N] [--repeats R] [--json FILE] [--threads T]")) {
    return 0;
  }
  ApplyThreadsOption(vm);
  const BenchOptions o = ParseBenchOptions(vm);

  const auto t_load = std::chrono::steady_clock::now();
  auto model = Model::Load(o.model);
  ModelRunner runner(*model, o.device);  // cuda: uploads the weights
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  nlohmann::json out = BenchHeader(o, runner, load_seconds);
  // The query: random ordinary ids too (the content does not matter for timing).
  const std::vector<int32_t> query = SyntheticContext(*model, o.query_len, "random", o.seed + 7);
  for (int w = 0; w < o.warmup && !o.lengths.empty(); ++w) {
    GenerateOptions opts;
    opts.max_new_tokens = o.decode;
    opts.stop_at_eog = false;
    const int64_t L = std::min<int64_t>(
        {o.lengths[0], 1024, model->config().max_positions - o.query_len - o.decode});
    runner.RunSample(DistConfig{}, SyntheticContext(*model, L, o.context_kind, o.seed), query, opts,
                     nullptr);
  }
  if (o.isolated) {
    BenchIsolated(o, runner, *model, out);
  } else {
    BenchFull(o, runner, *model, query, out);
  }
  WriteJson(o.json, out);
  return 0;
}

}  // namespace

std::vector<Command> BenchCommands() {
  return {{"bench", "end-to-end timings per phase on synthetic contexts (table + JSON)", RunBench}};
}

}  // namespace starattn::cli
