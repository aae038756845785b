// GGUF parser. Layout (little-endian):
//   "GGUF" u32 version | u64 n_tensors | u64 n_kv
//   n_kv  x { string key | u32 value_type | value }
//   n_tensors x { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment | data section (tensor offsets are relative to its start)
// string = u64 length + bytes; array = u32 element_type + u64 count + elements.
#include "engine/io/gguf.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <limits>
#include <string_view>
#include <utility>

#include "engine/common/error.h"

namespace starattn {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GGUF reader assumes a little-endian host");

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 8;  // nested arrays deeper than this are rejected

enum GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

const char* GgufTypeName(uint32_t t) {
  static constexpr const char* kNames[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                           "int32",  "float32", "bool",   "string", "array",
                                           "uint64", "int64",   "float64"};
  return t < std::size(kNames) ? kNames[t] : "invalid";
}

// Size of a fixed-width value type, 0 for string/array/invalid.
size_t FixedSize(uint32_t t) {
  switch (t) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 0;
  }
}

// The smallest number of bytes one element of type `t` can occupy on disk (0 if invalid).
size_t MinEncodedSize(uint32_t t) {
  if (t == kString) return 8;     // length
  if (t == kArray) return 4 + 8;  // element type + count
  return FixedSize(t);
}

// Bounds-checked cursor over the mapped bytes.
class Reader {
 public:
  Reader(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  // Throws unless `n` more bytes exist; `what` names the field being read.
  void Need(size_t n, std::string_view what) const {
    if (n > remaining()) {
      Fail("{}: truncated: {} needs {} bytes at offset {}, file has {} bytes", path_, what, n, pos_,
           size_);
    }
  }

  template <typename T>
  T Read(std::string_view what) {
    Need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string ReadString(std::string_view what) {
    const uint64_t len = Read<uint64_t>(what);
    if (len > remaining()) {
      Fail("{}: {} has length {} at offset {}, beyond the end of the file ({} bytes)", path_, what,
           len, pos_ - 8, size_);
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Reads one scalar of fixed-width type `t`, widened per GgufValue's rules.
template <typename Out>
Out ReadScalarAs(Reader& r, uint32_t t, std::string_view what) {
  switch (t) {
    case kU8:
      return static_cast<Out>(r.Read<uint8_t>(what));
    case kI8:
      return static_cast<Out>(r.Read<int8_t>(what));
    case kU16:
      return static_cast<Out>(r.Read<uint16_t>(what));
    case kI16:
      return static_cast<Out>(r.Read<int16_t>(what));
    case kU32:
      return static_cast<Out>(r.Read<uint32_t>(what));
    case kI32:
      return static_cast<Out>(r.Read<int32_t>(what));
    case kU64:
      return static_cast<Out>(r.Read<uint64_t>(what));
    case kI64:
      return static_cast<Out>(r.Read<int64_t>(what));
    case kF32:
      return static_cast<Out>(r.Read<float>(what));
    case kF64:
      return static_cast<Out>(r.Read<double>(what));
    default:
      Fail("internal: ReadScalarAs on type {}", t);
  }
}

bool IsUnsigned(uint32_t t) { return t == kU8 || t == kU16 || t == kU32 || t == kU64; }
bool IsSigned(uint32_t t) { return t == kI8 || t == kI16 || t == kI32 || t == kI64; }
bool IsFloat(uint32_t t) { return t == kF32 || t == kF64; }

class Parser {
 public:
  Parser(const std::string& path, const uint8_t* data, size_t size)
      : path_(path), r_(path, data, size) {}

  Reader& reader() { return r_; }

  bool ReadBool(std::string_view what) {
    const uint8_t b = r_.Read<uint8_t>(what);
    if (b > 1) Fail("{}: {} at offset {} is a bool with value {}", path_, what, r_.pos() - 1, b);
    return b != 0;
  }

  // Reads a value of type `t` (not an array element of a nested array).
  GgufValue ReadValue(uint32_t t, const std::string& key) {
    GgufValue v;
    v.gguf_type = t;
    const std::string what = fmt::format("value of '{}'", Printable(key));
    if (IsUnsigned(t)) {
      v.value = ReadScalarAs<uint64_t>(r_, t, what);
    } else if (IsSigned(t)) {
      v.value = ReadScalarAs<int64_t>(r_, t, what);
    } else if (IsFloat(t)) {
      v.value = ReadScalarAs<double>(r_, t, what);
    } else if (t == kBool) {
      v.value = ReadBool(what);
    } else if (t == kString) {
      v.value = r_.ReadString(what);
    } else if (t == kArray) {
      v.value = ReadArray(key, 1);
    } else {
      Fail("{}: key '{}' has invalid value type {}", path_, Printable(key), t);
    }
    return v;
  }

  // Reads `u32 element_type | u64 count | elements`. Nested arrays (element type 9) are
  // validated and skipped: GgufValue cannot hold them, so they read as an empty bool array,
  // which no typed getter accepts.
  GgufValue::Array ReadArray(const std::string& key, int depth) {
    const std::string what = fmt::format("array '{}'", Printable(key));
    if (depth > kMaxArrayDepth) {
      Fail("{}: {} nests arrays deeper than {}", path_, what, kMaxArrayDepth);
    }
    const uint32_t et = r_.Read<uint32_t>(what + " element type");
    const size_t min_size = MinEncodedSize(et);
    if (min_size == 0) Fail("{}: {} has invalid element type {}", path_, what, et);
    const uint64_t count = r_.Read<uint64_t>(what + " count");
    // Guard the allocation: every element takes at least min_size bytes of what is left, so
    // fixed-size arrays allocate at most 8 bytes per byte actually present.
    if (count > r_.remaining() / min_size) {
      Fail("{}: {} has {} elements of type {}, more than the {} bytes left in the file can hold",
           path_, what, count, GgufTypeName(et), r_.remaining());
    }
    const auto n = static_cast<size_t>(count);
    if (IsUnsigned(et)) {
      std::vector<uint64_t> a(n);
      for (auto& x : a) x = ReadScalarAs<uint64_t>(r_, et, what);
      return a;
    }
    if (IsSigned(et)) {
      std::vector<int64_t> a(n);
      for (auto& x : a) x = ReadScalarAs<int64_t>(r_, et, what);
      return a;
    }
    if (IsFloat(et)) {
      std::vector<double> a(n);
      for (auto& x : a) x = ReadScalarAs<double>(r_, et, what);
      return a;
    }
    if (et == kBool) {
      std::vector<bool> a(n);
      for (size_t i = 0; i < n; ++i) a[i] = ReadBool(what);
      return a;
    }
    if (et == kString) {
      // Strings are grown as they are read: a bogus count fails at the first missing string
      // instead of first allocating n empty strings (4x the bytes the count was checked against).
      const std::string element = what + " element";
      std::vector<std::string> a;
      a.reserve(std::min<size_t>(n, 1 << 16));
      for (size_t i = 0; i < n; ++i) a.push_back(r_.ReadString(element));
      return a;
    }
    for (size_t i = 0; i < n; ++i) ReadArray(key, depth + 1);  // kArray: validate and skip
    return std::vector<bool>{};
  }

 private:
  const std::string& path_;
  Reader r_;
};

bool MulOverflows(uint64_t a, uint64_t b, uint64_t limit) { return b != 0 && a > limit / b; }

// The held value as a human-readable type name for error messages.
std::string ValueTypeName(const GgufValue& v) { return GgufTypeName(v.gguf_type); }

}  // namespace

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

GgufFile GgufFile::Open(const std::string& path) { return Parse(MappedFile::Open(path)); }

GgufFile GgufFile::Parse(MappedFile file) {
  GgufFile f;
  f.file_ = std::move(file);
  const std::string& path = f.file_.path();
  const uint8_t* base = f.file_.data();
  const size_t size = f.file_.size();
  Parser p(path, base, size);
  Reader& r = p.reader();

  // ---- Header ----
  if (size < 4) Fail("{}: not a GGUF file: {} bytes, too short for the magic", path, size);
  const uint32_t magic = r.Read<uint32_t>("magic");
  if (magic != kMagic) {
    Fail("{}: not a GGUF file: magic is {:02x} {:02x} {:02x} {:02x}, expected \"GGUF\"", path,
         base[0], base[1], base[2], base[3]);
  }
  f.version_ = r.Read<uint32_t>("version");
  if (f.version_ != 2 && f.version_ != 3) {
    if (f.version_ == 0x02000000u || f.version_ == 0x03000000u) {
      Fail("{}: big-endian GGUF files are not supported", path);
    }
    Fail("{}: unsupported GGUF version {} (supported: 2, 3)", path, f.version_);
  }
  const uint64_t n_tensors = r.Read<uint64_t>("tensor count");
  const uint64_t n_kv = r.Read<uint64_t>("metadata count");
  // Cheap sanity bounds before looping: each entry takes at least this many bytes.
  if (n_kv > r.remaining() / (8 + 4 + 1)) {
    Fail("{}: metadata count {} is impossible for a {}-byte file", path, n_kv, size);
  }
  if (n_tensors > r.remaining() / (8 + 4 + 8 + 4 + 8)) {
    Fail("{}: tensor count {} is impossible for a {}-byte file", path, n_tensors, size);
  }

  // ---- Metadata ----
  for (uint64_t i = 0; i < n_kv; ++i) {
    const size_t at = r.pos();
    std::string key = r.ReadString(fmt::format("key of metadata entry {}", i));
    const uint32_t type = r.Read<uint32_t>(fmt::format("type of '{}'", Printable(key)));
    GgufValue value = p.ReadValue(type, key);
    if (f.kv_.count(key) != 0) {
      Fail("{}: duplicate metadata key '{}' at offset {}", path, Printable(key), at);
    }
    f.kv_.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* a = f.Find("general.alignment")) {
    if (!IsUnsigned(a->gguf_type) && !IsSigned(a->gguf_type)) {
      Fail("{}: general.alignment has type {}, expected an integer", path, ValueTypeName(*a));
    }
    const int64_t align = f.RequireInt("general.alignment");
    if (align <= 0 || !std::has_single_bit(static_cast<uint64_t>(align)) || align > (1 << 30)) {
      Fail("{}: general.alignment {} is not a power of two in [1, 2^30]", path, align);
    }
    f.alignment_ = static_cast<size_t>(align);
  }

  // ---- Tensor directory ----
  f.tensors_.reserve(std::min<uint64_t>(n_tensors, 4096));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.ReadString(fmt::format("name of tensor {}", i));
    const std::string name = Printable(t.name);
    const uint32_t n_dims = r.Read<uint32_t>(fmt::format("n_dims of tensor '{}'", name));
    if (n_dims < 1 || n_dims > kMaxDims) {
      Fail("{}: tensor '{}' has {} dimensions (supported: 1 to {})", path, name, n_dims, kMaxDims);
    }
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = r.Read<uint64_t>(fmt::format("dims of tensor '{}'", name));
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        Fail("{}: tensor '{}' has invalid dimension {} = {}", path, name, d,
             static_cast<int64_t>(dim));
      }
      if (MulOverflows(n_elements, dim, std::numeric_limits<int64_t>::max())) {
        Fail("{}: tensor '{}' element count overflows", path, name);
      }
      n_elements *= dim;
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.type_id = r.Read<uint32_t>(fmt::format("type of tensor '{}'", name));
    t.offset = r.Read<uint64_t>(fmt::format("offset of tensor '{}'", name));

    const std::string type_name = TypeName(t.type_id);
    if (type_name.starts_with("type")) {  // TypeName's spelling of ids it does not know
      Fail("{}: tensor '{}' has unknown GGML type id {}", path, name, t.type_id);
    }
    const auto type = static_cast<GgmlType>(t.type_id);
    const int64_t block = BlockSize(type);
    if (t.dims[0] % block != 0) {
      Fail("{}: tensor '{}' of type {} has row length {}, not a multiple of the block size {}",
           path, name, type_name, t.dims[0], block);
    }
    // Bytes of a row, then of the tensor, checked: an F32 row of 2^62 elements is 2^64 bytes,
    // which wrapped to 0 and let a tensor of 2^62 elements pass as a 0-byte one.
    const uint64_t row_blocks = static_cast<uint64_t>(t.dims[0] / block);
    const uint64_t rows = n_elements / static_cast<uint64_t>(t.dims[0]);
    if (MulOverflows(row_blocks, BlockBytes(type), std::numeric_limits<size_t>::max()) ||
        MulOverflows(RowBytes(type, t.dims[0]), rows, std::numeric_limits<size_t>::max())) {
      Fail("{}: tensor '{}' byte size overflows", path, name);
    }
    const uint64_t row_bytes = RowBytes(type, t.dims[0]);
    t.nbytes = static_cast<size_t>(row_bytes * rows);
    if (t.offset % f.alignment_ != 0) {
      Fail("{}: tensor '{}' offset {} is not a multiple of the alignment {}", path, name, t.offset,
           f.alignment_);
    }
    if (f.tensor_index_.count(t.name) != 0) {
      Fail("{}: duplicate tensor name '{}'", path, name);
    }
    f.tensor_index_.emplace(t.name, f.tensors_.size());
    f.tensors_.push_back(std::move(t));
  }

  // ---- Data section ----
  if (f.tensors_.empty()) return f;
  const size_t data_start = (r.pos() + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (data_start > size) {
    Fail("{}: truncated: data section starts at offset {}, file has {} bytes", path, data_start,
         size);
  }
  const uint64_t data_size = size - data_start;
  std::vector<std::pair<uint64_t, size_t>> ranges;  // (offset, tensor index)
  for (size_t i = 0; i < f.tensors_.size(); ++i) {
    GgufTensorInfo& t = f.tensors_[i];
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      Fail(
          "{}: tensor '{}' ({} bytes at data offset {}) extends past the end of the file "
          "(data section is {} bytes)",
          path, Printable(t.name), t.nbytes, t.offset, data_size);
    }
    t.data = base + data_start + t.offset;
    ranges.emplace_back(t.offset, i);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    const GgufTensorInfo& prev = f.tensors_[ranges[i - 1].second];
    const GgufTensorInfo& cur = f.tensors_[ranges[i].second];
    if (prev.offset + prev.nbytes > cur.offset) {
      Fail("{}: tensors '{}' and '{}' overlap", path, Printable(prev.name), Printable(cur.name));
    }
  }
  return f;
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(&v->value)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v->value)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail("{}: key '{}' value {} does not fit in int64", path(), key, *u);
    }
    return static_cast<int64_t>(*u);
  }
  Fail("{}: key '{}' has type {}, expected an integer", path(), key, ValueTypeName(*v));
}

std::optional<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* d = std::get_if<double>(&v->value)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v->value)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<uint64_t>(&v->value)) return static_cast<double>(*u);
  Fail("{}: key '{}' has type {}, expected a number", path(), key, ValueTypeName(*v));
}

std::optional<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* b = std::get_if<bool>(&v->value)) return *b;
  Fail("{}: key '{}' has type {}, expected a bool", path(), key, ValueTypeName(*v));
}

std::optional<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(&v->value)) return *s;
  Fail("{}: key '{}' has type {}, expected a string", path(), key, ValueTypeName(*v));
}

std::optional<std::vector<std::string>> GgufFile::GetStringArray(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* a = std::get_if<GgufValue::Array>(&v->value)) {
    if (const auto* s = std::get_if<std::vector<std::string>>(a)) return *s;
  }
  Fail("{}: key '{}' is not an array of strings", path(), key);
}

std::optional<std::vector<double>> GgufFile::GetFloatArray(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* a = std::get_if<GgufValue::Array>(&v->value)) {
    if (const auto* d = std::get_if<std::vector<double>>(a)) return *d;
    if (const auto* i = std::get_if<std::vector<int64_t>>(a)) {
      return std::vector<double>(i->begin(), i->end());
    }
    if (const auto* u = std::get_if<std::vector<uint64_t>>(a)) {
      return std::vector<double>(u->begin(), u->end());
    }
  }
  Fail("{}: key '{}' is not an array of numbers", path(), key);
}

std::optional<std::vector<int64_t>> GgufFile::GetIntArray(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (const auto* a = std::get_if<GgufValue::Array>(&v->value)) {
    if (const auto* i = std::get_if<std::vector<int64_t>>(a)) return *i;
    if (const auto* u = std::get_if<std::vector<uint64_t>>(a)) {
      std::vector<int64_t> out;
      out.reserve(u->size());
      for (uint64_t x : *u) {
        if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          Fail("{}: key '{}' element {} does not fit in int64", path(), key, x);
        }
        out.push_back(static_cast<int64_t>(x));
      }
      return out;
    }
  }
  Fail("{}: key '{}' is not an array of integers", path(), key);
}

int64_t GgufFile::RequireInt(const std::string& key) const {
  if (auto v = GetInt(key)) return *v;
  Fail("{}: missing metadata key '{}'", path(), key);
}

double GgufFile::RequireFloat(const std::string& key) const {
  if (auto v = GetFloat(key)) return *v;
  Fail("{}: missing metadata key '{}'", path(), key);
}

std::string GgufFile::RequireString(const std::string& key) const {
  if (auto v = GetString(key)) return *v;
  Fail("{}: missing metadata key '{}'", path(), key);
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<float> GgufFile::ReadF32(const GgufTensorInfo& t) const {
  if (!IsSupportedType(t.type_id)) {
    Fail("{}: tensor '{}' has type {}, which this engine cannot dequantize", path(),
         Printable(t.name), TypeName(t.type_id));
  }
  if (t.data == nullptr) Fail("{}: tensor '{}' has no data", path(), Printable(t.name));
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  Dequantize(static_cast<GgmlType>(t.type_id), t.data, t.n_elements(), out.data());
  return out;
}

}  // namespace starattn
