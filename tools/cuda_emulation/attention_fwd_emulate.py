# Host emulation of AttentionFwdKernel's per-lane logic (engine/cuda/attention_fwd.cu), used
# while no GPU was available: ldmatrix (.trans) and mma.m16n8k16 fragments per the PTX ISA
# layouts, the kernel's address formulas, masking and online softmax, in float64 (no bf16
# rounding), one CTA of 4 warps, checked against numpy attention. Run: python3 <this file>.
# Keep the index formulas in sync with the kernel when it changes.
import numpy as np
rng = np.random.default_rng(0)

def ldm(smem, addrs, trans):
    # addrs: list of 32 (row, col); returns regs[lane][i] = (lo, hi)
    regs = [[None]*4 for _ in range(32)]
    for i in range(4):
        M = np.array([smem[addrs[8*i+r][0], addrs[8*i+r][1]:addrs[8*i+r][1]+8] for r in range(8)])
        for t in range(32):
            g, q = t//4, t%4
            regs[t][i] = (M[2*q, g], M[2*q+1, g]) if trans else (M[g, 2*q], M[g, 2*q+1])
    return regs

def mma(C, A, b0, b1):
    # C[lane][4], A[lane][4] pairs, b0/b1[lane] pairs
    Am = np.zeros((16,16)); Bm = np.zeros((16,8)); Cm = np.zeros((16,8))
    for t in range(32):
        g, q = t//4, t%4
        for e in range(2):
            Am[g, 2*q+e] = A[t][0][e]; Am[g+8, 2*q+e] = A[t][1][e]
            Am[g, 2*q+8+e] = A[t][2][e]; Am[g+8, 2*q+8+e] = A[t][3][e]
            Bm[2*q+e, g] = b0[t][e]; Bm[2*q+8+e, g] = b1[t][e]
            Cm[g, 2*q+e] = C[t][e]; Cm[g+8, 2*q+e] = C[t][2+e]
    Cm = Cm + Am @ Bm
    for t in range(32):
        g, q = t//4, t%4
        C[t] = [Cm[g,2*q], Cm[g,2*q+1], Cm[g+8,2*q], Cm[g+8,2*q+1]]

def run(n_q, n_kv, D, causal, diag, q0=0):
    kBr, kBc, S = 64, 64, D+8
    Q = rng.uniform(-2,2,(n_q,D)); K = rng.uniform(-1,1,(n_kv,D)); V = rng.uniform(-1,1,(n_kv,D))
    scale = 1/np.sqrt(D); sl2 = scale*np.log2(np.e)
    q_rows = min(kBr, n_q-q0)
    kv_end = n_kv if not causal else max(0, min(n_kv, q0+q_rows-1+diag+1))
    n_tiles = (kv_end + kBc - 1)//kBc
    sQ = np.zeros((kBr, S)); sQ[:q_rows,:D] = Q[q0:q0+q_rows]
    OUT = np.full((n_q, D), np.nan); LSE = np.full(n_q, np.nan)
    for warp in range(4):
        qf = [ldm(sQ, [(warp*16 + (l & 15), kk*16 + (l >> 4)*8) for l in range(32)], False) for kk in range(D//16)]
        o = [[[0.0]*4 for _ in range(32)] for _ in range(D//8)]
        m = [[-np.inf]*2 for _ in range(32)]; lsum = [[0.0]*2 for _ in range(32)]
        for t in range(n_tiles):
            j0 = t*kBc; valid = min(kBc, kv_end-j0)
            sK = np.zeros((kBc,S)); sV = np.zeros((kBc,S))
            sK[:valid,:D] = K[j0:j0+valid]; sV[:valid,:D] = V[j0:j0+valid]
            s = [[[0.0]*4 for _ in range(32)] for _ in range(kBc//8)]
            for kk in range(D//16):
                for nb2 in range(kBc//16):
                    b = ldm(sK, [(nb2*16 + (l & 7) + ((l >> 4) << 3), kk*16 + ((l >> 3) & 1)*8) for l in range(32)], False)
                    mma(s[2*nb2], qf[kk], [b[l][0] for l in range(32)], [b[l][1] for l in range(32)])
                    mma(s[2*nb2+1], qf[kk], [b[l][2] for l in range(32)], [b[l][3] for l in range(32)])
            need = (j0+kBc > n_kv) or (causal and j0+kBc-1 > q0+diag)
            for lane in range(32):
                row0 = q0 + warp*16 + (lane >> 2); col0 = (lane & 3)*2
                for nb in range(kBc//8):
                    for e in range(4):
                        x = s[nb][lane][e]*sl2
                        if need:
                            j = j0 + nb*8 + col0 + (e & 1); i = row0 + (e >> 1)*8
                            if j >= n_kv or (causal and j > i+diag): x = -np.inf
                        s[nb][lane][e] = x
            for lane in range(32):
                for r in range(2):
                    quad = [lane & ~3 | k for k in range(4)]
                    mx = max([m[lane][r]] + [s[nb][qq][2*r+e] for qq in quad for nb in range(kBc//8) for e in range(2)])
                    # quad threads share m; emulate with own values of all quad members
                    base = 0.0 if mx == -np.inf else mx
                    s_own = None
                    alpha = np.exp2(m[lane][r]-base)
                    m[lane][r] = mx
                    rs = 0.0
                    for nb in range(kBc//8):
                        for e in range(2):
                            pass
                    lsum[lane][r] = (lsum[lane][r], alpha, base)
            # apply exp after all maxima computed (quad values unchanged until now)
            for lane in range(32):
                for r in range(2):
                    l_old, alpha, base = lsum[lane][r]
                    rs = 0.0
                    for nb in range(kBc//8):
                        for e in range(2):
                            s[nb][lane][2*r+e] = np.exp2(s[nb][lane][2*r+e]-base); rs += s[nb][lane][2*r+e]
                    lsum[lane][r] = l_old*alpha + rs
                    for db in range(D//8):
                        o[db][lane][2*r] *= alpha; o[db][lane][2*r+1] *= alpha
            for kk in range(kBc//16):
                pa = [[(s[2*kk][l][0], s[2*kk][l][1]), (s[2*kk][l][2], s[2*kk][l][3]), (s[2*kk+1][l][0], s[2*kk+1][l][1]), (s[2*kk+1][l][2], s[2*kk+1][l][3])] for l in range(32)]
                for db2 in range(D//16):
                    b = ldm(sV, [(kk*16 + (l & 7) + ((l >> 3) & 1)*8, db2*16 + (l >> 4)*8) for l in range(32)], True)
                    mma(o[2*db2], pa, [b[l][0] for l in range(32)], [b[l][1] for l in range(32)])
                    mma(o[2*db2+1], pa, [b[l][2] for l in range(32)], [b[l][3] for l in range(32)])
        for lane in range(32):
            row0 = q0 + warp*16 + (lane >> 2); col0 = (lane & 3)*2
            for r in range(2):
                quad = [lane & ~3 | k for k in range(4)]
                ssum = sum(lsum[qq][r] for qq in quad)
                i = row0 + r*8
                if i >= n_q: continue
                inv = 1/ssum if ssum > 0 else 0
                for db in range(D//8):
                    OUT[i, db*8+col0] = o[db][lane][2*r]*inv; OUT[i, db*8+col0+1] = o[db][lane][2*r+1]*inv
                if (lane & 3) == 0:
                    LSE[i] = (m[lane][r] + np.log2(ssum))*np.log(2) if ssum > 0 else -np.inf
    # reference
    rows = range(q0, q0+q_rows)
    for i in rows:
        sc = Q[i] @ K.T * scale
        vis = np.ones(n_kv, bool) if not causal else (np.arange(n_kv) <= i+diag)
        if not vis.any():
            assert np.all(OUT[i]==0) and LSE[i]==-np.inf, (i, OUT[i][:4], LSE[i]); continue
        mx = sc[vis].max(); p = np.exp(sc[vis]-mx)
        ref = p @ V[vis] / p.sum(); lref = mx + np.log(p.sum())
        assert np.allclose(OUT[i], ref, atol=1e-9), (i, OUT[i][:4], ref[:4])
        assert abs(LSE[i]-lref) < 1e-9, (i, LSE[i], lref)
    print("ok", n_q, n_kv, D, causal, diag, q0)

run(20, 100, 64, False, 0)
run(64, 130, 64, True, 66)
run(50, 70, 64, True, -30)
run(64, 64, 64, True, 0)
run(130, 200, 64, True, 70, q0=64)
run(130, 90, 128, True, -60, q0=128)
run(70, 65, 128, False, 0, q0=64)
