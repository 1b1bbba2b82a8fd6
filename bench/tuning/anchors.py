#!/usr/bin/python3
"""Anchors for bench/tuning: Optuna's TPE and a scikit-learn GP with EI,
over the same test functions as bench/tuning/main.go, printing the same
JSON (best loss after 50 and 100 evaluations per seed, and the time of a
suggestion from 100 observations).

    /usr/bin/python3 bench/tuning/anchors.py --algo sklearn-gp --func branin --seeds 20

Needs Debian's python3-optuna (3.1), python3-sklearn (1.2), numpy, scipy.
"""

import argparse
import json
import math
import time
import warnings

import numpy as np

BRANIN = ([(-5.0, 10.0), (0.0, 15.0)], None)
HARTMANN6 = ([(0.0, 1.0)] * 6, None)


def branin(x):
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi**2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
               [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(x):
    x = np.asarray(x)
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


FUNCS = {"branin": (branin, [(-5.0, 10.0), (0.0, 15.0)]), "hartmann6": (hartmann6, [(0.0, 1.0)] * 6)}


# --- scikit-learn GP with EI ----------------------------------------------

class SklearnGP:
    """GP-EI: Matérn-5/2 ARD + WhiteKernel, normalize_y, on the unit cube;
    10 initial points (Latin hypercube), then EI maximised over 1000 random
    candidates and L-BFGS-B from the best 3 (fewer than the 2000 and 5 of
    a first version, to fit the benchmark's time)."""

    def __init__(self, bounds, seed, n_init=10, xi=0.01):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
        from scipy.stats import qmc
        self.lo = np.array([b[0] for b in bounds])
        self.hi = np.array([b[1] for b in bounds])
        self.d = len(bounds)
        self.rng = np.random.default_rng(seed)
        self.init = qmc.LatinHypercube(self.d, seed=seed).random(n_init)
        self.n_init = n_init
        self.xi = xi
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(self.d, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-5, (1e-10, 1e-1))
        self.gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=1,
                                           random_state=seed)
        self.X, self.y = [], []

    def ask(self):
        if len(self.X) < self.n_init:
            return self.init[len(self.X)]
        from scipy.optimize import minimize
        from scipy.stats import norm
        X, y = np.array(self.X), np.array(self.y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.gp.fit(X, y)
        best = y.min()

        def neg_ei(u):
            u = np.atleast_2d(u)
            mu, sd = self.gp.predict(u, return_std=True)
            sd = np.maximum(sd, 1e-12)
            z = (best - mu - self.xi) / sd
            return -((best - mu - self.xi) * norm.cdf(z) + sd * norm.pdf(z))

        cand = self.rng.random((1000, self.d))
        vals = neg_ei(cand)
        order = np.argsort(vals)[:3]
        bx, bv = cand[order[0]], vals[order[0]]
        for i in order:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = minimize(lambda u: float(neg_ei(u)[0]), cand[i], method="L-BFGS-B",
                             bounds=[(0, 1)] * self.d)
            if r.fun < bv:
                bx, bv = r.x, r.fun
        return np.clip(bx, 0, 1)

    def tell(self, u, v):
        self.X.append(np.asarray(u))
        self.y.append(v)

    def point(self, u):
        return self.lo + np.asarray(u) * (self.hi - self.lo)


def run_sklearn(f, bounds, seed, evals, timed):
    opt = SklearnGP(bounds, seed)
    best, trace, t_at_100 = math.inf, [], None
    for i in range(evals):
        u = opt.ask()
        v = f(opt.point(u))
        opt.tell(u, v)
        best = min(best, v)
        trace.append(best)
    if timed and evals >= 100:
        # time one suggestion from the 100 observations
        opt.X, opt.y = opt.X[:100], opt.y[:100]
        t0 = time.perf_counter()
        opt.ask()
        t_at_100 = (time.perf_counter() - t0) * 1000
    return trace, t_at_100


# --- Optuna TPE -----------------------------------------------------------

def run_optuna(f, bounds, seed, evals, timed):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    best, trace = math.inf, []
    t_at_100 = None
    for i in range(evals):
        trial = study.ask()
        x = [trial.suggest_float(f"x{k}", lo, hi) for k, (lo, hi) in enumerate(bounds)]
        v = f(x)
        study.tell(trial, v)
        best = min(best, v)
        trace.append(best)
    if timed and evals == 100:  # one more, timed, from 100 observations
        t0 = time.perf_counter()
        trial = study.ask()
        [trial.suggest_float(f"x{k}", lo, hi) for k, (lo, hi) in enumerate(bounds)]
        t_at_100 = (time.perf_counter() - t0) * 1000
    return trace, t_at_100


RUNNERS = {"sklearn-gp": run_sklearn, "optuna-tpe": run_optuna}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--algo", choices=sorted(RUNNERS), required=True)
    ap.add_argument("--func", choices=sorted(FUNCS), required=True)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--timed", type=int, default=3, help="runs whose suggestion at 100 observations is timed")
    args = ap.parse_args()
    f, bounds = FUNCS[args.func]
    b50, b100, times, total, calls = [], [], [], 0.0, 0
    for seed in range(args.seed0, args.seed0 + args.seeds):
        t0 = time.perf_counter()
        trace, t = RUNNERS[args.algo](f, bounds, seed, args.evals, seed - args.seed0 < args.timed)
        total += time.perf_counter() - t0
        calls += len(trace)
        if len(trace) >= 50:
            b50.append(trace[49])
        if len(trace) >= 100:
            b100.append(trace[99])
        if t is not None:
            times.append(t)
    times.sort()
    print(json.dumps({
        "algo": args.algo, "func": args.func, "evals": args.evals,
        "best_at_50": b50, "best_at_100": b100,
        "ms_per_suggestion": times[len(times) // 2] if times else None,
        # a whole run's time per evaluation (the function's included: negligible)
        "ms_mean_run": total * 1000 / max(calls, 1),
    }))


if __name__ == "__main__":
    main()
