#include "harness/lib/simulate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/parse.h"

namespace starattn::sim {
namespace {

// ---- Shapes -------------------------------------------------------------------------------------

// From the models' config.json (Hugging Face): layers, hidden, heads, kv heads, head dim,
// intermediate, vocab, tied.
const ModelShape kBuiltins[] = {
    {"llama-3.1-8b", 32, 4096, 32, 8, 128, 14336, 128256, false},
    {"llama-3.1-70b", 80, 8192, 64, 8, 128, 28672, 128256, false},
    {"llama-3-8b-1048k", 32, 4096, 32, 8, 128, 14336, 128256, false},
    {"smollm2-135m", 30, 576, 9, 3, 64, 1536, 49152, true},
};

// ---- Hardware file ------------------------------------------------------------------------------

class FieldReader {
 public:
  FieldReader(const nlohmann::json& j, std::string source, std::string prefix)
      : j_(j), source_(std::move(source)), prefix_(std::move(prefix)) {}

  const nlohmann::json& Get(const char* key) const {
    if (!j_.contains(key)) Fail("{}: field '{}{}': missing", source_, prefix_, key);
    return j_[key];
  }
  double Number(const char* key) const {
    const auto& v = Get(key);
    if (!v.is_number()) {
      Fail("{}: field '{}{}': must be a number, got {}", source_, prefix_, key, v.dump());
    }
    const double x = v.get<double>();
    if (!std::isfinite(x)) Fail("{}: field '{}{}': must be finite", source_, prefix_, key);
    return x;
  }
  double Positive(const char* key) const {
    const double x = Number(key);
    if (!(x > 0)) Fail("{}: field '{}{}': must be positive, got {}", source_, prefix_, key, x);
    return x;
  }
  double NonNegative(const char* key) const {
    const double x = Number(key);
    if (x < 0) Fail("{}: field '{}{}': must be >= 0, got {}", source_, prefix_, key, x);
    return x;
  }
  double Fraction(const char* key) const {
    const double x = Positive(key);
    if (x > 1) Fail("{}: field '{}{}': must be in (0, 1], got {}", source_, prefix_, key, x);
    return x;
  }
  bool Bool(const char* key) const {
    const auto& v = Get(key);
    if (!v.is_boolean()) {
      Fail("{}: field '{}{}': must be true or false, got {}", source_, prefix_, key, v.dump());
    }
    return v.get<bool>();
  }
  std::string String(const char* key) const {
    const auto& v = Get(key);
    if (!v.is_string() || v.get<std::string>().empty()) {
      Fail("{}: field '{}{}': must be a non-empty string", source_, prefix_, key);
    }
    return v.get<std::string>();
  }

 private:
  const nlohmann::json& j_;
  std::string source_, prefix_;
};

Software ParseSoftware(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) Fail("{}: field 'software': must be an object", source);
  const FieldReader f(j, source, "software.");
  Software s;
  s.name = f.String("name");
  s.weight_bytes = f.Positive("weight_bytes");
  s.kv_bytes = f.Positive("kv_bytes");
  s.activation_bytes = f.Positive("activation_bytes");
  s.logits_all_positions = f.Bool("logits_all_positions");
  s.logits_bytes = f.Positive("logits_bytes");
  s.elementwise_bytes_hidden = f.NonNegative("elementwise_bytes_hidden");
  s.elementwise_bytes_rope = f.NonNegative("elementwise_bytes_rope");
  s.elementwise_bytes_ff = f.NonNegative("elementwise_bytes_ff");
  s.merge_bytes = f.NonNegative("merge_bytes");
  s.op_overhead_s = f.NonNegative("op_overhead_s");
  s.forward_ops = f.NonNegative("forward_ops");
  s.layer_ops = f.NonNegative("layer_ops");
  s.context_layer_ops = f.NonNegative("context_layer_ops");
  s.ring_step_ops = f.NonNegative("ring_step_ops");
  s.phase2_layer_ops = f.NonNegative("phase2_layer_ops");
  s.phase2_host_ops = f.NonNegative("phase2_host_ops");
  s.cache_append_ops = f.NonNegative("cache_append_ops");
  s.pad_context = f.Bool("pad_context");
  s.decode_copies_cache = f.Bool("decode_copies_cache");
  return s;
}

// ---- Cost terms ---------------------------------------------------------------------------------

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

double CausalPairs(double n) { return n * (n + 1) / 2; }

// The constants of one model on one machine.
struct Costs {
  const ModelShape& m;
  const Hardware& hw;
  const Software& sw;
  double layers;
  double flops_token;    // linear FLOPs per token and layer
  double flops_pair;     // attention FLOPs per score pair and layer
  double kv_token;       // K and V bytes per token and layer
  double weights_layer;  // bytes of one layer's weights
  double elem_token;     // elementwise bytes per token and layer
  double head_flops;     // LM head FLOPs per position
  double head_bytes;     // LM head weight bytes
  double out_elems;      // attention output elements per token (heads * head_dim)

  Costs(const ModelShape& shape, const Hardware& h)
      : m(shape),
        hw(h),
        sw(h.software),
        layers(static_cast<double>(shape.n_layers)),
        flops_token(2.0 * static_cast<double>(shape.LinearParamsPerLayer())),
        flops_pair(4.0 * static_cast<double>(shape.n_heads * shape.head_dim)),
        kv_token(2.0 * static_cast<double>(shape.n_kv_heads * shape.head_dim) * sw.kv_bytes),
        weights_layer(static_cast<double>(shape.LinearParamsPerLayer()) * sw.weight_bytes),
        elem_token(sw.elementwise_bytes_hidden * static_cast<double>(shape.d_model) +
                   sw.elementwise_bytes_rope *
                       static_cast<double>((shape.n_heads + shape.n_kv_heads) * shape.head_dim) +
                   sw.elementwise_bytes_ff * static_cast<double>(shape.d_ff)),
        head_flops(2.0 * static_cast<double>(shape.d_model * shape.vocab)),
        head_bytes(static_cast<double>(shape.d_model * shape.vocab) * sw.weight_bytes),
        out_elems(static_cast<double>(shape.n_heads * shape.head_dim)) {}

  double Gemm(double flops) const { return flops / (hw.peak_flops * hw.gemm_efficiency); }
  double Attn(double flops) const { return flops / (hw.peak_flops * hw.attention_efficiency); }
  double Mem(double bytes) const { return bytes / hw.memory_bandwidth; }
  double Ops(double n) const { return n * sw.op_overhead_s; }

  // One layer's linear maps on n tokens: compute, or the weights' bytes when that is longer.
  double Linear(double n) const { return std::max(Gemm(n * flops_token), Mem(weights_layer)); }
  // Attention over `pairs` score pairs reading `kv_tokens` tokens of K/V.
  double Attention(double pairs, double kv_tokens) const {
    return std::max(Attn(pairs * flops_pair), Mem(kv_tokens * kv_token));
  }
  double Elementwise(double n) const { return Mem(n * elem_token); }
  // The LM head on `positions` positions (and the logits written).
  double Head(double positions) const {
    if (positions <= 0) return 0;
    return std::max(Gemm(positions * head_flops), Mem(head_bytes)) +
           Mem(positions * static_cast<double>(m.vocab) * sw.logits_bytes);
  }
  double ContextLogits(double n) const { return sw.logits_all_positions ? n : 0; }
  double QueryLogits(double n) const { return sw.logits_all_positions ? n : 1; }

  // Collectives over `ranks` ranks on a ring of devices (NCCL's model: a base latency plus one
  // hop latency per step, and the bytes each rank forwards over the slowest link).
  bool CrossesNodes(const Deployment& d) const {
    return d.hosts * d.devices_per_host > hw.devices_per_node;
  }
  double HopLatency(const Deployment& d) const {
    return CrossesNodes(d) ? hw.network_latency : hw.link_latency;
  }
  double LinkBandwidth(const Deployment& d) const {
    return CrossesNodes(d) ? hw.network_bandwidth : hw.link_bandwidth;
  }
  double AllGather(const Deployment& d, double bytes_per_rank) const {
    if (d.hosts <= 1) return 0;
    const double steps = static_cast<double>(d.hosts - 1);
    return hw.collective_latency + steps * (HopLatency(d) + bytes_per_rank / LinkBandwidth(d));
  }
  double Barrier(const Deployment& d) const {
    if (d.hosts <= 1) return 0;
    return hw.collective_latency + 2.0 * static_cast<double>(d.hosts - 1) * HopLatency(d);
  }
  double SendRecv(const Deployment& d, double bytes) const {
    return hw.collective_latency + HopLatency(d) + bytes / LinkBandwidth(d);
  }

  // Transient activations of one layer on n tokens (MLP gate/up/act, q/k/v, two hidden copies).
  double LayerActivations(double n) const {
    return n *
           (3.0 * static_cast<double>(m.d_ff) +
            static_cast<double>((m.n_heads + 2 * m.n_kv_heads) * m.head_dim) +
            2.0 * static_cast<double>(m.d_model)) *
           sw.activation_bytes;
  }
  double Logits(double positions) const {
    return positions * static_cast<double>(m.vocab) * sw.logits_bytes;
  }
  double WeightsPerDevice(const Deployment& d) const {
    return static_cast<double>(m.TotalParams()) * sw.weight_bytes /
           static_cast<double>(d.devices_per_host);
  }
  double CachePerDevice(const Deployment& d, double tokens) const {
    return tokens * kv_token * layers / static_cast<double>(d.devices_per_host);
  }
};

// One forward on one host: n new tokens, `pairs` attention score pairs per layer over
// `kv_tokens` tokens of K/V, `ops` host operators per layer, logits at `positions`. A layer takes
// the longer of its device work and its operator launches (launches are asynchronous; the
// reference's per-layer synchronisation only bounds the overlap to one layer); `host` is the
// part of the launches the device work does not hide.
struct Forward {
  double linear = 0, attention = 0, memory = 0, host = 0;
  double total() const { return linear + attention + memory + host; }
  Forward& operator+=(const Forward& o) {
    linear += o.linear;
    attention += o.attention;
    memory += o.memory;
    host += o.host;
    return *this;
  }
};

// One layer's device work split in its three kinds, and the forward built from it.
Forward LayersAndHead(const Costs& c, double linear, double attention, double memory, double ops,
                      double positions) {
  Forward f;
  const double device = linear + attention + memory;
  f.linear = c.layers * linear;
  f.attention = c.layers * attention;
  f.memory = c.layers * memory;
  f.host = c.layers * std::max(0.0, c.Ops(ops) - device) + c.Ops(c.sw.forward_ops);
  if (positions > 0) {
    f.linear += std::max(c.Gemm(positions * c.head_flops), c.Mem(c.head_bytes));
    f.memory += c.Mem(c.Logits(positions));
  }
  return f;
}

Forward ForwardCost(const Costs& c, double n, double pairs, double kv_tokens, double ops,
                    double positions) {
  return LayersAndHead(c, c.Linear(n), c.Attention(pairs, kv_tokens), c.Elementwise(n), ops,
                       positions);
}

void AddPhase1(Result& r, const Forward& f) {
  r.phase1_linear_s = f.linear;
  r.phase1_attention_s = f.attention;
  r.phase1_memory_s = f.memory;
  r.phase1_host_s = f.host;
  r.phase1_s = f.total();
}

// Phase 2 (the query, q tokens) or one decode step (q = 1) of star/ring: every host runs the
// model on the new tokens against the K/V it holds; per layer the hosts all-gather (out, lse),
// wait at a barrier and merge, so a layer takes the slowest host's time plus the collectives.
// kv[h]: tokens host h holds before the step; the last host also attends to and appends the new
// tokens (earlier new tokens are in its kv already).
double Phase2Step(const Costs& c, const Deployment& d, const std::vector<double>& kv, double q) {
  const Software& sw = c.sw;
  const double hosts = static_cast<double>(d.hosts);
  double slowest = 0;
  for (size_t h = 0; h < kv.size(); ++h) {
    const bool last = h + 1 == kv.size();
    const double pairs = q * kv[h] + (last ? CausalPairs(q) : 0);
    const double read = kv[h] + (last ? q : 0);
    double device = c.Linear(q) + c.Attention(pairs, read) + c.Elementwise(q) +
                    c.Mem(hosts * q * c.out_elems * sw.merge_bytes);
    double ops = sw.phase2_layer_ops + hosts * sw.phase2_host_ops;
    if (last) {
      ops += sw.cache_append_ops;
      if (sw.decode_copies_cache) device += c.Mem(2.0 * (kv[h] + q) * c.kv_token);
    }
    slowest = std::max(slowest, std::max(device, c.Ops(ops)));
  }
  const double out_bytes = q * c.out_elems * sw.activation_bytes;
  const double lse_bytes = q * static_cast<double>(c.m.n_heads) * 4.0;
  const double coll = c.AllGather(d, out_bytes) + c.AllGather(d, lse_bytes) + c.Barrier(d);
  return c.layers * (slowest + coll) + c.Ops(sw.forward_ops) + c.Head(c.QueryLogits(q));
}

// Phase 2 and the decode steps for hosts holding kv[h] context tokens.
void AddPhase2AndDecode(const Costs& c, const Deployment& d, std::vector<double> kv,
                        const Workload& w, Result& r) {
  const double q = static_cast<double>(w.query);
  r.phase2_s = Phase2Step(c, d, kv, q);
  kv.back() += q;
  for (int64_t t = 1; t < w.decode; ++t) {
    r.decode_s += Phase2Step(c, d, kv, 1);
    kv.back() += 1;
  }
}

Result SimulateDense(const Costs& c, const Deployment& d, const Workload& w) {
  Result r;
  r.method = Method::kDense;
  r.deployment = d;
  const Software& sw = c.sw;
  const double n = static_cast<double>(w.context + w.query);
  const Forward f =
      ForwardCost(c, n, CausalPairs(n), n, sw.layer_ops, sw.logits_all_positions ? n : 1);
  AddPhase1(r, f);
  r.host_phase1_s = {r.phase1_s};
  double kv = n;
  for (int64_t t = 1; t < w.decode; ++t) {
    double device = c.Linear(1) + c.Attention(kv + 1, kv + 1) + c.Elementwise(1);
    if (sw.decode_copies_cache) device += c.Mem(2.0 * (kv + 1) * c.kv_token);
    r.decode_s +=
        c.layers * std::max(device, c.Ops(sw.layer_ops)) + c.Ops(sw.forward_ops) + c.Head(1);
    kv += 1;
  }
  const double cache = c.CachePerDevice(d, n + static_cast<double>(w.decode));
  const double act = std::max(c.Logits(sw.logits_all_positions ? n : 1), c.LayerActivations(n));
  r.memory_per_device = c.WeightsPerDevice(d) + cache + act;
  return r;
}

Result SimulateRing(const Costs& c, Method method, const Deployment& d, const Workload& w) {
  Result r;
  r.method = method;
  r.deployment = d;
  const Software& sw = c.sw;
  const int64_t hosts = d.hosts;
  const double chunk = static_cast<double>(CeilDiv(w.context, hosts));  // c tokens per host
  const bool zigzag = method == Method::kRingZigzag;
  // Score pairs of the lockstep's slowest host at step 0 (its own chunk) and at every later step.
  double first_pairs, later_pairs;
  if (zigzag) {
    const double u = chunk / 2;  // two half chunks: h and 2H-1-h
    first_pairs = 2 * CausalPairs(u) + u * u;
    later_pairs = 2 * u * u;
  } else {
    first_pairs = CausalPairs(chunk);
    later_pairs = chunk * chunk;
  }
  const double send = c.SendRecv(d, chunk * c.kv_token);  // one layer's K and V of a chunk
  double attention = 0;
  for (int64_t s = 0; s < hosts; ++s) {
    const double compute = c.Attention(s == 0 ? first_pairs : later_pairs, 0);
    // The reference posts step s+1's send/recv before step s's attention: they overlap.
    attention += std::max(compute, s + 1 < hosts ? send : 0.0);
    if (s > 0) attention += c.Mem(chunk * c.out_elems * sw.merge_bytes);
  }
  const double positions = c.ContextLogits(chunk);
  const Forward f = LayersAndHead(
      c, c.Linear(chunk), attention, c.Elementwise(chunk),
      sw.context_layer_ops + static_cast<double>(hosts - 1) * sw.ring_step_ops, positions);
  AddPhase1(r, f);
  r.host_phase1_s.assign(static_cast<size_t>(hosts), r.phase1_s);  // lockstep
  std::vector<double> kv(static_cast<size_t>(hosts), chunk);
  kv.back() = static_cast<double>(w.context) - chunk * static_cast<double>(hosts - 1);
  AddPhase2AndDecode(c, d, kv, w, r);
  const double held = chunk + static_cast<double>(w.query + w.decode);
  const double ring_buffers = chunk * c.kv_token + chunk * c.out_elems * 4.0;  // recv K/V, fp32 out
  const double act =
      std::max(c.Logits(positions > 0 ? positions : 1), c.LayerActivations(chunk) + ring_buffers);
  r.memory_per_device = c.WeightsPerDevice(d) + c.CachePerDevice(d, held) + act;
  return r;
}

Result SimulateStar(const Costs& c, const Deployment& d, const Workload& w) {
  Result r;
  r.method = Method::kStar;
  r.deployment = d;
  const Software& sw = c.sw;
  const int64_t n_blocks = CeilDiv(w.context, w.block);
  const std::vector<int64_t> groups = BlockGroups(n_blocks, d.hosts);
  const double a = static_cast<double>(w.anchor);
  std::vector<double> kv(static_cast<size_t>(d.hosts), 0);
  Forward critical;
  double peak_memory = 0;
  for (int64_t h = 0; h < d.hosts; ++h) {
    Forward host;
    double held = 0, largest_block = 0;
    for (int64_t i = groups[h]; i < groups[h + 1]; ++i) {
      const double len =
          static_cast<double>(std::min(w.block, w.context - i * w.block));  // the block's tokens
      const double computed = sw.pad_context ? static_cast<double>(w.block) : len;
      const double n = computed + (i > 0 ? a : 0);
      host += ForwardCost(c, n, CausalPairs(n), n, sw.context_layer_ops, c.ContextLogits(n));
      held += len;
      largest_block = std::max(largest_block, n);
    }
    kv[h] = held;
    r.host_phase1_s.push_back(host.total());
    if (host.total() > critical.total()) critical = host;
    const bool last = h + 1 == d.hosts;
    const double cache =
        held + largest_block + (last ? static_cast<double>(w.query + w.decode) : 0);
    const double act = std::max(c.Logits(std::max(c.ContextLogits(largest_block), 1.0)),
                                c.LayerActivations(largest_block));
    peak_memory = std::max(peak_memory, c.WeightsPerDevice(d) + c.CachePerDevice(d, cache) + act);
  }
  AddPhase1(r, critical);
  AddPhase2AndDecode(c, d, kv, w, r);
  r.memory_per_device = peak_memory;
  return r;
}

}  // namespace

int64_t ModelShape::LinearParamsPerLayer() const {
  const int64_t q = n_heads * head_dim, kv = n_kv_heads * head_dim;
  return d_model * q + 2 * d_model * kv + q * d_model + 3 * d_model * d_ff;
}

int64_t ModelShape::TotalParams() const {
  return n_layers * LinearParamsPerLayer() + (tied_embeddings ? 1 : 2) * vocab * d_model;
}

std::optional<ModelShape> BuiltinModel(std::string_view name) {
  for (const auto& m : kBuiltins) {
    if (m.name == name) return m;
  }
  return std::nullopt;
}

std::vector<std::string> BuiltinModelNames() {
  std::vector<std::string> out;
  for (const auto& m : kBuiltins) out.push_back(m.name);
  return out;
}

ModelShape ShapeFromConfig(const ModelConfig& c, const std::string& name) {
  return {name,       c.n_layers, c.d_model,    c.n_heads,        c.n_kv_heads,
          c.head_dim, c.d_ff,     c.vocab_size, c.tied_embeddings};
}

Hardware ParseHardware(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) Fail("{}: a hardware file must hold a JSON object", source);
  const FieldReader f(j, source, "");
  Hardware hw;
  hw.source = source;
  hw.raw = j;
  hw.name = f.String("name");
  const auto& sources = f.Get("sources");
  if (!sources.is_array() || sources.empty()) {
    Fail("{}: field 'sources': must be a non-empty list of strings", source);
  }
  for (const auto& s : sources) {
    if (!s.is_string()) Fail("{}: field 'sources': {} is not a string", source, s.dump());
    hw.sources.push_back(s.get<std::string>());
  }
  hw.peak_flops = f.Positive("peak_flops");
  hw.gemm_efficiency = f.Fraction("gemm_efficiency");
  hw.attention_efficiency = f.Fraction("attention_efficiency");
  hw.memory_bandwidth = f.Positive("memory_bandwidth");
  hw.memory_per_device = f.Positive("memory_per_device");
  hw.link_bandwidth = f.Positive("link_bandwidth");
  hw.link_latency = f.Positive("link_latency");
  hw.network_bandwidth = f.Positive("network_bandwidth");
  hw.network_latency = f.Positive("network_latency");
  hw.collective_latency = f.Positive("collective_latency");
  const double per_node = f.Positive("devices_per_node");
  if (per_node != std::floor(per_node)) {
    Fail("{}: field 'devices_per_node': must be a whole number, got {}", source, per_node);
  }
  hw.devices_per_node = static_cast<int64_t>(per_node);
  hw.software = ParseSoftware(f.Get("software"), source);
  return hw;
}

Hardware ReadHardwareFile(const std::string& path) {
  return ParseHardware(ParseJson(ReadFileToString(path), path), path);
}

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kDense:
      return "dense";
    case Method::kRingNaive:
      return "ring (naive)";
    case Method::kRingZigzag:
      return "ring (zigzag)";
    case Method::kStar:
      return "star";
  }
  return "?";
}

std::vector<int64_t> BlockGroups(int64_t n_blocks, int64_t hosts) {
  std::vector<int64_t> bounds(static_cast<size_t>(hosts + 1), 0);
  for (int64_t h = 0; h < hosts; ++h) {
    bounds[h + 1] = bounds[h] + n_blocks / hosts + (h < n_blocks % hosts ? 1 : 0);
  }
  return bounds;
}

void CheckScenario(const ModelShape& m, Method method, const Deployment& d, const Workload& w) {
  if (m.n_layers <= 0 || m.d_model <= 0 || m.n_heads <= 0 || m.n_kv_heads <= 0 || m.head_dim <= 0 ||
      m.d_ff <= 0 || m.vocab <= 0) {
    Fail("model {}: every dimension must be positive", m.name);
  }
  if (d.hosts < 1) Fail("hosts must be positive, got {}", d.hosts);
  if (d.devices_per_host < 1) Fail("devices per host must be positive, got {}", d.devices_per_host);
  if (w.context < 1) Fail("context length must be positive, got {}", w.context);
  if (w.query < 1) Fail("query tokens must be positive, got {}", w.query);
  if (w.decode < 1) Fail("decode tokens must be positive, got {}", w.decode);
  switch (method) {
    case Method::kDense:
      if (d.hosts != 1) Fail("dense runs on one host, got {} hosts", d.hosts);
      break;
    case Method::kRingNaive:
    case Method::kRingZigzag:
      if (w.context < 2 * d.hosts) {
        Fail("ring over {} hosts needs at least {} context tokens, got {}", d.hosts, 2 * d.hosts,
             w.context);
      }
      break;
    case Method::kStar: {
      if (w.block < 1) Fail("block size must be positive, got {}", w.block);
      if (w.block > w.context) {
        Fail("block size {} does not fit the {}-token context", w.block, w.context);
      }
      if (w.anchor < 0 || w.anchor > w.block) {
        Fail("anchor size {} must be in [0, block size {}]", w.anchor, w.block);
      }
      const int64_t n_blocks = CeilDiv(w.context, w.block);
      if (d.hosts > n_blocks) {
        Fail("{} hosts but the {}-token context has only {} blocks of {}", d.hosts, w.context,
             n_blocks, w.block);
      }
      break;
    }
  }
}

Result Simulate(const ModelShape& m, const Hardware& hw, Method method, const Deployment& d,
                const Workload& w) {
  CheckScenario(m, method, d, w);
  const Costs c(m, hw);
  Result r;
  switch (method) {
    case Method::kDense:
      r = SimulateDense(c, d, w);
      break;
    case Method::kRingNaive:
    case Method::kRingZigzag:
      r = SimulateRing(c, method, d, w);
      break;
    case Method::kStar:
      r = SimulateStar(c, d, w);
      break;
  }
  r.fits = r.memory_per_device <= hw.memory_per_device;
  return r;
}

}  // namespace starattn::sim
