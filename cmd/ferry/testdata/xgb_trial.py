# A tuning trial: XGBoost regression on a small data set made here (fixed
# seed, so every trial sees the same data), with the trial's eta and
# max_depth; the validation RMSE of every boosting round is printed as a
# JSON line, which the job's metrics collector reads.
import argparse
import json
import time

import numpy as np
import xgboost as xgb

p = argparse.ArgumentParser()
p.add_argument("--eta", type=float, required=True)
p.add_argument("--max_depth", type=int, required=True)
a = p.parse_args()

rng = np.random.default_rng(42)
X = rng.normal(size=(600, 6))
y = np.sin(X[:, 0] * 2) + X[:, 1] ** 2 - X[:, 2] * X[:, 3] + rng.normal(scale=0.1, size=600)
dtrain = xgb.DMatrix(X[:450], label=y[:450])
dvalid = xgb.DMatrix(X[450:], label=y[450:])
res = {}
xgb.train({"objective": "reg:squarederror", "eta": a.eta, "max_depth": a.max_depth, "nthread": 1, "tree_method": "hist", "seed": 0},
          dtrain, num_boost_round=12, evals=[(dvalid, "valid")], evals_result=res, verbose_eval=False)
for step, v in enumerate(res["valid"]["rmse"], start=1):
    print(json.dumps({"step": step, "rmse": v}), flush=True)
    time.sleep(0.05)
