#include "engine/model/kv_cache.h"

#include "engine/common/error.h"

namespace starattn {

KvCache::KvCache(Backend& be, int64_t capacity)
    : be_(&be),
      dtype_(be.kv_dtype()),
      n_layers_(be.config().n_layers),
      capacity_(capacity),
      row_elems_(be.config().n_kv_heads * be.config().head_dim),
      row_bytes_(row_elems_ * DTypeBytes(be.kv_dtype())) {
  if (capacity < 0) Fail("KV cache: negative capacity {}", capacity);
  data_ = be.Alloc(2 * n_layers_ * capacity_ * row_bytes_, "the KV cache");
}

void* KvCache::k_at(int64_t layer, int64_t row) const {
  return data_.at(((2 * layer) * capacity_ + row) * row_bytes_);
}
void* KvCache::v_at(int64_t layer, int64_t row) const {
  return data_.at(((2 * layer + 1) * capacity_ + row) * row_bytes_);
}

void KvCache::CheckRows(int64_t row, int64_t n, const char* what) const {
  if (row < 0 || n < 0 || row + n > capacity_) {
    Fail("KV cache full: {} rows [{}, {}) beyond capacity {}", what, row, row + n, capacity_);
  }
}

void KvCache::Write(int64_t layer, int64_t row, const void* k, const void* v, int64_t n) {
  CheckRows(row, n, "writing");
  be_->Convert(k, be_->act_dtype(), k_at(layer, row), dtype_, n * row_elems_);
  be_->Convert(v, be_->act_dtype(), v_at(layer, row), dtype_, n * row_elems_);
}

void KvCache::CopyRows(const KvCache& src, int64_t src_row, int64_t row, int64_t n) {
  CheckRows(row, n, "copying");
  src.CheckRows(src_row, n, "copying from");
  if (src.dtype_ != dtype_ || src.row_bytes_ != row_bytes_ || src.n_layers_ != n_layers_) {
    Fail("KV cache: copying rows between caches of different shapes or types");
  }
  for (int64_t l = 0; l < n_layers_; ++l) {
    be_->Copy(k_at(l, row), src.k_at(l, src_row), n * row_bytes_);
    be_->Copy(v_at(l, row), src.v_at(l, src_row), n * row_bytes_);
  }
}

void KvCache::Resize(int64_t n) {
  if (n < 0 || n > capacity_) Fail("KV cache: size {} outside capacity {}", n, capacity_);
  size_ = n;
}

int64_t KvCache::used_bytes() const { return 2 * n_layers_ * size_ * row_bytes_; }
int64_t KvCache::reserved_bytes() const { return 2 * n_layers_ * capacity_ * row_bytes_; }

}  // namespace starattn
