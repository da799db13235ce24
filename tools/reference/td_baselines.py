#!/usr/bin/python3
"""Total dependency the way peers compute it, on systems dumped by `techdep_bench dump-td`.

Methods (docs/performance.md, "Baselines"):
  inv     typical user, pymrio-style: form the global coefficient matrix A (N = countries x sectors
          square), invert I - A every step (Leontief inverse), multiply out.
  solve   typical user, a little better: form A, LU-solve (I - A) X = F for the focus buyers'
          demand columns every step.
  expert  the engine's algorithm in NumPy: A never formed, Jacobi sweeps on the structured
          operator (per-sector origin mixes times input coefficients), all origins as right-hand
          sides at once (batched matmul), warm-started from the previous step.

Every method's answer is compared with the engine's (max absolute difference over every focus
buyer, sector and origin of every timed step). `--steps N` times only the first N dumped steps
(for the largest workloads, where the result is extrapolated by the harness and labelled so).
Prints one JSON object. Needs Debian's python3-numpy and python3-scipy (tools/bench/packages.txt).
"""

import argparse
import json
import os
import time

import numpy as np
import scipy.linalg

TOLERANCE = 1e-13  # the engine's kDependencyTolerance (include/techdep/matrix/total_dependency.hpp)


def blas_info():
    try:
        import threadpoolctl
        for pool in threadpoolctl.threadpool_info():
            if pool.get("internal_api") == "openblas":
                return {"blas": "openblas " + str(pool.get("version")),
                        "blas_core": pool.get("architecture"), "blas_threads": pool.get("num_threads")}
    except ImportError:
        pass
    return {"blas": "unknown", "blas_core": os.environ.get("OPENBLAS_CORETYPE", "default")}


def load(dump_dir):
    with open(os.path.join(dump_dir, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    c, s, d = meta["countries"], meta["sectors"], meta["dumped"]
    focus = meta["focus"]
    raw = lambda name: np.fromfile(os.path.join(dump_dir, name), dtype="<f8")
    return {
        "C": c, "S": s, "focus": focus,
        "a": raw("inputs.f64").reshape(s, s),                    # a[input s'][output s]
        "initial": raw("initial_share.f64").reshape(c, s, c),    # S0[c][s][k]
        "share": raw("share.f64").reshape(d, c, s, c),           # S[c][s][k]
        "shortage": raw("shortage.f64").reshape(d, c, s),        # U[c][s]
        "td": raw("td.f64").reshape(d, len(focus), s, c),        # engine's TD[c][s][k]
    }


def origin_mix(w, share, shortage):
    """mix[c][s][k]: c's purchases of s by origin, normalised over what is served."""
    served = 1.0 - shortage
    none = ~(served > 0.0)
    mix = share / np.where(none, 1.0, served)[:, :, None]
    mix[none] = w["initial"][none]
    return mix


def global_matrix(w, mix):
    """A[(k, s'), (c, s)] = a[s'][s] mix[c][s'][k]: the dense N x N matrix pymrio works with."""
    C, S = w["C"], w["S"]
    # A[k, s', c, s] = mix[c, s', k] * a[s', s]
    A = np.einsum("cpk,ps->kpcs", mix, w["a"])
    return A.reshape(C * S, C * S)


def value_added(w):
    return 1.0 - w["a"].sum(axis=0)


def typical(w, step, method):
    C, S = w["C"], w["S"]
    share = w["share"][step]
    mix = origin_mix(w, share, w["shortage"][step])
    # I - A built in place: at W3's size (N = 20,000) every extra N x N copy is 3.2 GB.
    M = global_matrix(w, mix)
    np.negative(M, out=M)
    M.flat[::C * S + 1] += 1.0
    v = value_added(w)
    out = np.empty((len(w["focus"]), S, C))
    if method == "inv":
        L = np.linalg.inv(M)                # the Leontief inverse, every step
        Lr = L.reshape(C, S, C, S)          # L[k, s', j, s]
        # TD[c][s][k] = sum_s' v[s'] sum_j L[(k,s'), (j,s)] share[c][s][j]
        VL = np.einsum("p,kpjs->kjs", v, Lr)
        for f, c in enumerate(w["focus"]):
            out[f] = np.einsum("kjs,sj->sk", VL, share[c])
        return out
    # Demand columns of the focus buyers: F[(k, s0), (c, s)] = share[c][s][k] if s0 == s.
    F = np.zeros((C, S, len(w["focus"]), S))
    for f, c in enumerate(w["focus"]):
        for s in range(S):
            F[:, s, f, s] = share[c, s, :]
    X = scipy.linalg.solve(M, F.reshape(C * S, -1), check_finite=False, overwrite_a=True)
    X = X.reshape(C, S, len(w["focus"]), S)
    out[:] = np.einsum("p,kpfs->fsk", v, X)
    return out


class Expert:
    """Y = B + G^T Y by Jacobi sweeps, one column per value-added origin, warm-started."""

    def __init__(self, w):
        C, S = w["C"], w["S"]
        self.base = value_added(w)[:, None, None] * np.eye(C)[None, :, :]  # B[s] = v[s] I
        self.y = self.base.copy()

    def solve(self, w, step):
        share = w["share"][step]
        mix = origin_mix(w, share, w["shortage"][step])
        m = np.ascontiguousarray(mix.transpose(1, 0, 2))  # m[s'] rows c, cols j
        a_t = np.ascontiguousarray(w["a"].T)              # a_t[s][s']
        y = self.y
        for _ in range(100000):
            z = np.matmul(m, y)                                 # z[s'] = mix_s' Y_s'
            nxt = self.base + np.tensordot(a_t, z, axes=1)       # sum_s' a[s'][s] z[s']
            residual = np.abs(nxt - y).max()
            y = nxt
            if residual < TOLERANCE:
                break
        self.y = y
        out = np.empty((len(w["focus"]), w["S"], w["C"]))
        for f, c in enumerate(w["focus"]):
            out[f] = np.einsum("sj,sjk->sk", share[c], y)
        return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump_dir")
    parser.add_argument("--method", choices=["inv", "solve", "expert"], required=True)
    parser.add_argument("--steps", type=int, default=0, help="time only the first N dumped steps")
    args = parser.parse_args()
    w = load(args.dump_dir)
    dumped = w["share"].shape[0]
    steps = dumped if args.steps <= 0 else min(args.steps, dumped)
    expert = Expert(w) if args.method == "expert" else None
    worst = 0.0
    elapsed = 0.0
    for step in range(steps):
        start = time.perf_counter()
        td = expert.solve(w, step) if expert else typical(w, step, args.method)
        elapsed += time.perf_counter() - start
        worst = max(worst, float(np.abs(td - w["td"][step]).max()))
    result = {"method": args.method, "dumped": dumped, "timed_steps": steps,
              "seconds": elapsed, "seconds_all_steps": elapsed * dumped / steps,
              "extrapolated": steps < dumped, "max_abs_diff": worst}
    result.update(blas_info())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
