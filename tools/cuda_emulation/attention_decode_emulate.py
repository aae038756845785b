# Host emulation of DecodeSplitKernel + DecodeMergeKernel (engine/cuda/attention_decode.cu),
# used while no GPU was available: the kernel's key partition over splits, warps and lane
# groups, the per-lane online softmax, the xor-butterfly merge, the cross-warp merge and the
# split merge, in float64, checked against numpy attention. Run: python3 <this file>.
# Keep the index formulas in sync with the kernel when it changes.
import numpy as np
rng = np.random.default_rng(1)
kMaxGroup, kWarps = 8, 4

def merge(a, b):
    m, l, acc = a; m2, l2, acc2 = b
    mn = max(m, m2)
    if mn == -np.inf: return a
    x, y = np.exp2(m - mn), np.exp2(m2 - mn)
    return (mn, l * x + l2 * y, acc * x + acc2 * y)

def run(n_q, n_kv, H, KVH, D, causal, diag, n_splits):
    G = H // KVH; chunks = (G + kMaxGroup - 1) // kMaxGroup
    Q = rng.uniform(-2, 2, (n_q, H, D)); K = rng.uniform(-1, 1, (n_kv, KVH, D)); V = rng.uniform(-1, 1, (n_kv, KVH, D))
    scale = 1 / np.sqrt(D); sl2 = scale * np.log2(np.e)
    kLanes = D // 8; kKPW = 32 // kLanes; kStep = kWarps * kKPW
    rows = n_q * H
    part_out = np.full((n_splits, rows, D), np.nan); part_lse = np.full((n_splits, rows), np.nan)
    for split in range(n_splits):
        for by in range(KVH * chunks):
            kh, chunk = by // chunks, by % chunks
            for qi in range(n_q):
                h0 = kh * G + chunk * kMaxGroup; ng = min(kMaxGroup, G - chunk * kMaxGroup)
                n_vis = max(0, min(n_kv, qi + diag + 1)) if causal else n_kv
                per = (n_vis + n_splits - 1) // n_splits
                jb0 = min(n_vis, split * per); je = min(n_vis, jb0 + per)
                st = {}  # (warp, lane, g) -> state over this lane's 8 elements
                for w in range(kWarps):
                    for lane in range(32):
                        sub, d0 = lane // kLanes, (lane % kLanes) * 8
                        for g in range(ng):
                            m, l, acc = -np.inf, 0.0, np.zeros(8)
                            jb = jb0 + w * kKPW
                            while jb < je:
                                j = jb + sub
                                if j < je:
                                    dot = (Q[qi, h0 + g] * sl2) @ K[j, kh]  # the lane-group shuffle sum
                                    mn = max(m, dot); a = np.exp2(m - mn); p = np.exp2(dot - mn)
                                    l = l * a + p; acc = acc * a + p * V[j, kh, d0:d0 + 8]; m = mn
                                jb += kStep
                            st[(w, lane, g)] = (m, l, acc)
                    off = kLanes
                    while off < 32:  # butterfly, all lanes at once
                        new = {}
                        for lane in range(32):
                            for g in range(ng):
                                new[(w, lane, g)] = merge(st[(w, lane, g)], st[(w, lane ^ off, g)])
                        st.update(new); off *= 2
                for g in range(ng):
                    sm = [st[(w, 0, g)][0] for w in range(kWarps)]; sl = [st[(w, 0, g)][1] for w in range(kWarps)]
                    sacc = np.array([np.concatenate([st[(w, lane, g)][2] for lane in range(kLanes)]) for w in range(kWarps)])
                    mx = max(sm); row = qi * H + h0 + g
                    if mx == -np.inf:
                        part_out[split, row] = 0; part_lse[split, row] = -np.inf
                    else:
                        a = np.exp2(np.array(sm) - mx); lsum = (np.array(sl) * a).sum()
                        part_out[split, row] = (sacc * a[:, None]).sum(0) / lsum
                        part_lse[split, row] = (mx + np.log2(lsum)) * np.log(2)
    out = np.zeros((rows, D)); lse = np.zeros(rows)
    for r in range(rows):
        live = [s for s in range(n_splits) if np.isfinite(part_lse[s, r])]
        if not live: lse[r] = -np.inf; continue
        mx = max(part_lse[s, r] for s in live); w = np.array([np.exp(part_lse[s, r] - mx) for s in live])
        out[r] = (w[:, None] * part_out[live, r]).sum(0) / w.sum(); lse[r] = mx + np.log(w.sum())
    for qi in range(n_q):
        for h in range(H):
            r = qi * H + h; kh = h // G
            vis = (np.arange(n_kv) <= qi + diag) if causal else np.ones(n_kv, bool)
            if not vis.any():
                assert np.all(out[r] == 0) and lse[r] == -np.inf; continue
            sc = K[vis, kh] @ Q[qi, h] * scale; mx = sc.max(); p = np.exp(sc - mx)
            assert np.allclose(out[r], p @ V[vis, kh] / p.sum(), atol=1e-9), (qi, h)
            assert abs(lse[r] - (mx + np.log(p.sum()))) < 1e-9, (qi, h)
    print("ok", n_q, n_kv, H, KVH, D, causal, diag, n_splits)

run(1, 37, 4, 2, 64, True, 36, 3)
run(2, 100, 12, 1, 128, True, 60, 4)   # group 12: two head chunks, the second ragged
run(1, 50, 2, 2, 64, True, -10, 2)     # no visible key
run(3, 20, 2, 1, 64, False, 0, 7)      # more splits than keys per split
