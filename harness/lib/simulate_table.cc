#include "harness/lib/simulate_table.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/common/error.h"
#include "engine/common/parse.h"

namespace starattn::sim {
namespace {

std::string Seconds(double s) {
  if (s >= 100) return fmt::format("{:.1f}", s);
  if (s >= 1) return fmt::format("{:.2f}", s);
  return fmt::format("{:.3f}", s);
}

std::string GiB(double bytes) { return fmt::format("{:.1f}", bytes / (1024.0 * 1024 * 1024)); }

std::string TokensText(int64_t n) {
  if (n % (1024 * 1024) == 0) return fmt::format("{}M", n / (1024 * 1024));
  if (n % 1024 == 0) return fmt::format("{}K", n / 1024);
  return std::to_string(n);
}

std::string Total(const Result& r) {
  return r.fits ? Seconds(r.total_s()) : fmt::format("OOM ({} GiB)", GiB(r.memory_per_device));
}

std::string Speedup(const Result& base, const Result& r) {
  if (!base.fits || !r.fits) return "-";
  return fmt::format("{:.2f}x", base.total_s() / r.total_s());
}

std::string DeploymentText(const Deployment& d) {
  return fmt::format("{} x {}", d.hosts, d.devices_per_host);
}

std::string HostTimes(const Result& r) {
  if (r.host_phase1_s.size() <= 1) return "-";
  const auto [lo, hi] = std::minmax_element(r.host_phase1_s.begin(), r.host_phase1_s.end());
  if (*lo == *hi) return fmt::format("{} (all)", Seconds(*lo));
  if (r.host_phase1_s.size() > 8) return fmt::format("{} .. {}", Seconds(*lo), Seconds(*hi));
  std::string out;
  for (const double t : r.host_phase1_s) out += (out.empty() ? "" : " / ") + Seconds(t);
  return out;
}

nlohmann::json ResultJson(const Result& r) {
  return {{"method", std::string(MethodName(r.method))},
          {"hosts", r.deployment.hosts},
          {"devices_per_host", r.deployment.devices_per_host},
          {"phase1_s", r.phase1_s},
          {"phase2_s", r.phase2_s},
          {"decode_s", r.decode_s},
          {"total_s", r.total_s()},
          {"host_phase1_s", r.host_phase1_s},
          {"phase1_linear_s", r.phase1_linear_s},
          {"phase1_attention_s", r.phase1_attention_s},
          {"phase1_memory_s", r.phase1_memory_s},
          {"phase1_host_s", r.phase1_host_s},
          {"memory_per_device_bytes", r.memory_per_device},
          {"fits", r.fits}};
}

}  // namespace

int64_t SizeSpec::At(int64_t context, int64_t block) const {
  if (same_as_block) return block;
  if (div > 0) return context / div;
  return tokens;
}

std::string SizeSpec::Text() const {
  if (same_as_block) return "block";
  if (div > 0) return fmt::format("L/{}", div);
  return std::to_string(tokens);
}

int64_t ParseTokens(const std::string& text, const std::string& option) {
  // RULER's rule (16k = 16384 tokens), as the paper's tables count.
  return ParseLength(text, option, LengthRule::kRuler);
}

SizeSpec ParseSize(const std::string& text, const std::string& option, bool allow_block) {
  SizeSpec s;
  if (allow_block && text == "block") {
    s.same_as_block = true;
    return s;
  }
  if (text.size() > 2 && (text[0] == 'L' || text[0] == 'l') && text[1] == '/') {
    s.div = ParseInt(text.substr(2), option + " (L/k)", 1);
    return s;
  }
  if (allow_block && text == "0") return s;  // no anchor
  s.tokens = ParseTokens(text, option);
  return s;
}

std::vector<Row> RunRequest(const Request& req) {
  if (req.lengths.empty()) Fail("--lengths: give at least one context length");
  std::vector<Row> rows;
  for (const int64_t length : req.lengths) {
    Row row;
    Workload& w = row.workload;
    w.context = length;
    w.block = req.block.At(length, 0);
    w.anchor = req.anchor.At(length, w.block);
    w.query = req.query_tokens;
    w.decode = req.decode_tokens;
    try {
      CheckScenario(req.model, Method::kDense, req.dense, w);
      CheckScenario(req.model, Method::kRingNaive, req.ring, w);
      CheckScenario(req.model, Method::kStar, req.star, w);
    } catch (const Error& e) {
      Fail("at context length {} (block {}, anchor {}): {}", length, req.block.Text(),
           req.anchor.Text(), e.what());
    }
    row.dense = Simulate(req.model, req.hardware, Method::kDense, req.dense, w);
    row.ring_naive = Simulate(req.model, req.hardware, Method::kRingNaive, req.ring, w);
    row.ring_zigzag = Simulate(req.model, req.hardware, Method::kRingZigzag, req.ring, w);
    row.star = Simulate(req.model, req.hardware, Method::kStar, req.star, w);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string RenderMarkdown(const Request& req, const std::vector<Row>& rows) {
  const ModelShape& m = req.model;
  const Hardware& hw = req.hardware;
  const Software& sw = hw.software;
  std::string md = fmt::format("# Star Attention cost model: {} on {}\n\n", m.name, hw.name);
  md +=
      "Times per sample from the inputs below (harness/lib/simulate.h states the model); no "
      "constant is fitted to a result.\n\n## Inputs\n\n";
  md += fmt::format(
      "- Model `{}` ({}): {} layers, d_model {}, {} heads, {} KV heads, head dim {}, d_ff {}, "
      "vocab {}, {} embeddings; {} linear weights per layer, {} weights in all.\n",
      m.name, req.model_source, m.n_layers, m.d_model, m.n_heads, m.n_kv_heads, m.head_dim, m.d_ff,
      m.vocab, m.tied_embeddings ? "tied" : "untied", m.LinearParamsPerLayer(),
      m.TotalParams() >= 1000000000
          ? fmt::format("{:.2f} B", static_cast<double>(m.TotalParams()) * 1e-9)
          : fmt::format("{:.2f} M", static_cast<double>(m.TotalParams()) * 1e-6));
  md += fmt::format("- Hardware `{}`: {}\n", hw.source, hw.name);
  md += fmt::format(
      "  - peak_flops {:.4g} FLOP/s, gemm_efficiency {}, attention_efficiency {}, "
      "memory_bandwidth {:.4g} B/s, memory_per_device {:.4g} B\n",
      hw.peak_flops, hw.gemm_efficiency, hw.attention_efficiency, hw.memory_bandwidth,
      hw.memory_per_device);
  md += fmt::format(
      "  - link_bandwidth {:.4g} B/s, link_latency {:.3g} s, network_bandwidth {:.4g} B/s, "
      "network_latency {:.3g} s, collective_latency {:.3g} s, devices_per_node {}\n",
      hw.link_bandwidth, hw.link_latency, hw.network_bandwidth, hw.network_latency,
      hw.collective_latency, hw.devices_per_node);
  md += fmt::format("  - software: {}\n", sw.name);
  md += fmt::format(
      "  - weight_bytes {}, kv_bytes {}, activation_bytes {}, logits_all_positions {}, "
      "logits_bytes {}, elementwise_bytes hidden/rope/ff {}/{}/{}, merge_bytes {}\n",
      sw.weight_bytes, sw.kv_bytes, sw.activation_bytes, sw.logits_all_positions, sw.logits_bytes,
      sw.elementwise_bytes_hidden, sw.elementwise_bytes_rope, sw.elementwise_bytes_ff,
      sw.merge_bytes);
  md += fmt::format(
      "  - op_overhead_s {:.3g}; operators: forward {}, layer {}, context layer {}, ring step "
      "{}, phase-2 layer {}, phase-2 per host {}, cache append {}; pad_context {}, "
      "decode_copies_cache {}\n",
      sw.op_overhead_s, sw.forward_ops, sw.layer_ops, sw.context_layer_ops, sw.ring_step_ops,
      sw.phase2_layer_ops, sw.phase2_host_ops, sw.cache_append_ops, sw.pad_context,
      sw.decode_copies_cache);
  md += "  - sources:\n";
  for (const auto& s : hw.sources) md += "    - " + s + "\n";
  md += fmt::format(
      "- Deployment (hosts x devices per host, a host's devices holding consecutive layers): "
      "star {}, ring {}, dense {}\n",
      DeploymentText(req.star), DeploymentText(req.ring), DeploymentText(req.dense));
  md += fmt::format(
      "- Workload: block {}, anchor {}, {} query tokens, {} generated tokens (the query's "
      "forward and {} single-token steps)\n",
      req.block.Text(), req.anchor.Text(), req.query_tokens, req.decode_tokens,
      req.decode_tokens - 1);

  md += "\n## Speedup of star (the paper's Table 1 layout; time per sample)\n\n";
  md +=
      "| L | block | anchor | dense s | ring (naive) s | ring (zigzag) s | star s | "
      "star vs ring (naive) | star vs ring (zigzag) | star vs dense |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& r : rows) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                      TokensText(r.workload.context), TokensText(r.workload.block),
                      r.workload.anchor, Total(r.dense), Total(r.ring_naive), Total(r.ring_zigzag),
                      Total(r.star), Speedup(r.ring_naive, r.star), Speedup(r.ring_zigzag, r.star),
                      Speedup(r.dense, r.star));
  }
  md += "\n## Time per phase and memory per device\n\n";
  md +=
      "| L | method | hosts x devices | phase 1 s | phase 2 s | decode s | total s | phase 1 "
      "linear / attention / memory / host s | phase 1 per host s | memory per device GiB | "
      "fits |\n"
      "|---|---|---|---:|---:|---:|---:|---|---|---:|---|\n";
  for (const Row& r : rows) {
    for (const Result* x : {&r.dense, &r.ring_naive, &r.ring_zigzag, &r.star}) {
      md += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} | {} / {} / {} / {} | {} | {} | {} |\n",
          TokensText(r.workload.context), MethodName(x->method), DeploymentText(x->deployment),
          Seconds(x->phase1_s), x->method == Method::kDense ? "-" : Seconds(x->phase2_s),
          Seconds(x->decode_s), Seconds(x->total_s()), Seconds(x->phase1_linear_s),
          Seconds(x->phase1_attention_s), Seconds(x->phase1_memory_s), Seconds(x->phase1_host_s),
          HostTimes(*x), GiB(x->memory_per_device), x->fits ? "yes" : "no (OOM)");
    }
  }
  md +=
      "\nDense's phase 1 is its whole prompt (context and query) in one forward. Phase 1 per "
      "host: star's hosts run their blocks independently; ring's run in lockstep.\n";
  return md;
}

nlohmann::json ToJson(const Request& req, const std::vector<Row>& rows) {
  const ModelShape& m = req.model;
  nlohmann::json j;
  j["model"] = {{"name", m.name},         {"source", req.model_source},
                {"n_layers", m.n_layers}, {"d_model", m.d_model},
                {"n_heads", m.n_heads},   {"n_kv_heads", m.n_kv_heads},
                {"head_dim", m.head_dim}, {"d_ff", m.d_ff},
                {"vocab", m.vocab},       {"tied_embeddings", m.tied_embeddings}};
  j["hardware_file"] = req.hardware.source;
  j["hardware"] = req.hardware.raw;
  auto dep = [](const Deployment& d) {
    return nlohmann::json{{"hosts", d.hosts}, {"devices_per_host", d.devices_per_host}};
  };
  j["deployment"] = {{"star", dep(req.star)}, {"ring", dep(req.ring)}, {"dense", dep(req.dense)}};
  j["workload"] = {{"block", req.block.Text()},
                   {"anchor", req.anchor.Text()},
                   {"query_tokens", req.query_tokens},
                   {"decode_tokens", req.decode_tokens}};
  j["rows"] = nlohmann::json::array();
  for (const Row& r : rows) {
    j["rows"].push_back({{"context", r.workload.context},
                         {"block", r.workload.block},
                         {"anchor", r.workload.anchor},
                         {"dense", ResultJson(r.dense)},
                         {"ring_naive", ResultJson(r.ring_naive)},
                         {"ring_zigzag", ResultJson(r.ring_zigzag)},
                         {"star", ResultJson(r.star)}});
  }
  return j;
}

}  // namespace starattn::sim
