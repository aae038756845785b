// `starattn simulate`: a cost model of dense attention, ring attention (the reference's naive
// ring and a zigzag-balanced ring) and Star Attention over H hosts of g devices each, for a
// model shape and a machine described in a JSON file (tasks/hardware/*.json).
//
// Every time is a sum of terms of four kinds, each with its own constant from the hardware file:
//   GEMMs        FLOPs / (peak_flops * gemm_efficiency), at least the weights' bytes / bandwidth
//   attention    2 * 2 * heads * head_dim FLOPs per score pair / (peak * attention_efficiency),
//                at least the K/V bytes read / bandwidth (decode)
//   memory       elementwise traffic, logits, merges and cache copies: bytes / memory_bandwidth
//   host         framework operators launched per layer * op_overhead_s (0 for our CPU engine,
//                whose per-token costs are inside its measured efficiencies); a layer takes
//                the longer of its launches and its device work
// plus communication: latency + bytes / link bandwidth (NVLink inside a node, the network
// between nodes), with NCCL's ring latency model for collectives.
//
// The devices of one host hold consecutive layers (the reference's device_map="auto"): they add
// memory, not speed. Phases (per sample):
//   phase 1  the context: dense prefills context + query in one forward; ring runs the context's
//            chunks with K/V passed around the ring (naive: each host idles on the causal steps it
//            skips and the lockstep takes the slowest host's c^2 per step; zigzag: every step is
//            c^2 / 2 on every host); star encodes each host's blocks, every block after the first
//            prefixed by the anchor, no communication.
//   phase 2  the query on every host, with per-layer all-gathers of (out, lse) and a merge (ring
//            decodes with star's phase 2, as the reference does).
//   decode   decode_tokens - 1 single-token steps (the query's forward gives the first token).
// See results/simulate/README.md for the assumptions and the comparison with the paper.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/config.h"

namespace starattn::sim {

// ---- Model shape --------------------------------------------------------------------------------
struct ModelShape {
  std::string name;
  int64_t n_layers = 0;
  int64_t d_model = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t d_ff = 0;
  int64_t vocab = 0;
  bool tied_embeddings = false;

  // Weights of one decoder layer's linear maps: q, k, v, o and the three MLP matrices.
  int64_t LinearParamsPerLayer() const;
  // Weights of the whole model (layers, embedding, untied head), norms excluded.
  int64_t TotalParams() const;
};

// Built-in shapes (from the models' config.json): "llama-3.1-8b", "llama-3.1-70b",
// "llama-3-8b-1048k" (Gradient's 1M-context Llama-3-8B: the 8B shape), "smollm2-135m".
std::optional<ModelShape> BuiltinModel(std::string_view name);
std::vector<std::string> BuiltinModelNames();
ModelShape ShapeFromConfig(const ModelConfig& c, const std::string& name);

// ---- Hardware and software ----------------------------------------------------------------------
// What the implementation does beyond the model's FLOPs (see tasks/hardware/*.json for the
// sources of every number).
struct Software {
  std::string name;
  double weight_bytes = 2;            // bytes per weight
  double kv_bytes = 2;                // bytes per K or V element
  double activation_bytes = 2;        // bytes per activation element (phase 2's gathered outputs)
  bool logits_all_positions = false;  // the LM head runs on every position of a forward
  double logits_bytes = 0;            // bytes written per logit entry
  // Elementwise traffic per token and layer, in bytes per element of d_model, of the rotated q
  // and k ((heads + kv_heads) * head_dim) and of d_ff.
  double elementwise_bytes_hidden = 0;
  double elementwise_bytes_rope = 0;
  double elementwise_bytes_ff = 0;
  double merge_bytes = 0;  // bytes per output element for each merge of an (out, lse) state
  // Host-side operator launches, op_overhead_s each; a layer takes the longer of its launches
  // and its device work.
  double op_overhead_s = 0;
  double forward_ops = 0;            // per forward, outside the layers
  double layer_ops = 0;              // per layer, dense forward (cache append included)
  double context_layer_ops = 0;      // per layer, star/ring phase-1 forward
  double ring_step_ops = 0;          // per layer and ring step after the first
  double phase2_layer_ops = 0;       // per layer, star phase-2 forward, without the merges
  double phase2_host_ops = 0;        // per layer and host merged in phase 2
  double cache_append_ops = 0;       // per layer, on a host that appends to its cache in phase 2
  bool pad_context = false;          // the context is padded to whole blocks (star) / chunks (ring)
  bool decode_copies_cache = false;  // appending a token copies the host's whole cache
};

struct Hardware {
  std::string name;
  std::string source;  // the file
  std::vector<std::string> sources;
  double peak_flops = 0;            // per device, in the compute type (bf16 tensor / fp32 FMA)
  double gemm_efficiency = 0;       // (0, 1]
  double attention_efficiency = 0;  // (0, 1]
  double memory_bandwidth = 0;      // bytes/s per device
  double memory_per_device = 0;     // bytes
  double link_bandwidth = 0;        // bytes/s per device and direction inside a node
  double link_latency = 0;          // s per hop inside a node
  double network_bandwidth = 0;     // bytes/s per device and direction between nodes
  double network_latency = 0;       // s per hop between nodes
  double collective_latency = 0;    // s: the base latency of one collective or send/recv
  int64_t devices_per_node = 0;
  Software software;
  nlohmann::json raw;
};

// Throws Error "<source>: field '<name>': <problem>" (one line) on a missing field, a wrong type,
// a non-positive hardware number or an efficiency above 1.
Hardware ParseHardware(const nlohmann::json& j, const std::string& source);
Hardware ReadHardwareFile(const std::string& path);

// ---- Scenarios ----------------------------------------------------------------------------------
enum class Method { kDense, kRingNaive, kRingZigzag, kStar };
std::string_view MethodName(Method m);

struct Deployment {
  int64_t hosts = 1;
  int64_t devices_per_host = 1;
};

struct Workload {
  int64_t context = 0;  // L, tokens
  int64_t block = 0;    // star block size b
  int64_t anchor = 0;   // star anchor size a (0: no anchor)
  int64_t query = 0;    // query tokens
  int64_t decode = 0;   // generated tokens
};

struct Result {
  Method method = Method::kDense;
  Deployment deployment;
  double phase1_s = 0;  // critical path (dense: the prefill of context + query)
  double phase2_s = 0;  // the query's forward on every host, to the first token
  double decode_s = 0;  // the other decode_tokens - 1 steps
  double total_s() const { return phase1_s + phase2_s + decode_s; }
  std::vector<double> host_phase1_s;  // per host
  // Phase 1's critical path split: linear layers, attention (with ring's communication waits),
  // elementwise and logits traffic, and the operator launches the device work does not hide.
  double phase1_linear_s = 0, phase1_attention_s = 0, phase1_memory_s = 0, phase1_host_s = 0;
  double memory_per_device = 0;  // bytes at the peak, on the fullest device
  bool fits = true;              // memory_per_device <= the device's memory
};

// Throws Error naming the input when the scenario is impossible (block larger than the context,
// anchor larger than the block, more hosts than blocks, non-positive sizes).
void CheckScenario(const ModelShape& m, Method method, const Deployment& d, const Workload& w);
Result Simulate(const ModelShape& m, const Hardware& hw, Method method, const Deployment& d,
                const Workload& w);

// Star's blocks per host (numpy.array_split: the first n % H hosts get one more), as
// [H + 1] block boundaries.
std::vector<int64_t> BlockGroups(int64_t n_blocks, int64_t hosts);

}  // namespace starattn::sim
