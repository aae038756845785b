// The phase driver, written once over the Backend and Communicator interfaces, tested on the CPU
// backend and on a fake backend that records every call (and forwards it to the CPU backend, so
// the numbers stay real). The tiny random model keeps these fast; the default-model tests are in
// distributed_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "engine/model/distributed.h"
#include "engine/model/model_testing.h"

namespace starattn {
namespace {

using testing::FixturePath;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

const Model& Tiny() {
  static std::unique_ptr<Model> m = Model::Load(FixturePath("tiny/llama-tied/model.gguf"));
  return *m;
}

// What one host did, in order: "Alloc <bytes> <what>", "Attention <n_q>x<n_kv> ...",
// "MergeStates <n_states>", "AllGather <bytes>", "SendRecv <bytes>", "Broadcast", ...
using Log = std::vector<std::string>;

int Count(const Log& log, const std::string& prefix) {
  return static_cast<int>(std::count_if(
      log.begin(), log.end(), [&](const std::string& e) { return e.rfind(prefix, 0) == 0; }));
}
// Index of the first entry with `prefix`, or log.size().
size_t First(const Log& log, const std::string& prefix) {
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].rfind(prefix, 0) == 0) return i;
  }
  return log.size();
}

// Records every call, then forwards it to a real backend.
class RecordingBackend : public Backend {
 public:
  RecordingBackend(std::unique_ptr<Backend> inner, Log* log)
      : inner_(std::move(inner)), log_(log) {}
  std::string_view name() const override { return "recording"; }
  const Model& model() const override { return inner_->model(); }
  DType act_dtype() const override { return inner_->act_dtype(); }
  DType kv_dtype() const override { return inner_->kv_dtype(); }
  Buffer Alloc(int64_t bytes, std::string_view what) override {
    log_->push_back(fmt::format("Alloc {} {}", bytes, what));
    Buffer b = inner_->Alloc(bytes, what);
    const int64_t n = b.bytes();
    return Buffer(this, b.Detach(), n);
  }
  void Free(void* p) override { inner_->Free(p); }
  void Copy(void* dst, const void* src, int64_t bytes) override {
    log_->push_back(fmt::format("Copy {}", bytes));
    inner_->Copy(dst, src, bytes);
  }
  void Copy2D(void* dst, int64_t dp, const void* src, int64_t sp, int64_t w, int64_t r) override {
    log_->push_back(fmt::format("Copy2D {}x{}", r, w));
    inner_->Copy2D(dst, dp, src, sp, w, r);
  }
  void Upload(void* dst, const void* src, int64_t bytes) override {
    inner_->Upload(dst, src, bytes);
  }
  void Download(void* dst, const void* src, int64_t bytes) override {
    log_->push_back(fmt::format("Download {}", bytes));
    inner_->Download(dst, src, bytes);
  }
  void Synchronize() override {
    log_->push_back("Synchronize");
    inner_->Synchronize();
  }
  void Convert(const void* src, DType from, void* dst, DType to, int64_t n) override {
    inner_->Convert(src, from, dst, to, n);
  }
  void Fill(float* dst, int64_t n, float value) override { inner_->Fill(dst, n, value); }
  void Embed(const int32_t* tokens, int64_t n, float* x) override {
    log_->push_back(fmt::format("Embed {}", n));
    inner_->Embed(tokens, n, x);
  }
  void RmsNorm(const float* x, int64_t layer, NormId which, int64_t n, void* y) override {
    inner_->RmsNorm(x, layer, which, n, y);
  }
  void Linear(const void* x, int64_t n, int64_t layer, MatrixId which, float* y) override {
    inner_->Linear(x, n, layer, which, y);
  }
  void Rope(float* x, int64_t n, int64_t heads, const int32_t* positions) override {
    inner_->Rope(x, n, heads, positions);
  }
  void SwiGlu(const float* g, const float* u, int64_t n, void* out) override {
    inner_->SwiGlu(g, u, n, out);
  }
  void Add(float* x, const float* y, int64_t n) override { inner_->Add(x, y, n); }
  int32_t Argmax(const float* x, int64_t n) override { return inner_->Argmax(x, n); }
  void Attention(const void* q, const void* k, const void* v, const AttnShape& s, const AttnMask& m,
                 float scale, void* out, float* lse) override {
    log_->push_back(fmt::format("Attention {}x{} causal={} q_offset={} k_offset={}", s.n_q, s.n_kv,
                                m.causal, m.q_offset, m.k_offset));
    inner_->Attention(q, k, v, s, m, scale, out, lse);
  }
  void SparseAttention(const void* q, const void* k, const void* v, const AttnShape& s,
                       const AttnMask& m, const SparseMask& sparse, float scale, void* out,
                       float* lse, int64_t* scores) override {
    log_->push_back(fmt::format("SparseAttention {}x{} causal={} q_offset={}", s.n_q, s.n_kv,
                                m.causal, m.q_offset));
    inner_->SparseAttention(q, k, v, s, m, sparse, scale, out, lse, scores);
  }
  void TopkKvAttention(const void* q, const void* k, const void* v, const AttnShape& s,
                       const AttnMask& m, int64_t sink, int64_t block, int64_t n_blocks,
                       const float* kmin, const float* kmax, int64_t top_k, float scale, void* out,
                       float* lse, int64_t* bytes) override {
    log_->push_back(fmt::format("TopkKvAttention {}x{} sink={} blocks={} top_k={}", s.n_q, s.n_kv,
                                sink, n_blocks, top_k));
    inner_->TopkKvAttention(q, k, v, s, m, sink, block, n_blocks, kmin, kmax, top_k, scale, out,
                            lse, bytes);
  }
  void KeyMinMax(const void* k, int64_t n_rows, float* kmin, float* kmax) override {
    log_->push_back(fmt::format("KeyMinMax {}", n_rows));
    inner_->KeyMinMax(k, n_rows, kmin, kmax);
  }
  void MergeStates(const void* outs, const float* lses, int64_t n_states, int64_t rows, int64_t dim,
                   void* out, float* lse) override {
    log_->push_back(fmt::format("MergeStates {}", n_states));
    inner_->MergeStates(outs, lses, n_states, rows, dim, out, lse);
  }

 private:
  std::unique_ptr<Backend> inner_;
  Log* log_;
};

// Records every call of a host's communicator, then forwards it.
class RecordingCommunicator : public CommunicatorView {
 public:
  RecordingCommunicator(Communicator& c, Log* log, std::string tag)
      : CommunicatorView(c), log_(log), tag_(std::move(tag)) {}
  void AllGather(const void* send, size_t bytes, void* recv) override {
    log_->push_back(fmt::format("{}AllGather {}", tag_, bytes));
    CommunicatorView::AllGather(send, bytes, recv);
  }
  void Broadcast(void* buf, size_t bytes, int root) override {
    log_->push_back(fmt::format("{}Broadcast {}", tag_, bytes));
    CommunicatorView::Broadcast(buf, bytes, root);
  }
  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src) override {
    log_->push_back(fmt::format("{}SendRecv {}", tag_, send_bytes));
    CommunicatorView::SendRecv(send, send_bytes, dest, recv, recv_bytes, src);
  }

 private:
  Log* log_;
  std::string tag_;
};

// The CPU backend behind recording backends and communicators: logs[h] is host h's.
class RecordingDeviceModel : public DeviceModel {
 public:
  RecordingDeviceModel(const Model& m, int hosts) : logs(hosts), cpu_(cpu::NewCpuDeviceModel(m)) {}
  std::string_view name() const override { return "recording"; }
  const Model& model() const override { return cpu_->model(); }
  int64_t weight_bytes() const override { return cpu_->weight_bytes(); }
  std::string precision() const override { return cpu_->precision(); }
  std::unique_ptr<Backend> NewHost(int hosts_in_process) override {
    std::lock_guard<std::mutex> lock(mu_);
    return NewHostAt(next_host_++ % static_cast<int>(logs.size()), hosts_in_process);
  }
  // Host `rank`'s backend, recording into logs[rank].
  std::unique_ptr<Backend> NewHostAt(int rank, int hosts_in_process) {
    return std::make_unique<RecordingBackend>(cpu_->NewHost(hosts_in_process), &logs[rank]);
  }
  std::unique_ptr<HostGroup> NewInProcessGroup(int hosts) override {
    return std::make_unique<Group>(hosts, this);
  }
  std::unique_ptr<Communicator> NewWorldData(Communicator& world, Backend&) override {
    return std::make_unique<CommunicatorView>(world);
  }

  std::vector<Log> logs;

 private:
  // Host r's links are recorded in logs[r]: "host:" for host memory, "data:" for backend memory.
  class Group : public HostGroup {
   public:
    Group(int hosts, RecordingDeviceModel* dm) : group_(hosts) {
      for (int r = 0; r < hosts; ++r) {
        host_.push_back(
            std::make_unique<RecordingCommunicator>(group_.Endpoint(r), &dm->logs[r], "host:"));
        data_.push_back(
            std::make_unique<RecordingCommunicator>(group_.Endpoint(r), &dm->logs[r], "data:"));
      }
    }
    int size() const override { return group_.size(); }
    Communicator& Host(int r) override { return *host_[r]; }
    Communicator& Data(int r, Backend&) override { return *data_[r]; }

   private:
    InProcessGroup group_;
    std::vector<std::unique_ptr<Communicator>> host_, data_;
  };

  std::unique_ptr<DeviceModel> cpu_;
  std::mutex mu_;
  int next_host_ = 0;
};

std::vector<int32_t> Ids(int64_t n, uint64_t seed) {
  testing::Rng rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = 3 + static_cast<int32_t>(rng.NextU64() % 250);
  return ids;
}

GenerateOptions Tokens(int64_t n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.stop_at_eog = false;
  return o;
}

DistConfig Star(int hosts, int64_t block) {
  DistConfig c;
  c.mode = AttnMode::kStar;
  c.hosts = hosts;
  c.block_size = block;
  return c;
}

// RunInProcess on a recording device model: host h (made on its own thread, as RunInProcess
// does) records into logs[h].
SampleResult RunRecorded(RecordingDeviceModel& dm, const DistConfig& cfg,
                         const std::vector<int32_t>& ctx, const std::vector<int32_t>& query,
                         const GenerateOptions& opts) {
  const std::unique_ptr<HostGroup> group = dm.NewInProcessGroup(cfg.hosts);
  std::vector<SampleResult> results(cfg.hosts);
  RunHostThreads(cfg.hosts, [&](int h) {
    const std::unique_ptr<Backend> be = dm.NewHostAt(h, cfg.hosts);
    results[h] = RunSample(*be, group->Host(h), group->Data(h, *be), cfg, ctx, query, opts);
  });
  return results.back();
}

TEST(DriverTest, StarPhase1HasNoCommunicationAndPhase2GathersOncePerLayer) {
  const int64_t layers = Tiny().config().n_layers;
  const auto ctx = Ids(40, 1), query = Ids(3, 2);
  RecordingDeviceModel dm(Tiny(), 2);
  const SampleResult r = RunRecorded(dm, Star(2, 10), ctx, query, Tokens(5));
  ASSERT_EQ(r.generation.tokens.size(), 5u);
  for (int h = 0; h < 2; ++h) {
    SCOPED_TRACE("host " + std::to_string(h));
    const Log& log = dm.logs[h];
    // Phase 1 ends at the first Synchronize; no collective before it.
    const size_t phase1_end = First(log, "Synchronize");
    ASSERT_LT(phase1_end, log.size());
    EXPECT_EQ(First(log, "data:"), First(log, "data:AllGather"));
    EXPECT_GT(First(log, "data:"), phase1_end);
    EXPECT_GT(First(log, "host:"), phase1_end);
    // Two blocks per host, each prefilled alone (anchor + block for every block but the first).
    EXPECT_EQ(Count(std::vector<std::string>(log.begin(), log.begin() + phase1_end), "Embed"), 2);
    // Phase 2: the query, then 4 decode steps (the 5th token is chosen, not run); one
    // all-gather of the attention states per layer and forward pass, merged on every host.
    EXPECT_EQ(Count(log, "data:AllGather"), layers * 5);
    EXPECT_EQ(Count(log, "MergeStates 2"), layers * 5);
    EXPECT_EQ(Count(log, "data:SendRecv"), 0);
    // Each chosen token is broadcast from the query host; stats are gathered once.
    EXPECT_EQ(Count(log, "host:Broadcast"), 5);
    EXPECT_EQ(Count(log, "host:AllGather"), 1);
  }
  // Context rows are visible to every query token (non-causal) on the context host; the query
  // host masks causally among the query tokens after its own 20 context rows.
  EXPECT_EQ(Count(dm.logs[0], "Attention 3x20 causal=false"), layers);
  EXPECT_EQ(Count(dm.logs[1], "Attention 3x23 causal=true q_offset=20 k_offset=0"), layers);
}

TEST(DriverTest, RingPassesHMinusOneBlocksPerLayer) {
  const int64_t layers = Tiny().config().n_layers;
  const auto ctx = Ids(36, 3), query = Ids(2, 4);
  RecordingDeviceModel dm(Tiny(), 3);
  DistConfig ring;
  ring.mode = AttnMode::kRing;
  ring.hosts = 3;
  RunRecorded(dm, ring, ctx, query, Tokens(1));
  for (int h = 0; h < 3; ++h) {
    SCOPED_TRACE("host " + std::to_string(h));
    const Log& log = dm.logs[h];
    EXPECT_EQ(Count(log, "data:SendRecv"), layers * 2);
    // Before phase 2 every SendRecv; phase 2 then gathers once per layer (query only).
    EXPECT_LT(First(log, "data:SendRecv"), First(log, "data:AllGather"));
    EXPECT_EQ(Count(log, "data:AllGather"), layers);
  }
}

TEST(DriverTest, ChecksComeBeforeAnyAllocation) {
  const auto ctx = Ids(40, 5), query = Ids(3, 6);
  {
    RecordingDeviceModel dm(Tiny(), 5);
    EXPECT_THAT([&] { RunRecorded(dm, Star(5, 10), ctx, query, Tokens(2)); },
                ThrowsMessage<Error>(HasSubstr("5 hosts but the 40-token context has only 4")));
    for (const Log& log : dm.logs) EXPECT_EQ(Count(log, "Alloc"), 0);
  }
  {
    RecordingDeviceModel dm(Tiny(), 2);
    // Context + query + tokens beyond the tiny model's 128 positions.
    EXPECT_THAT([&] { RunRecorded(dm, Star(2, 10), ctx, query, Tokens(90)); },
                ThrowsMessage<Error>(HasSubstr("exceeds the model's maximum positions (128)")));
    for (const Log& log : dm.logs) EXPECT_EQ(Count(log, "Alloc"), 0);
  }
}

TEST(DriverTest, EachHostReservesItsShareOfTheKvCache) {
  const ModelConfig& c = Tiny().config();
  const int64_t row = 2 * c.n_layers * c.n_kv_heads * c.head_dim * 4;  // K and V, fp32
  const auto ctx = Ids(40, 7), query = Ids(3, 8);
  RecordingDeviceModel dm(Tiny(), 2);
  const SampleResult r = RunRecorded(dm, Star(2, 10), ctx, query, Tokens(4));
  // Host 0: its 20 context rows; host 1 (the query host): 20 + 3 query + 4 generated.
  EXPECT_EQ(dm.logs[0][First(dm.logs[0], "Alloc")], fmt::format("Alloc {} the KV cache", 20 * row));
  EXPECT_EQ(dm.logs[1][First(dm.logs[1], "Alloc")], fmt::format("Alloc {} the KV cache", 27 * row));
  EXPECT_EQ(r.hosts[0].kv_bytes, 20 * row);
  EXPECT_EQ(r.hosts[1].kv_bytes, (20 + 3 + 3) * row);  // the last token is chosen, not run
  // Star's phase-1 scratch cache (anchor + block) on top.
  EXPECT_EQ(r.hosts[0].peak_kv_bytes, (20 + 20) * row);
}

TEST(DriverTest, RecordingBackendIsTransparent) {
  const auto ctx = Ids(40, 9), query = Ids(3, 10);
  RecordingDeviceModel rec(Tiny(), 2);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  const SampleResult a = RunRecorded(rec, Star(2, 10), ctx, query, Tokens(6));
  const SampleResult b = RunInProcess(*cpu, Star(2, 10), ctx, query, Tokens(6));
  EXPECT_EQ(a.generation.tokens, b.generation.tokens);
  EXPECT_EQ(a.first_logits, b.first_logits);
}

// Star phase 1, block by block, equals a direct dense prefill of [anchor | block] at the same
// positions (a fresh cache, one forward pass): the kept K/V rows and, through phase 2, the
// query's logits. Star runs in chunks of 7 tokens, the reference in one pass: fp32 tolerance.
TEST(StarReferenceTest, BlocksEqualDensePrefillsOfAnchorAndBlock) {
  const auto ctx = Ids(45, 11), query = Ids(4, 12);
  const int64_t L = 45, b = 10;  // 5 blocks, the last one 5 tokens
  for (AnchorSource source : {AnchorSource::kFirst, AnchorSource::kPrevious, AnchorSource::kNone}) {
    for (int64_t anchor : {int64_t{10}, int64_t{4}}) {
      DistConfig cfg = Star(2, b);
      cfg.anchor_size = anchor;
      cfg.anchor_source = source;
      cfg.ubatch = 7;
      SCOPED_TRACE(fmt::format("anchor {} of {}", anchor, AnchorSourceName(source)));
      testing::CpuHost host(Tiny());
      std::vector<KvCache> star, direct;  // per host
      for (int h = 0; h < 2; ++h) {
        const ContextShare share = HostContextShare(cfg, L, 2, h);
        star.emplace_back(*host.be, share.rows + (h == 1 ? 4 : 0));
        Phase1Into(host.t, nullptr, cfg, ctx, share, star.back());
        direct.emplace_back(*host.be, share.rows + (h == 1 ? 4 : 0));
        for (int64_t blk = share.block_begin; blk < share.block_end; ++blk) {
          std::vector<int32_t> tokens, positions;
          const int64_t n_anchor = StarBlockInput(cfg, ctx, blk, &tokens, &positions);
          if (blk > 0 && source != AnchorSource::kNone) {
            EXPECT_EQ(n_anchor, anchor);
          }
          KvCache fresh(*host.be, static_cast<int64_t>(tokens.size()));
          host.t.Forward(tokens, positions, fresh, LogitsFor::kNone);
          const int64_t len = static_cast<int64_t>(tokens.size()) - n_anchor;
          direct.back().CopyRows(fresh, n_anchor, direct.back().size(), len);
          direct.back().Resize(direct.back().size() + len);
        }
        ASSERT_EQ(star.back().size(), direct.back().size());
        const int64_t floats = star.back().size() * star.back().row_elems();
        for (int64_t l = 0; l < Tiny().config().n_layers; ++l) {
          testing::AllClose(static_cast<const float*>(star.back().k(l)),
                            static_cast<const float*>(direct.back().k(l)), floats,
                            testing::kFp32Reduction, fmt::format("host {} layer {} K", h, l));
          testing::AllClose(static_cast<const float*>(star.back().v(l)),
                            static_cast<const float*>(direct.back().v(l)), floats,
                            testing::kFp32Reduction, fmt::format("host {} layer {} V", h, l));
        }
      }
      // Outputs: the query's logits over the reference caches equal the star sample's.
      InProcessGroup group(2);
      std::vector<std::vector<float>> logits(2);
      const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
      RunHostThreads(2, [&](int h) {
        const std::unique_ptr<Backend> be = cpu->NewHost(2);
        logits[h] = Phase2Logits(*be, group.Endpoint(h), direct[h], query, static_cast<int32_t>(L));
      });
      const SampleResult r = RunInProcess(*cpu, cfg, ctx, query, Tokens(1));
      const int64_t vocab = Tiny().config().vocab_size;
      testing::AllClose(r.first_logits.data(), logits[1].data() + 3 * vocab, vocab,
                        testing::kFp32Reduction, "last query token's logits");
    }
  }
}

// The blocks' placement on hosts does not change star's result: H hosts equal one host holding
// every block (phase 2 merges H states instead of one: fp32 tolerance).
TEST(StarReferenceTest, HHostsEqualOneHostHoldingEveryBlock) {
  const auto ctx = Ids(60, 13), query = Ids(5, 14);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  const SampleResult one = RunInProcess(*cpu, Star(1, 10), ctx, query, Tokens(8));
  for (int H : {2, 3, 4, 6}) {
    SCOPED_TRACE("H = " + std::to_string(H));
    const SampleResult r = RunInProcess(*cpu, Star(H, 10), ctx, query, Tokens(8));
    EXPECT_EQ(r.generation.tokens, one.generation.tokens);
    testing::AllClose(r.first_logits, one.first_logits, testing::kFp32Reduction, "logits");
    int64_t rows = 0;
    for (const HostStats& s : r.hosts) rows += s.context_tokens;
    EXPECT_EQ(rows, 60);
  }
}

TEST(DriverTest, RingAndOneBlockStarEqualDenseOnTheTinyModel) {
  const auto ctx = Ids(50, 15), query = Ids(4, 16);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  const SampleResult dense = RunInProcess(*cpu, DistConfig{}, ctx, query, Tokens(6));
  const SampleResult one_block = RunInProcess(*cpu, Star(1, 64), ctx, query, Tokens(6));
  EXPECT_EQ(one_block.first_logits, dense.first_logits);
  EXPECT_EQ(one_block.generation.tokens, dense.generation.tokens);
  for (int H : {1, 2, 4}) {
    DistConfig ring;
    ring.mode = AttnMode::kRing;
    ring.hosts = H;
    const SampleResult r = RunInProcess(*cpu, ring, ctx, query, Tokens(6));
    EXPECT_EQ(r.generation.tokens, dense.generation.tokens) << "ring H = " << H;
    testing::AllClose(r.first_logits, dense.first_logits, testing::kFp32Reduction, "ring logits");
  }
}

// ---- Sparse and streaming modes --------------------------------------------------------------

DistConfig Sparse(AttnMode mode, std::shared_ptr<const SparseSpec> spec) {
  DistConfig c;
  c.mode = mode;
  c.sparse = std::move(spec);
  return c;
}

DistConfig Topk(int64_t sink, int64_t block, int64_t recency, int64_t topk) {
  DistConfig c;
  c.mode = AttnMode::kTopkKv;
  c.topk_sink = sink;
  c.topk_block = block;
  c.topk_recency = recency;
  c.topk = topk;
  return c;
}

// A mask file with the given head types (one list for every layer) and one all-ones base mask.
std::string MaskFile(const std::string& name, const std::string& types, int64_t blocks) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::string rows;
  for (int64_t r = 0; r < blocks; ++r) {
    std::string row;
    for (int64_t c = 0; c < blocks; ++c) row += std::string(c ? "," : "") + "1";
    rows += std::string(r ? "," : "") + "[" + row + "]";
  }
  std::ofstream(path) << R"({"block_size": 8, "head_mask_type": )" << types
                      << R"(, "streaming": {"sink": 2, "local": 100, "unit": "tokens"},)"
                      << R"( "density": 1.0, "base_masks": [[)" << rows << "]]}";
  return path;
}

// At full budget every mode attends to every causally visible key: the dense result.
TEST(SparseModesTest, FullBudgetEqualsDense) {
  const auto ctx = Ids(50, 17), query = Ids(4, 18);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  const SampleResult dense = RunInProcess(*cpu, DistConfig{}, ctx, query, Tokens(8));
  struct Case {
    const char* name;
    DistConfig cfg;
  };
  const std::vector<Case> cases = {
      {"streaming tokens sink + local >= length",
       Sparse(AttnMode::kStreaming, StreamingSpec(4, 60, false, 8))},
      {"streaming blocks", Sparse(AttnMode::kStreaming, StreamingSpec(1, 8, true, 8))},
      {"block-sparse density 1", Sparse(AttnMode::kBlockSparse, EstimatedSpec(1.0, 8))},
      {"block-sparse all-ones mask",
       Sparse(AttnMode::kBlockSparse, LoadSparseSpec(MaskFile("ones.json", "[1, 1, 1, 1]", 8)))},
      {"every head dense",
       Sparse(AttnMode::kBlockSparse, LoadSparseSpec(MaskFile("dense.json", "[0, 0, 0, 0]", 8)))},
      {"mixed types at full budget",
       Sparse(AttnMode::kBlockSparse, LoadSparseSpec(MaskFile("mix.json", "[0, -1, 1, -2]", 8)))},
      {"topk-kv, top-k = all blocks", Topk(2, 8, 4, 5)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const SampleResult r = RunInProcess(*cpu, c.cfg, ctx, query, Tokens(8));
    EXPECT_EQ(r.generation.tokens, dense.generation.tokens);
    testing::AllClose(r.first_logits, dense.first_logits, testing::kFp32Reduction, "logits");
  }
}

// A prompt shorter than the sink: no context block until sink + recency + a block are cached;
// until then every row is attended, as dense does (this threw before the sink was capped at the
// rows there are).
TEST(SparseModesTest, TopkOnAPromptShorterThanTheSinkEqualsDense) {
  const auto ctx = Ids(3, 23), query = Ids(2, 24);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  const SampleResult dense = RunInProcess(*cpu, DistConfig{}, ctx, query, Tokens(12));
  DistConfig cfg = Topk(8, 4, 2, 0);
  cfg.topk_fraction = 0.5;  // 12 decode steps reach 17 rows: one context block from row 14 on
  const SampleResult topk = RunInProcess(*cpu, cfg, ctx, query, Tokens(12));
  EXPECT_EQ(topk.generation.tokens, dense.generation.tokens);
  testing::AllClose(topk.first_logits, dense.first_logits, testing::kFp32Reduction, "logits");
}

// The counters match the arithmetic: dense computes its causal pairs and reads every row at every
// step; streaming decodes densely; top-k reads sink + its blocks + recency + the summaries (at
// this tiny scale the kernels' 32-key granules make streaming's prefill no cheaper than dense:
// the ratios at real lengths are in results/perf/).
TEST(SparseModesTest, WorkIsCountedAgainstDense) {
  const ModelConfig& c = Tiny().config();
  const auto ctx = Ids(64, 19), query = Ids(4, 20);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  const SampleResult dense = RunInProcess(*cpu, DistConfig{}, ctx, query, Tokens(6));
  // Dense computes exactly its causal pairs and reads every row at every step.
  EXPECT_EQ(dense.hosts[0].prefill_scores, dense.dense_prefill_scores);
  EXPECT_EQ(dense.dense_prefill_scores, c.n_layers * c.n_heads * 68 * 69 / 2);
  EXPECT_EQ(dense.hosts[0].decode_kv_bytes, dense.dense_decode_kv_bytes);
  const int64_t row = c.n_kv_heads * c.head_dim * 4 * 2;  // K and V, fp32
  EXPECT_EQ(dense.dense_decode_kv_bytes, c.n_layers * row * (69 + 70 + 71 + 72 + 73));
  const SampleResult stream = RunInProcess(
      *cpu, Sparse(AttnMode::kStreaming, StreamingSpec(4, 8, false, 8)), ctx, query, Tokens(6));
  EXPECT_GT(stream.hosts[0].prefill_scores, 0);
  EXPECT_EQ(stream.hosts[0].decode_kv_bytes, dense.dense_decode_kv_bytes);  // decodes densely
  const SampleResult topk = RunInProcess(*cpu, Topk(4, 8, 8, 2), ctx, query, Tokens(6));
  EXPECT_EQ(topk.hosts[0].prefill_scores, dense.dense_prefill_scores);
  // Step t (rows 69 + t): 4 sink rows, 2 blocks of 8, recency = rows - 4 - 8 x blocks with
  // blocks = (rows - 12) / 8 = 7; plus the blocks' min/max summaries (2 kv heads x 16 x 4 bytes
  // x 2 each).
  int64_t want = 0;
  for (int64_t rows = 69; rows <= 73; ++rows) {
    const int64_t blocks = (rows - 12) / 8;
    want += (4 + 16 + rows - 4 - 8 * blocks) * row + blocks * c.n_kv_heads * c.head_dim * 4 * 2;
  }
  EXPECT_EQ(topk.hosts[0].decode_kv_bytes, c.n_layers * want);
}

TEST(SparseModesTest, BadSettingsAreOneLineErrors) {
  const auto ctx = Ids(40, 21), query = Ids(3, 22);
  const std::unique_ptr<DeviceModel> cpu = cpu::NewCpuDeviceModel(Tiny());
  auto error = [&](const DistConfig& cfg, const char* needle) {
    EXPECT_THAT([&] { RunInProcess(*cpu, cfg, ctx, query, Tokens(2)); },
                ThrowsMessage<Error>(HasSubstr(needle)));
  };
  error(Topk(2, 8, 4, 9), "--topk 9 exceeds the 4 context blocks of 8 tokens");
  error(Topk(2, 0, 4, 1), "--topk-block must be positive, got 0");
  DistConfig both = Topk(2, 8, 4, 1);
  both.topk_fraction = 0.5;
  error(both, "one of --topk (blocks) or --topk-fraction");
  DistConfig two = Sparse(AttnMode::kStreaming, StreamingSpec(4, 8, false, 8));
  two.hosts = 2;
  error(two, "streaming attention runs on one host, got --hosts 2");
  error(Sparse(AttnMode::kBlockSparse, nullptr), "block-sparse attention needs its patterns");
  EXPECT_THAT([] { StreamingSpec(0, 0, false, 8); },
              ThrowsMessage<Error>(HasSubstr("--sink + --local > 0, got 0 + 0")));
  EXPECT_THAT([] { EstimatedSpec(1.5, 8); },
              ThrowsMessage<Error>(HasSubstr("--density must be in (0, 1], got 1.5")));
  // Mask files that do not fit the model or the length.
  error(Sparse(AttnMode::kBlockSparse, LoadSparseSpec(MaskFile("heads.json", "[0, 1]", 8))),
        "'head_mask_type' has 2 heads, the model 4");
  error(Sparse(AttnMode::kBlockSparse, LoadSparseSpec(MaskFile("short.json", "[1, 1, 1, 1]", 2))),
        "base mask 1 is 2 x 2 blocks, the 43-token sequence needs 6 x 6 (block size 8)");
  EXPECT_THAT(
      [] { LoadSparseSpec(MaskFile("missing.json", "[3, 1, 1, 1]", 8)); },
      ThrowsMessage<Error>(HasSubstr("head type 3 names base mask 3, but 'base_masks' has 1")));
}

}  // namespace
}  // namespace starattn
