#!/usr/bin/env python3
"""Emulates the index arithmetic of the model's op kernels (engine/cuda/rope.cu, argmax.cu) and
the cuBLASLt layout mapping of engine/cuda/gemm.cu in numpy, against direct formulas. No GPU.
    python3 tools/cuda_emulation/model_ops_emulate.py
"""
import numpy as np


def rope_kernel(x, positions, inv_freq, adjacent, threads):
    """RopeKernel: one block per token, thread i owns frequency i (strided), loops over heads."""
    n, n_heads, head_dim = x.shape
    n_freq = len(inv_freq)
    x = x.copy().reshape(n, n_heads * head_dim)
    for t in range(n):  # blockIdx.x
        pos = float(positions[t])
        for tid in range(threads):  # threadIdx.x
            for i in range(tid, n_freq, threads):
                ang = pos * float(inv_freq[i])
                cs, sn = np.float32(np.cos(ang)), np.float32(np.sin(ang))
                a = 2 * i if adjacent else i
                b = 2 * i + 1 if adjacent else i + n_freq
                for h in range(n_heads):
                    base = h * head_dim
                    x0, x1 = x[t, base + a], x[t, base + b]
                    x[t, base + a] = x0 * cs - x1 * sn
                    x[t, base + b] = x0 * sn + x1 * cs
    return x.reshape(n, n_heads, head_dim)


def rope_reference(x, positions, inv_freq, adjacent):
    """The definition: adjacent pairs (2i, 2i+1) or halves (i, i + rot/2) of the rotated dims."""
    out = x.astype(np.float64).copy()
    half = len(inv_freq)
    for t, p in enumerate(positions):
        for i in range(half):
            a, b = (2 * i, 2 * i + 1) if adjacent else (i, i + half)
            c, s = np.cos(p * inv_freq[i]), np.sin(p * inv_freq[i])
            x0, x1 = out[t, :, a].copy(), out[t, :, b].copy()
            out[t, :, a] = x0 * c - x1 * s
            out[t, :, b] = x0 * s + x1 * c
    return out


def check_rope():
    rng = np.random.default_rng(1)
    for adjacent in (True, False):
        for head_dim, rot in ((64, 64), (128, 128), (64, 32)):
            n, heads = 5, 3
            x = rng.uniform(-1, 1, size=(n, heads, head_dim)).astype(np.float32)
            pos = rng.integers(0, 131072, size=n)
            inv = (10000.0 ** (-np.arange(0, rot, 2) / rot)).astype(np.float32)
            n_freq = len(inv)
            threads = 128 if n_freq >= 128 else (n_freq + 31) // 32 * 32
            got = rope_kernel(x, pos, inv, adjacent, threads)
            want = rope_reference(x, pos, inv.astype(np.float64), adjacent)
            err = np.abs(got - want).max()
            assert err < 1e-5, (adjacent, head_dim, rot, err)
            assert np.array_equal(got[:, :, rot:], x[:, :, rot:])  # unrotated dims untouched
    print("rope: both layouts, full and partial rotation: ok")


def colmajor(buf, rows, cols, ld):
    """A column-major rows x cols view of a flat buffer with leading dimension ld."""
    return np.array([[buf[c * ld + r] for c in range(cols)] for r in range(rows)])


def check_gemm_layout():
    """gemm.cu: row-major y[n, out] = x[n, in] w[out, in]^T as cuBLAS column-major
    D[m=out, n] = op(A)[out, in] * B[in, n], A = w stored [in, out] ld in with TRANSA = T,
    B = x stored [in, n] ld in, D stored [out, n] ld out."""
    rng = np.random.default_rng(2)
    n, k, m = 3, 5, 4  # tokens, in, out
    x = rng.normal(size=(n, k))
    w = rng.normal(size=(m, k))
    a = colmajor(w.ravel(), k, m, k)  # the stored matrix, rows = k, cols = m
    b = colmajor(x.ravel(), k, n, k)
    d = a.T @ b  # op(A) = A^T: [m, k] x [k, n]
    y = np.zeros(n * m)
    for c in range(n):  # D stored column-major with ld = m
        for r in range(m):
            y[c * m + r] = d[r, c]
    assert np.allclose(y.reshape(n, m), x @ w.T)
    print("gemm: row-major y = x w^T through the column-major cuBLASLt layouts: ok")


def check_argmax():
    """argmax.cu: strided per-thread scans (strict >), then a (value, index) tree reduction
    preferring the smaller index on ties; NaN never wins; no number > -inf -> 0."""
    def kernel(row, threads=1024):
        best = [(-np.inf, None)] * threads
        for tid in range(threads):
            bv, bi = -np.inf, None
            for i in range(tid, len(row), threads):
                if row[i] > bv:
                    bv, bi = row[i], i
            best[tid] = (bv, bi)

        def beats(a, b):
            if a[1] is None:
                return False
            if b[1] is None:
                return a[0] > b[0] or a[0] == b[0]
            return a[0] > b[0] or (a[0] == b[0] and a[1] < b[1])
        while len(best) > 1:
            half = len(best) // 2
            best = [best[j + half] if beats(best[j + half], best[j]) else best[j]
                    for j in range(half)]
        return 0 if best[0][1] is None else best[0][1]

    rng = np.random.default_rng(3)
    row = rng.uniform(-5, 5, size=5000).astype(np.float32)
    row[[17, 3001, 4999]] = 9.0
    assert kernel(row) == 17
    row[5] = np.nan
    assert kernel(row) == 17
    assert kernel(np.full(3000, -np.inf, dtype=np.float32)) == 0
    print("argmax: first index on ties, NaN ignored, all -inf -> 0: ok")


if __name__ == "__main__":
    check_rope()
    check_gemm_layout()
    check_argmax()
