// GGUF reader: the fixtures of tools/make_io_fixtures.py, and malformed files made here by
// mutating meta.gguf / dequant.gguf bytes in a temp dir.
#include "engine/io/gguf.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"
#include "engine/io/safetensors.h"

namespace starattn {
namespace {

namespace fs = std::filesystem;
using Bytes = std::string;

std::string MetaPath() { return testing::FixturePath("io/meta.gguf"); }
std::string DequantPath() { return testing::FixturePath("io/dequant.gguf"); }

using testing::ThrowsOneLineErrorAt;

class GgufTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           (std::string("gguf_test_") + info->name() + "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    meta_ = ReadFileToString(MetaPath());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const Bytes& bytes, const std::string& name = "bad.gguf") {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
    return path;
  }

  // Writes `bytes` and expects Open to fail with a one-line message "<path>: ...<want>...".
  void ExpectOpenError(const Bytes& bytes, const std::string& want) {
    const std::string path = Write(bytes);
    EXPECT_THAT([&] { GgufFile::Open(path); }, ThrowsOneLineErrorAt(path + ": ", want));
  }

  fs::path dir_;
  Bytes meta_;
};

template <typename T>
void Put(Bytes& b, size_t at, T v) {
  ASSERT_LE(at + sizeof(T), b.size());
  std::memcpy(b.data() + at, &v, sizeof(T));
}

// Offset just past the length-prefixed GGUF string `s` (a key or tensor name).
size_t After(const Bytes& b, const std::string& s) {
  Bytes needle(8, '\0');
  const uint64_t len = s.size();
  std::memcpy(needle.data(), &len, 8);
  needle += s;
  const size_t at = b.find(needle);
  EXPECT_NE(at, Bytes::npos) << s;
  EXPECT_EQ(b.find(needle, at + 1), Bytes::npos) << s << " is not unique";
  return at + needle.size();
}

// Offsets of one tensor-info record's fields (after its name).
struct TensorInfoAt {
  size_t n_dims, dims, type, offset;
};
TensorInfoAt InfoAt(const Bytes& b, const std::string& name, uint32_t n_dims) {
  const size_t p = After(b, name);
  return {p, p + 4, p + 4 + 8 * n_dims, p + 8 + 8 * n_dims};
}

TEST_F(GgufTest, ReadsMetadataOfEveryType) {
  const GgufFile f = GgufFile::Open(MetaPath());
  EXPECT_EQ(f.path(), MetaPath());
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.RequireString("general.architecture"), "test");
  EXPECT_EQ(f.RequireInt("test.u8"), 200);
  EXPECT_EQ(f.Find("test.u8")->gguf_type, 0u);
  EXPECT_EQ(f.RequireInt("test.i8"), -100);
  EXPECT_EQ(f.RequireInt("test.u16"), 60000);
  EXPECT_EQ(f.RequireInt("test.i16"), -30000);
  EXPECT_EQ(f.RequireInt("test.u32"), 4000000000);
  EXPECT_EQ(f.RequireInt("test.i32"), -2000000000);
  EXPECT_EQ(f.Find("test.i32")->gguf_type, 5u);
  EXPECT_EQ(f.RequireFloat("test.f32"), 0.5);
  EXPECT_EQ(f.GetBool("test.bool"), true);
  EXPECT_EQ(f.RequireString("test.string"), "hello, gguf \xe2\x9c\x93");
  EXPECT_EQ(f.RequireInt("test.i64"), -(int64_t{1} << 40));
  EXPECT_EQ(f.RequireFloat("test.f64"), 0.1);
  EXPECT_EQ(f.RequireFloat("test.i32"), -2e9);  // integers read as floats
  EXPECT_EQ(std::get<uint64_t>(f.Find("test.u64_big")->value), (uint64_t{1} << 63) + 5);
  EXPECT_THROW(f.GetInt("test.u64_big"), Error);  // does not fit int64

  EXPECT_EQ(f.GetIntArray("test.arr.u8"), (std::vector<int64_t>{1, 2, 255}));
  EXPECT_EQ(f.GetIntArray("test.arr.i32"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f.GetIntArray("test.arr.i64"), (std::vector<int64_t>{-(int64_t{1} << 40), 7}));
  EXPECT_THROW(f.GetIntArray("test.arr.u64_big"), Error);
  EXPECT_EQ(f.GetFloatArray("test.arr.f32"), (std::vector<double>{0.25, -1.5}));
  EXPECT_EQ(f.GetFloatArray("test.arr.f64"), (std::vector<double>{0.1, 2.0}));
  EXPECT_EQ(f.GetFloatArray("test.arr.i32"), (std::vector<double>{1, -2, 3}));
  EXPECT_EQ(f.GetStringArray("test.arr.str"), (std::vector<std::string>{"a", "", "ccc"}));
  const auto& bools = std::get<GgufValue::Array>(f.Find("test.arr.bool")->value);
  EXPECT_EQ(std::get<std::vector<bool>>(bools), (std::vector<bool>{true, false, true}));
  // A nested array is parsed and kept as present, but no typed getter accepts it.
  ASSERT_TRUE(f.Has("test.arr.nested"));
  EXPECT_EQ(f.Find("test.arr.nested")->gguf_type, 9u);
  EXPECT_THROW(f.GetIntArray("test.arr.nested"), Error);
  EXPECT_EQ(f.metadata().size(), 22u);
}

TEST_F(GgufTest, GettersReportAbsentAndWrongType) {
  const GgufFile f = GgufFile::Open(MetaPath());
  EXPECT_FALSE(f.Has("no.such.key"));
  EXPECT_EQ(f.Find("no.such.key"), nullptr);
  EXPECT_EQ(f.GetInt("no.such.key"), std::nullopt);
  EXPECT_EQ(f.GetFloat("no.such.key"), std::nullopt);
  EXPECT_EQ(f.GetString("no.such.key"), std::nullopt);
  EXPECT_EQ(f.GetStringArray("no.such.key"), std::nullopt);
  EXPECT_THAT([&] { f.RequireInt("no.such.key"); },
              ThrowsOneLineErrorAt(MetaPath() + ": ", "no.such.key"));
  EXPECT_THROW(f.RequireFloat("no.such.key"), Error);
  EXPECT_THROW(f.RequireString("no.such.key"), Error);

  EXPECT_THROW(f.GetString("test.u8"), Error);
  EXPECT_THROW(f.GetInt("test.string"), Error);
  EXPECT_THROW(f.GetInt("test.f32"), Error);
  EXPECT_THROW(f.GetFloat("test.bool"), Error);
  EXPECT_THROW(f.GetBool("test.u8"), Error);
  EXPECT_THROW(f.GetStringArray("test.arr.i32"), Error);
  EXPECT_THROW(f.GetIntArray("test.arr.f32"), Error);
  EXPECT_THROW(f.GetFloatArray("test.arr.str"), Error);
  EXPECT_THROW(f.GetIntArray("test.u8"), Error);
  EXPECT_THAT([&] { f.GetString("test.u8"); }, ThrowsOneLineErrorAt(MetaPath() + ": ", "test.u8"));
}

TEST_F(GgufTest, ReadsTensors) {
  const GgufFile f = GgufFile::Open(MetaPath());
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.FindTensor("missing"), nullptr);

  const GgufTensorInfo* t = f.FindTensor("t.f32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dims, (std::vector<int64_t>{4, 3}));  // numpy shape (3, 4)
  EXPECT_EQ(t->type_id, 0u);
  EXPECT_EQ(t->nbytes, 48u);
  EXPECT_EQ(t->n_elements(), 12);
  EXPECT_EQ(t->offset % f.alignment(), 0u);
  std::vector<float> v = f.ReadF32(*t);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(v[i], i * 0.5f - 1.0f) << i;

  t = f.FindTensor("t.f16");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dims, (std::vector<int64_t>{8}));
  EXPECT_EQ(t->type_id, 1u);
  EXPECT_EQ(t->nbytes, 16u);
  v = f.ReadF32(*t);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(v[i], i * 0.25f) << i;

  t = f.FindTensor("t.q8_0");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dims, (std::vector<int64_t>{32, 1}));  // numpy shape (1, 32)
  EXPECT_EQ(t->type_id, 8u);
  EXPECT_EQ(t->nbytes, 34u);
  v = f.ReadF32(*t);
  const float step = 31.0f / 127.0f;  // Q8_0 scale of 0..31
  for (int i = 0; i < 32; ++i) EXPECT_NEAR(v[i], i, step / 2 + 0.01f) << i;
}

TEST_F(GgufTest, DequantizesEveryTypeLikeGgufPy) {
  const GgufFile f = GgufFile::Open(DequantPath());
  EXPECT_EQ(f.alignment(), 64u);
  for (const char* name :
       {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"}) {
    SCOPED_TRACE(name);
    const GgufTensorInfo* t = f.FindTensor(name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(TypeName(t->type_id), name);
    EXPECT_EQ(t->dims, (std::vector<int64_t>{256, 4}));
    EXPECT_EQ(t->offset % 64, 0u);
    const std::vector<float> got = f.ReadF32(*t);
    const std::string want_bytes =
        ReadFileToString(testing::FixturePath(std::string("io/dequant/") + name + ".f32"));
    ASSERT_EQ(got.size() * 4, want_bytes.size());
    EXPECT_EQ(std::memcmp(got.data(), want_bytes.data(), want_bytes.size()), 0);
  }
  // A known type (its size is computable, so the file opens) that cannot be dequantized.
  const GgufTensorInfo* q2k = f.FindTensor("Q2_K");
  ASSERT_NE(q2k, nullptr);
  EXPECT_EQ(q2k->nbytes, 4u * 84u);
  EXPECT_THAT([&] { f.ReadF32(*q2k); }, ThrowsOneLineErrorAt(DequantPath() + ": ", "Q2_K"));
}

// sum_i bits(v[i]) * (i + 1) mod 2^64: an exact fingerprint of fp32 values.
uint64_t Fingerprint(const std::vector<float>& v) {
  uint64_t s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += std::bit_cast<uint32_t>(v[i]) * uint64_t{i + 1};
  return s;
}

// The real default model (SmolLM2-135M-Instruct Q4_1): metadata, tokenizer arrays and
// dequantized tensors match gguf-py (fingerprints computed with gguf.quants.dequantize).
TEST(GgufDefaultModelTest, MatchesGgufPy) {
  STARATTN_REQUIRE_DEFAULT_MODEL(path);
  const GgufFile f = GgufFile::Open(path);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 33u);
  EXPECT_EQ(f.RequireString("general.architecture"), "llama");
  EXPECT_EQ(f.RequireInt("llama.block_count"), 30);
  EXPECT_EQ(f.RequireInt("llama.embedding_length"), 576);
  EXPECT_EQ(f.RequireInt("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(f.RequireFloat("llama.rope.freq_base"), 100000.0);
  EXPECT_EQ(f.RequireFloat("llama.attention.layer_norm_rms_epsilon"), double{1e-5f});
  EXPECT_EQ(f.GetBool("tokenizer.ggml.add_bos_token"), false);
  const auto tokens = f.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 49152u);
  EXPECT_EQ((*tokens)[300], "om");
  EXPECT_EQ(f.GetStringArray("tokenizer.ggml.merges")->at(0), "\xc4\xa0 t");
  EXPECT_EQ(f.GetIntArray("tokenizer.ggml.token_type")->size(), 49152u);

  ASSERT_EQ(f.tensors().size(), 272u);
  for (const GgufTensorInfo& t : f.tensors()) {
    EXPECT_TRUE(IsSupportedType(t.type_id)) << t.name << " " << TypeName(t.type_id);
  }
  struct Want {
    const char* name;
    const char* type;
    size_t n;
    uint64_t fingerprint;
  };
  for (const Want& w : {Want{"token_embd.weight", "Q8_0", 28311552, 0x779fe7cb39c5bf80},
                        Want{"blk.0.attn_q.weight", "Q4_1", 331776, 0x4985974afd7c1a00},
                        Want{"blk.29.ffn_down.weight", "Q4_1", 884736, 0xbbdb33a363dc2000},
                        Want{"output_norm.weight", "F32", 576, 0xa28ba9da0000}}) {
    SCOPED_TRACE(w.name);
    const GgufTensorInfo* t = f.FindTensor(w.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(TypeName(t->type_id), w.type);
    const std::vector<float> v = f.ReadF32(*t);
    ASSERT_EQ(v.size(), w.n);
    EXPECT_EQ(Fingerprint(v), w.fingerprint);
  }
}

// tests/fixtures/tiny (tools/make_tiny_models.py): each model's GGUF and HF forms hold the same
// values, with llama q/k rows permuted as convert_hf_to_gguf.py does.
TEST(TinyModelsTest, GgufAndSafetensorsHoldTheSameWeights) {
  struct Variant {
    const char* name;
    const char* arch;
    bool tied, bias, rope_freqs;
  };
  for (const Variant& v : {Variant{"llama-tied", "llama", true, false, false},
                           Variant{"llama3-scaled", "llama", false, false, true},
                           Variant{"qwen2", "qwen2", true, true, false}}) {
    SCOPED_TRACE(v.name);
    const std::string dir = testing::FixturePath(std::string("tiny/") + v.name);
    const GgufFile g = GgufFile::Open(dir + "/model.gguf");
    const SafetensorsCheckpoint hf = SafetensorsCheckpoint::OpenDir(dir + "/hf");
    const std::string arch = v.arch;
    EXPECT_EQ(g.RequireString("general.architecture"), arch);
    const int64_t n_head = g.RequireInt(arch + ".attention.head_count");
    const int64_t n_kv = g.RequireInt(arch + ".attention.head_count_kv");
    const int64_t n_embd = g.RequireInt(arch + ".embedding_length");
    const int64_t hd = n_embd / n_head;
    EXPECT_EQ(n_head, 4);
    EXPECT_EQ(n_kv, 2);
    EXPECT_EQ(hd, 16);
    EXPECT_EQ(g.RequireInt(arch + ".rope.dimension_count"), hd);
    EXPECT_EQ(g.RequireInt(arch + ".vocab_size"), 256);
    EXPECT_EQ(g.RequireInt(arch + ".feed_forward_length"), 128);
    const int64_t n_layer = g.RequireInt(arch + ".block_count");
    EXPECT_EQ(n_layer, 2);
    EXPECT_EQ(g.FindTensor("output.weight") == nullptr, v.tied);
    EXPECT_EQ(hf.Find("lm_head.weight") == nullptr, v.tied);
    EXPECT_EQ(g.FindTensor("rope_freqs.weight") != nullptr, v.rope_freqs);

    // GGUF name -> HF name; `heads` > 0 marks a llama q/k weight permuted per head.
    struct Pair {
      std::string gguf, hf;
      int64_t heads = 0;
    };
    std::vector<Pair> pairs = {{"token_embd.weight", "model.embed_tokens.weight"},
                               {"output_norm.weight", "model.norm.weight"}};
    if (!v.tied) pairs.push_back({"output.weight", "lm_head.weight"});
    const bool permuted = arch == "llama";
    for (int64_t i = 0; i < n_layer; ++i) {
      const std::string b = "blk." + std::to_string(i) + ".";
      const std::string m = "model.layers." + std::to_string(i) + ".";
      pairs.push_back({b + "attn_norm.weight", m + "input_layernorm.weight"});
      pairs.push_back({b + "attn_q.weight", m + "self_attn.q_proj.weight", permuted ? n_head : 0});
      pairs.push_back({b + "attn_k.weight", m + "self_attn.k_proj.weight", permuted ? n_kv : 0});
      pairs.push_back({b + "attn_v.weight", m + "self_attn.v_proj.weight"});
      pairs.push_back({b + "attn_output.weight", m + "self_attn.o_proj.weight"});
      pairs.push_back({b + "ffn_norm.weight", m + "post_attention_layernorm.weight"});
      pairs.push_back({b + "ffn_gate.weight", m + "mlp.gate_proj.weight"});
      pairs.push_back({b + "ffn_up.weight", m + "mlp.up_proj.weight"});
      pairs.push_back({b + "ffn_down.weight", m + "mlp.down_proj.weight"});
      if (v.bias) {
        for (const char* p : {"q", "k", "v"}) {
          pairs.push_back({b + "attn_" + p + ".bias", m + "self_attn." + p + "_proj.bias"});
        }
      }
    }
    EXPECT_EQ(g.tensors().size(), pairs.size() + (v.rope_freqs ? 1 : 0));
    EXPECT_EQ(hf.tensors().size(), pairs.size());
    for (const Pair& p : pairs) {
      SCOPED_TRACE(p.gguf);
      const GgufTensorInfo* gt = g.FindTensor(p.gguf);
      const SafeTensor* ht = hf.Find(p.hf);
      ASSERT_NE(gt, nullptr);
      ASSERT_NE(ht, nullptr);
      EXPECT_EQ(TypeName(gt->type_id), "F32");
      EXPECT_EQ(ht->dtype, "F32");
      std::vector<int64_t> reversed(gt->dims.rbegin(), gt->dims.rend());
      ASSERT_EQ(reversed, ht->shape);
      const std::vector<float> gv = g.ReadF32(*gt);
      const std::vector<float> hv = hf.ReadF32(*ht);
      if (p.heads == 0) {
        EXPECT_EQ(gv, hv);
        continue;
      }
      // GGUF row (head h, pair j, s) is HF row (head h, half s, j): [rows, cols] row-major.
      const int64_t cols = ht->shape[1];
      for (int64_t h = 0; h < p.heads; ++h) {
        for (int64_t j = 0; j < hd / 2; ++j) {
          for (int64_t s = 0; s < 2; ++s) {
            const int64_t gr = h * hd + 2 * j + s, hr = h * hd + s * (hd / 2) + j;
            ASSERT_TRUE(std::equal(gv.begin() + gr * cols, gv.begin() + (gr + 1) * cols,
                                   hv.begin() + hr * cols))
                << "row " << gr;
          }
        }
      }
    }
  }
}

TEST_F(GgufTest, AcceptsVersion2) {
  Bytes b = meta_;
  Put<uint32_t>(b, 4, 2);
  const GgufFile f = GgufFile::Open(Write(b, "v2.gguf"));
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.RequireInt("test.u8"), 200);
}

// Parse reads bytes already in memory (fuzzers, tests): the same result as Open, and errors
// name the buffer.
TEST_F(GgufTest, ParsesBytesInMemory) {
  const GgufFile file = GgufFile::Open(MetaPath());
  const GgufFile mem = GgufFile::Parse(MappedFile::FromBytes("mem.gguf", meta_));
  EXPECT_EQ(mem.path(), "mem.gguf");
  ASSERT_EQ(mem.tensors().size(), file.tensors().size());
  for (const GgufTensorInfo& t : file.tensors()) {
    const GgufTensorInfo* m = mem.FindTensor(t.name);
    ASSERT_NE(m, nullptr) << t.name;
    EXPECT_EQ(m->dims, t.dims);
    if (IsSupportedType(t.type_id)) {
      EXPECT_EQ(mem.ReadF32(*m), file.ReadF32(t)) << t.name;
    }
  }
  EXPECT_EQ(mem.metadata().size(), file.metadata().size());
  EXPECT_THAT([&] { GgufFile::Parse(MappedFile::FromBytes("cut.gguf", meta_.substr(0, 30))); },
              ThrowsOneLineErrorAt("cut.gguf: metadata count 22 is impossible for a 30-byte file"));
}

TEST_F(GgufTest, MissingFile) {
  const std::string path = (dir_ / "nope.gguf").string();
  EXPECT_THAT([&] { GgufFile::Open(path); }, ThrowsOneLineErrorAt(path + ": "));
}

// Every prefix of a valid file fails cleanly, except those that only drop trailing padding.
TEST_F(GgufTest, TruncatedAtEveryLength) {
  const GgufFile full = GgufFile::Open(MetaPath());
  const std::vector<float> want = full.ReadF32(*full.FindTensor("t.q8_0"));
  size_t first_ok = meta_.size();
  for (size_t len = 0; len < meta_.size(); ++len) {
    const std::string path = Write(meta_.substr(0, len));
    try {
      const GgufFile f = GgufFile::Open(path);
      if (first_ok == meta_.size()) first_ok = len;
      EXPECT_EQ(f.ReadF32(*f.FindTensor("t.q8_0")), want) << len;
    } catch (const Error& e) {
      EXPECT_LT(len, first_ok) << "length " << len << " failed after a shorter one opened";
      EXPECT_TRUE(std::string(e.what()).starts_with(path + ": ")) << e.what();
    }
  }
  // Only the alignment padding after the last tensor may go.
  EXPECT_GT(first_ok + full.alignment(), meta_.size());
}

TEST_F(GgufTest, BadMagicAndVersion) {
  Bytes b = meta_;
  b[0] = 'X';
  ExpectOpenError(b, "magic");
  ExpectOpenError("GG", "too short");
  for (uint32_t v : {0u, 1u, 4u, 0xFFFFFFFFu}) {
    b = meta_;
    Put<uint32_t>(b, 4, v);
    ExpectOpenError(b, "version");
  }
  b = meta_;
  Put<uint32_t>(b, 4, 0x03000000u);
  ExpectOpenError(b, "big-endian");
}

TEST_F(GgufTest, HugeCountsAndLengths) {
  Bytes b = meta_;
  Put<uint64_t>(b, 8, uint64_t{1} << 60);  // tensor count
  ExpectOpenError(b, "tensor count");
  b = meta_;
  Put<uint64_t>(b, 16, ~uint64_t{0});  // metadata count
  ExpectOpenError(b, "metadata count");
  b = meta_;
  Put<uint64_t>(b, 24, uint64_t{1} << 62);  // length of the first key
  ExpectOpenError(b, "length 4611686018427387904");
  b = meta_;
  Put<uint64_t>(b, After(b, "test.string") + 4, ~uint64_t{0} - 3);  // string value length
  ExpectOpenError(b, "beyond the end");
  // Array counts: {u32 type = 9 | u32 element type | u64 count}.
  for (const char* key : {"test.arr.str", "test.arr.u8", "test.arr.bool", "test.arr.nested"}) {
    b = meta_;
    Put<uint64_t>(b, After(b, key) + 8, uint64_t{1} << 61);
    ExpectOpenError(b, "2305843009213693952 elements");
  }
  b = meta_;
  Put<uint64_t>(b, After(b, "test.arr.u8") + 8, 1000);  // count slightly beyond the file
  ExpectOpenError(b, "elements");
  b = meta_;
  Put<uint64_t>(b, InfoAt(b, "t.f32", 2).n_dims - 8 - 5, uint64_t{1} << 40);  // tensor name len
  ExpectOpenError(b, "name of tensor 0");
}

TEST_F(GgufTest, BadValueTypes) {
  Bytes b = meta_;
  Put<uint32_t>(b, After(b, "test.u8"), 13);
  ExpectOpenError(b, "invalid value type 13");
  b = meta_;
  Put<uint32_t>(b, After(b, "test.arr.i32") + 4, 99);  // element type
  ExpectOpenError(b, "invalid element type 99");
  b = meta_;
  b[After(b, "test.bool") + 4] = 2;
  ExpectOpenError(b, "bool");
}

TEST_F(GgufTest, DuplicateKeyAndTensorName) {
  Bytes b = meta_;
  const size_t key = After(b, "test.i16") - 8;  // "test.i16" -> "test.u16"
  b[key + 5] = 'u';
  ExpectOpenError(b, "duplicate metadata key 'test.u16'");
  b = meta_;
  const size_t name = After(b, "t.f16") - 5;  // "t.f16" -> "t.f32"
  b.replace(name, 5, "t.f32");
  ExpectOpenError(b, "duplicate tensor name 't.f32'");
}

TEST_F(GgufTest, BadTensorInfos) {
  const TensorInfoAt at = InfoAt(meta_, "t.f32", 2);
  Bytes b = meta_;
  Put<uint32_t>(b, at.n_dims, 5);
  ExpectOpenError(b, "has 5 dimensions");
  b = meta_;
  Put<uint32_t>(b, at.n_dims, 0);
  ExpectOpenError(b, "has 0 dimensions");
  b = meta_;
  Put<uint64_t>(b, at.dims, 0);
  ExpectOpenError(b, "invalid dimension 0 = 0");
  b = meta_;
  Put<int64_t>(b, at.dims + 8, -3);
  ExpectOpenError(b, "invalid dimension 1 = -3");
  b = meta_;
  Put<uint64_t>(b, at.dims, uint64_t{1} << 40);
  Put<uint64_t>(b, at.dims + 8, uint64_t{1} << 40);
  ExpectOpenError(b, "overflows");
  // An F32 row of 2^62 elements is 2^64 bytes: the byte count wrapped to 0 and the tensor passed
  // as an empty one; ReadF32 then asked for a vector of 2^62 floats (found by gguf_fuzz).
  b = meta_;
  Put<uint64_t>(b, at.dims, uint64_t{1} << 62);
  Put<uint64_t>(b, at.dims + 8, 1);
  ExpectOpenError(b, "tensor 't.f32' byte size overflows");
  b = meta_;
  Put<uint32_t>(b, at.type, 99);
  ExpectOpenError(b, "unknown GGML type id 99");
  b = meta_;
  Put<uint32_t>(b, at.type, 10);  // Q2_K needs rows of 256
  ExpectOpenError(b, "not a multiple of the block size 256");
  b = meta_;
  uint64_t off;
  std::memcpy(&off, meta_.data() + at.offset, 8);
  Put<uint64_t>(b, at.offset, off + 1);
  ExpectOpenError(b, "not a multiple of the alignment 32");
  b = meta_;
  Put<uint64_t>(b, at.offset, uint64_t{1} << 40);
  ExpectOpenError(b, "extends past the end of the file");
  b = meta_;
  Put<uint64_t>(b, at.offset, ~uint64_t{31});  // offset + nbytes wraps around
  ExpectOpenError(b, "extends past the end of the file");
  b = meta_;
  Put<uint64_t>(b, at.dims + 8, 1000);  // 4000 elements: data runs past the end
  ExpectOpenError(b, "extends past the end of the file");
  b = meta_;
  const TensorInfoAt f16 = InfoAt(meta_, "t.f16", 1);
  Put<uint64_t>(b, f16.offset, off);  // same offset as t.f32
  ExpectOpenError(b, "overlap");
}

TEST_F(GgufTest, BadAlignment) {
  const Bytes valid = ReadFileToString(DequantPath());
  const size_t value = After(valid, "general.alignment") + 4;  // after the u32 type
  for (uint32_t a : {0u, 48u, 0x80000000u}) {
    Bytes b = valid;
    Put<uint32_t>(b, value, a);
    ExpectOpenError(b, "power of two");
  }
  Bytes b = valid;
  Put<uint32_t>(b, value - 4, 8);  // type -> string: reads garbage length
  const std::string path = Write(b);
  EXPECT_THROW(GgufFile::Open(path), Error);
}

// Random byte corruptions of the header region never crash: either the file opens or Open
// throws Error naming it.
TEST_F(GgufTest, RandomCorruptionsFailCleanly) {
  const uint64_t seed = 7;
  SCOPED_TRACE(testing::SeedTrace(seed));
  testing::Rng rng(seed);
  const std::string path = (dir_ / "fuzz.gguf").string();
  int opened = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Bytes b = meta_;
    const int flips = 1 + static_cast<int>(rng.NextU64() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng.NextU64() % 900;  // metadata and tensor infos
      b[at] = static_cast<char>(rng.NextU64());
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(b.data(), b.size());
    try {
      const GgufFile f = GgufFile::Open(path);
      for (const GgufTensorInfo& t : f.tensors()) {
        if (IsSupportedType(t.type_id)) f.ReadF32(t);
      }
      ++opened;
    } catch (const Error& e) {
      ASSERT_TRUE(std::string(e.what()).starts_with(path + ": ")) << e.what();
    }
  }
  EXPECT_LT(opened, 3000);
}

}  // namespace
}  // namespace starattn
