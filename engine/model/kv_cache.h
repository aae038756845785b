// Keys and values of the tokens a host has seen, per layer, in insertion order: a typed view over
// one buffer of the host's backend, in the backend's K/V type. Every bound is checked here, once,
// for every backend.
#pragma once

#include <cstdint>

#include "engine/model/backend.h"

namespace starattn {

class KvCache {
 public:
  // Reserves `capacity` rows per layer (throws Error before allocating when capacity < 0).
  KvCache(Backend& be, int64_t capacity);
  KvCache(KvCache&&) = default;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  DType dtype() const { return dtype_; }
  int64_t row_elems() const { return row_elems_; }  // n_kv_heads * head_dim
  int64_t row_bytes() const { return row_bytes_; }
  // [capacity, n_kv_heads, head_dim] of layer `layer`, and its rows from `row` on.
  void* k(int64_t layer) const { return k_at(layer, 0); }
  void* v(int64_t layer) const { return v_at(layer, 0); }
  void* k_at(int64_t layer, int64_t row) const;
  void* v_at(int64_t layer, int64_t row) const;

  // Stores n rows of one layer's new K and V at rows [row, row + n), converted from the
  // backend's activation type.   k, v: [n, n_kv_heads, head_dim] (act_dtype)
  void Write(int64_t layer, int64_t row, const void* k, const void* v, int64_t n);
  // Copies rows [src_row, src_row + n) of every layer of `src` to rows [row, row + n).
  void CopyRows(const KvCache& src, int64_t src_row, int64_t row, int64_t n);
  // The first n rows are the cache's content (n <= capacity).
  void Resize(int64_t n);
  // Bytes of K and V held (size() rows) and reserved (capacity rows), all layers.
  int64_t used_bytes() const;
  int64_t reserved_bytes() const;

 private:
  void CheckRows(int64_t row, int64_t n, const char* what) const;

  Backend* be_;
  DType dtype_;
  int64_t n_layers_, capacity_, row_elems_, row_bytes_;
  int64_t size_ = 0;
  Buffer data_;  // [n_layers, 2 (K, V), capacity, n_kv_heads, head_dim]
};

}  // namespace starattn
