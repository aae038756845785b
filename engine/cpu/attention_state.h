// The attention state of a set of query rows over some keys: the normalised output and the
// natural-log log-sum-exp of the scaled scores. States over disjoint key sets merge exactly:
//   m = max_s lse_s;  w_s = exp(lse_s - m);  out = sum_s w_s out_s / sum_s w_s;
//   lse = m + log(sum_s w_s)
// An empty state (no visible key) has lse = -inf and contributes nothing. lse = +inf is read as
// empty too: it is the value flash-attn writes for fully masked rows; no kernel here writes it.
// NaN lse is treated as empty as well (it can only come from an upstream bug, and must not
// poison the other states). A row whose states are all empty is empty: out = 0, lse = -inf.
#pragma once

#include <cstdint>

namespace starattn::cpu {

// True when a state with this lse contributes to a merge.
inline bool LseIsLive(float lse) {
  return lse > -__builtin_huge_valf() && lse < __builtin_huge_valf();
}

// Merges n_states states row by row.
//   outs: [n_states, n_rows, dim]   lses: [n_states, n_rows]
//   out:  [n_rows, dim]             lse:  [n_rows]
// out/lse may alias the first state.
void MergeStates(const float* outs, const float* lses, int64_t n_states, int64_t n_rows,
                 int64_t dim, float* out, float* lse);

// Merges state b into state a in place (two-state form of MergeStates).
//   out_a, out_b: [n_rows, dim]   lse_a, lse_b: [n_rows]
void MergeStateInto(float* out_a, float* lse_a, const float* out_b, const float* lse_b,
                    int64_t n_rows, int64_t dim);

}  // namespace starattn::cpu
