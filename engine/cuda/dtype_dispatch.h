// Host code: runs f(T*) with T the CUDA type of a 16-bit DType (the element of tag pointers
// passed to templated kernels).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "engine/common/error.h"
#include "engine/model/backend.h"

namespace starattn::cuda {

template <typename F>
void Dispatch16(DType t, F&& f) {
  switch (t) {
    case DType::kBf16:
      f(static_cast<__nv_bfloat16*>(nullptr));
      return;
    case DType::kF16:
      f(static_cast<__half*>(nullptr));
      return;
    case DType::kF32:
      Fail("cuda: weights and activations are 16-bit (bf16 or f16), got f32");
  }
}

}  // namespace starattn::cuda
