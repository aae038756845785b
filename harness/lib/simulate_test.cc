// The cost model's invariants on hand-made hardware (harness/lib/simulate.h): one host equals
// dense, star's phase 1 scales with the blocks a host holds, ring's communication term, memory
// per device, and one-line errors for bad hardware files and impossible scenarios.
#include "harness/lib/simulate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "harness/lib/simulate_table.h"

namespace starattn::sim {
namespace {

// A machine whose only costs are the GEMM and attention FLOPs: no operator overhead, no merge or
// elementwise traffic, and memory and links so fast that their terms vanish next to the FLOPs.
nlohmann::json ComputeOnlyJson() {
  return {
      {"name", "compute only"},
      {"sources", {"test"}},
      {"peak_flops", 1e12},
      {"gemm_efficiency", 0.5},
      {"attention_efficiency", 0.25},
      {"memory_bandwidth", 1e30},
      {"memory_per_device", 80e9},
      {"link_bandwidth", 1e30},
      {"link_latency", 1e-30},
      {"network_bandwidth", 1e30},
      {"network_latency", 1e-30},
      {"collective_latency", 1e-30},
      {"devices_per_node", 8},
      {"software",
       {{"name", "test"},
        {"weight_bytes", 2},
        {"kv_bytes", 2},
        {"activation_bytes", 2},
        {"logits_all_positions", false},
        {"logits_bytes", 4},
        {"elementwise_bytes_hidden", 0},
        {"elementwise_bytes_rope", 0},
        {"elementwise_bytes_ff", 0},
        {"merge_bytes", 0},
        {"op_overhead_s", 0},
        {"forward_ops", 0},
        {"layer_ops", 0},
        {"context_layer_ops", 0},
        {"ring_step_ops", 0},
        {"phase2_layer_ops", 0},
        {"phase2_host_ops", 0},
        {"cache_append_ops", 0},
        {"pad_context", false},
        {"decode_copies_cache", false}}},
  };
}

// Small numbers that are easy to check by hand: per layer 2 * 1,152 = 2,304 linear FLOPs per
// token, 4 * 2 * 4 = 32 attention FLOPs per score pair.
ModelShape TinyModel() { return {"tiny", 2, 16, 2, 1, 4, 16, 100, false}; }

Workload Load(int64_t context, int64_t block, int64_t anchor) {
  Workload w;
  w.context = context;
  w.block = block;
  w.anchor = anchor;
  w.query = 8;
  w.decode = 5;
  return w;
}

void ExpectRelNear(double a, double b, double rel = 1e-9) {
  EXPECT_NEAR(a, b, rel * std::max(std::abs(a), std::abs(b))) << a << " vs " << b;
}

TEST(SimulateTest, TinyModelCountsAreTheFormula) {
  const ModelShape m = TinyModel();
  // q 16x8, k and v 16x4 each, o 8x16, MLP 3 x 16x16.
  EXPECT_EQ(m.LinearParamsPerLayer(), 128 + 128 + 128 + 768);
  EXPECT_EQ(m.TotalParams(), 2 * 1152 + 2 * 100 * 16);
  const ModelShape l8 = *BuiltinModel("llama-3.1-8b");
  EXPECT_EQ(l8.LinearParamsPerLayer(), 218103808);  // 4096 x (4096 + 2 x 1024 + 4096 + 3 x 14336)
  EXPECT_NEAR(static_cast<double>(l8.TotalParams()), 8.03e9, 0.01e9);
  EXPECT_FALSE(BuiltinModel("llama-9").has_value());
}

TEST(SimulateTest, OneHostEqualsDense) {
  const Hardware hw = ParseHardware(ComputeOnlyJson(), "test");
  const ModelShape m = TinyModel();
  const Workload w = Load(4096, 4096, 4096);
  const Deployment one{1, 1};
  const Result dense = Simulate(m, hw, Method::kDense, one, w);
  for (const Method method : {Method::kStar, Method::kRingNaive, Method::kRingZigzag}) {
    SCOPED_TRACE(std::string(MethodName(method)));
    const Result r = Simulate(m, hw, method, one, w);
    // Dense's prefill holds context and query; star/ring split them over phases 1 and 2.
    ExpectRelNear(r.phase1_s + r.phase2_s, dense.phase1_s);
    ExpectRelNear(r.decode_s, dense.decode_s);
    ExpectRelNear(r.total_s(), dense.total_s());
  }
  // Dense's phase 1 by hand: 2 layers x (4104 tokens x 2,560 FLOP at 0.5 TFLOP/s + 4104 x 4105
  // / 2 pairs x 32 FLOP at 0.25 TFLOP/s), plus the last position's LM head (2 x 16 x 100 FLOP).
  const double n = 4104;
  ExpectRelNear(dense.phase1_s,
                2 * (n * 2304 / 0.5e12 + n * (n + 1) / 2 * 32 / 0.25e12) + 3200 / 0.5e12);
}

TEST(SimulateTest, StarPhase1ScalesWithBlocksPerHost) {
  const Hardware hw = ParseHardware(ComputeOnlyJson(), "test");
  const ModelShape m = TinyModel();
  const Workload w = Load(16 * 512, 512, 512);  // 16 blocks of 512, anchors of 512
  auto block_time = [&](double n) {             // one forward of n tokens, causal
    return 2 * (n * 2304 / 0.5e12 + n * (n + 1) / 2 * 32 / 0.25e12);
  };
  for (const int64_t hosts : {1, 2, 4, 8, 16}) {
    SCOPED_TRACE(hosts);
    const Result r = Simulate(m, hw, Method::kStar, {hosts, 1}, w);
    const int64_t per_host = 16 / hosts;
    ASSERT_EQ(r.host_phase1_s.size(), static_cast<size_t>(hosts));
    // Host 0: the first block alone, then anchored blocks; every other host: anchored blocks.
    ExpectRelNear(r.host_phase1_s[0],
                  block_time(512) + static_cast<double>(per_host - 1) * block_time(1024));
    for (int64_t h = 1; h < hosts; ++h) {
      ExpectRelNear(r.host_phase1_s[h], static_cast<double>(per_host) * block_time(1024));
    }
    ExpectRelNear(r.phase1_s, *std::max_element(r.host_phase1_s.begin(), r.host_phase1_s.end()));
  }
  // Uneven split (numpy.array_split): 16 blocks on 3 hosts are 6, 5, 5.
  EXPECT_EQ(BlockGroups(16, 3), (std::vector<int64_t>{0, 6, 11, 16}));
  const Result r3 = Simulate(m, hw, Method::kStar, {3, 1}, w);
  ExpectRelNear(r3.host_phase1_s[0], block_time(512) + 5 * block_time(1024));
  ExpectRelNear(r3.host_phase1_s[2], 5 * block_time(1024));
  // A short last block costs its own tokens (no padding in this software profile).
  const Result short_last = Simulate(m, hw, Method::kStar, {2, 1}, Load(1000, 512, 512));
  ExpectRelNear(short_last.host_phase1_s[1], block_time(512 + 488));
}

TEST(SimulateTest, RingCommunicationTerm) {
  nlohmann::json j = ComputeOnlyJson();
  const ModelShape m = TinyModel();
  const Workload w = Load(4096, 4096, 4096);
  const int64_t hosts = 4;
  const double c = 1024;                        // tokens per host
  const double pair_s = 32 / 0.25e12;           // one score pair, one layer
  const double linear = 2 * c * 2304 / 0.5e12;  // both layers
  const double kv_bytes = c * 2 * 1 * 4 * 2;    // K and V of a chunk, one layer
  {  // Fast links: pure compute. Naive: c(c+1)/2 then 3 steps of c^2; zigzag: 3 steps of c^2 / 2.
    const Hardware hw = ParseHardware(j, "test");
    const Result naive = Simulate(m, hw, Method::kRingNaive, {hosts, 1}, w);
    ExpectRelNear(naive.phase1_s, linear + 2 * (c * (c + 1) / 2 + 3 * c * c) * pair_s);
    const Result zz = Simulate(m, hw, Method::kRingZigzag, {hosts, 1}, w);
    const double u = c / 2;
    ExpectRelNear(zz.phase1_s, linear + 2 * (2 * u * (u + 1) / 2 + u * u + 3 * 2 * u * u) * pair_s);
    EXPECT_LT(zz.phase1_s, naive.phase1_s);
  }
  {  // A slow link: each of the 3 transfers outlasts the step it overlaps with.
    j["link_bandwidth"] = 1e3;
    j["link_latency"] = 1e-3;
    j["collective_latency"] = 2e-3;
    const Hardware hw = ParseHardware(j, "test");
    const Result naive = Simulate(m, hw, Method::kRingNaive, {hosts, 1}, w);
    const double send = 2e-3 + 1e-3 + kv_bytes / 1e3;
    ExpectRelNear(naive.phase1_s, linear + 2 * (3 * send + c * c * pair_s));
    // Crossing nodes moves the transfers to the network's numbers.
    j["devices_per_node"] = 2;
    j["network_bandwidth"] = 5e2;
    j["network_latency"] = 4e-3;
    const Hardware net = ParseHardware(j, "test");
    const Result far = Simulate(m, net, Method::kRingNaive, {hosts, 1}, w);
    const double send_net = 2e-3 + 4e-3 + kv_bytes / 5e2;
    ExpectRelNear(far.phase1_s, linear + 2 * (3 * send_net + c * c * pair_s));
  }
}

TEST(SimulateTest, MemoryPerDevice) {
  const Hardware hw = ParseHardware(ComputeOnlyJson(), "test");
  const ModelShape m = *BuiltinModel("llama-3.1-8b");
  const Workload w = Load(16384, 4096, 4096);
  const double weights = static_cast<double>(m.TotalParams()) * 2;
  const double kv_token = 2.0 * 8 * 128 * 2 * 32;  // K and V, all layers, bf16
  auto layer_act = [&](double n) { return n * (3 * 14336 + 48 * 128 + 2 * 4096) * 2.0; };
  // Dense on 8 devices holding consecutive layers: an eighth of weights and cache each, plus
  // one layer's activations on 16,392 tokens (only the last position's logits).
  const Result dense = Simulate(m, hw, Method::kDense, {1, 8}, w);
  const double n = 16384 + 8;
  ExpectRelNear(dense.memory_per_device, weights / 8 + (n + 5) * kv_token / 8 + layer_act(n));
  EXPECT_TRUE(dense.fits);
  // Star on 4 hosts of 2: the last host holds its block, the transient anchor+block cache, the
  // query and generated tokens.
  const Result star = Simulate(m, hw, Method::kStar, {4, 2}, w);
  ExpectRelNear(star.memory_per_device,
                weights / 2 + (4096 + 8192 + 8 + 5) * kv_token / 2 + layer_act(8192));
  // Fewer devices per host: more memory per device; past the device's memory it does not fit.
  const Result one = Simulate(m, hw, Method::kStar, {4, 1}, w);
  EXPECT_GT(one.memory_per_device, star.memory_per_device);
  nlohmann::json small = ComputeOnlyJson();
  small["memory_per_device"] = 10e9;
  EXPECT_FALSE(Simulate(m, ParseHardware(small, "test"), Method::kStar, {4, 1}, w).fits);
  // The reference's logits for every position dominate dense at 128K: 128K x 128,256 x 6 bytes.
  nlohmann::json ref = ComputeOnlyJson();
  ref["software"]["logits_all_positions"] = true;
  ref["software"]["logits_bytes"] = 6;
  const Result big =
      Simulate(m, ParseHardware(ref, "test"), Method::kDense, {1, 8}, Load(131072, 32768, 32768));
  EXPECT_GT(big.memory_per_device, 131072.0 * 128256 * 6);
}

// One line (testing::ThrowsOneLineError) containing `needle`.
void ExpectOneLineError(const std::function<void()>& fn, const std::string& needle) {
  EXPECT_THAT(fn, testing::ThrowsOneLineError(needle));
}

TEST(SimulateTest, BadHardwareFilesNameTheField) {
  nlohmann::json j = ComputeOnlyJson();
  j.erase("link_bandwidth");
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); },
                     "hw.json: field 'link_bandwidth': missing");
  j = ComputeOnlyJson();
  j["peak_flops"] = -3;
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); }, "field 'peak_flops': must be positive");
  j = ComputeOnlyJson();
  j["memory_bandwidth"] = 0;
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); },
                     "field 'memory_bandwidth': must be positive");
  j = ComputeOnlyJson();
  j["gemm_efficiency"] = 1.5;
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); }, "field 'gemm_efficiency'");
  j = ComputeOnlyJson();
  j["software"].erase("op_overhead_s");
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); }, "field 'software.op_overhead_s'");
  j = ComputeOnlyJson();
  j["software"]["layer_ops"] = -1;
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); }, "field 'software.layer_ops'");
  j = ComputeOnlyJson();
  j["link_latency"] = "fast";
  ExpectOneLineError([&] { ParseHardware(j, "hw.json"); },
                     "field 'link_latency': must be a number");
  ExpectOneLineError([&] { ReadHardwareFile("/nonexistent/hw.json"); }, "/nonexistent/hw.json");
}

TEST(SimulateTest, ImpossibleScenariosNameTheProblem) {
  const Hardware hw = ParseHardware(ComputeOnlyJson(), "test");
  const ModelShape m = TinyModel();
  ExpectOneLineError(
      [&] {
        Simulate(m, hw, Method::kStar, {2, 1}, Load(1000, 2000, 2000));
      },
      "block size 2000 does not fit the 1000-token context");
  ExpectOneLineError(
      [&] {
        Simulate(m, hw, Method::kStar, {2, 1}, Load(1000, 100, 200));
      },
      "anchor size 200");
  ExpectOneLineError(
      [&] {
        Simulate(m, hw, Method::kStar, {8, 1}, Load(1000, 250, 250));
      },
      "8 hosts but the 1000-token context has only 4 blocks");
  ExpectOneLineError(
      [&] {
        Simulate(m, hw, Method::kDense, {2, 1}, Load(1000, 250, 250));
      },
      "dense runs on one host");
  ExpectOneLineError(
      [&] {
        Simulate(m, hw, Method::kRingNaive, {8, 1}, Load(10, 5, 5));
      },
      "at least 16 context tokens");
}

TEST(SimulateTableTest, SizesAndLengths) {
  EXPECT_EQ(ParseTokens("16k", "--lengths"), 16384);
  EXPECT_EQ(ParseTokens("1M", "--lengths"), 1048576);
  EXPECT_EQ(ParseTokens("8190", "--lengths"), 8190);
  ExpectOneLineError([] { ParseTokens("16q", "--lengths"); }, "--lengths: '16q' is not a length");
  ExpectOneLineError([] { ParseTokens("0", "--lengths"); }, "--lengths: 0 is out of range [1,");
  ExpectOneLineError([] { ParseTokens("99999999999999999k", "--lengths"); },
                     "--lengths: 99999999999999999k is out of range");
  EXPECT_EQ(ParseSize("L/4", "--block", false).At(16384, 0), 4096);
  EXPECT_EQ(ParseSize("32k", "--block", false).At(1048576, 0), 32768);
  EXPECT_EQ(ParseSize("block", "--anchor", true).At(16384, 4096), 4096);
  EXPECT_EQ(ParseSize("0", "--anchor", true).At(16384, 4096), 0);
  ExpectOneLineError([] { ParseSize("block", "--block", false); },
                     "--block: 'block' is not a length");
  ExpectOneLineError([] { ParseSize("L/0", "--block", false); },
                     "--block (L/k): 0 must be positive");
  ExpectOneLineError([] { ParseSize("L/99999999999999999999", "--block", false); },
                     "--block (L/k): 99999999999999999999 is out of range");
}

TEST(SimulateTableTest, RequestRendersEveryMethodAndEchoesInputs) {
  Request req;
  req.model = TinyModel();
  req.model_source = "test";
  req.hardware = ParseHardware(ComputeOnlyJson(), "hw.json");
  req.lengths = {4096, 8192};
  req.star = req.ring = {2, 1};
  req.dense = {1, 2};
  req.block = ParseSize("L/4", "--block", false);
  req.anchor = ParseSize("block", "--anchor", true);
  req.query_tokens = 8;
  req.decode_tokens = 5;
  const std::vector<Row> rows = RunRequest(req);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].workload.block, 2048);
  const std::string md = RenderMarkdown(req, rows);
  for (const char* s :
       {"peak_flops 1e+12", "gemm_efficiency 0.5", "block L/4, anchor block", "| 8K | 2K | 2048 |",
        "ring (zigzag)", "star 2 x 1, ring 2 x 1, dense 1 x 2", "- test"}) {
    EXPECT_NE(md.find(s), std::string::npos) << s << "\n" << md;
  }
  const nlohmann::json j = ToJson(req, rows);
  EXPECT_EQ(j["rows"][1]["star"]["hosts"], 2);
  EXPECT_DOUBLE_EQ(j["rows"][0]["star"]["total_s"].get<double>(), rows[0].star.total_s());
  req.lengths = {4096, 100};  // a 512-token block does not fit 100 tokens
  req.block = ParseSize("512", "--block", false);
  ExpectOneLineError([&] { RunRequest(req); }, "at context length 100");
}

}  // namespace
}  // namespace starattn::sim
