#include "engine/model/backend.h"

#include "engine/common/error.h"

namespace starattn {

int64_t DTypeBytes(DType t) {
  switch (t) {
    case DType::kF32:
      return 4;
    case DType::kBf16:
    case DType::kF16:
      return 2;
  }
  return 4;
}

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kBf16:
      return "bf16";
    case DType::kF16:
      return "f16";
  }
  return "?";
}

DType ParseDType(std::string_view s) {
  if (s == "f32" || s == "fp32") return DType::kF32;
  if (s == "bf16") return DType::kBf16;
  if (s == "f16" || s == "fp16") return DType::kF16;
  Fail("unknown element type '{}' (f32, bf16, f16)", s);
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    Release();
    owner_ = o.owner_;
    data_ = o.data_;
    bytes_ = o.bytes_;
    o.owner_ = nullptr;
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

void Buffer::Release() {
  if (owner_ != nullptr && data_ != nullptr) owner_->Free(data_);
  owner_ = nullptr;
  data_ = nullptr;
  bytes_ = 0;
}

void* Buffer::Detach() {
  void* p = data_;
  owner_ = nullptr;
  data_ = nullptr;
  bytes_ = 0;
  return p;
}

}  // namespace starattn
