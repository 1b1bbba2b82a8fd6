# A 2-replica XGBoost job over Rabit (xgboost 1.7 collective): rank 0 (the
# Master) runs the tracker at MASTER_ADDR:MASTER_PORT; every rank trains on
# its shard; rank 0 prints the global RMSE per round as JSON lines.
import json
import os

import numpy as np
import xgboost as xgb
from xgboost import collective, tracker

rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
host, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
if rank == 0:
    t = tracker.RabitTracker(host_ip=host, n_workers=world, port=port)
    t.start(world)

env = {"DMLC_TRACKER_URI": host, "DMLC_TRACKER_PORT": port, "DMLC_TASK_ID": str(rank)}
with collective.CommunicatorContext(**env):
    assert collective.get_world_size() == world, collective.get_world_size()
    rng = np.random.default_rng(rank)
    X = rng.normal(size=(200, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + rng.normal(scale=0.1, size=200)
    res = {}
    xgb.train({"objective": "reg:squarederror", "max_depth": 3, "nthread": 1, "tree_method": "hist"},
              xgb.DMatrix(X, label=y), num_boost_round=4, evals=[(xgb.DMatrix(X, label=y), "train")],
              evals_result=res, verbose_eval=False)
    if rank == 0:
        for step, v in enumerate(res["train"]["rmse"]):
            print(json.dumps({"step": step, "rmse": v}), flush=True)
if rank == 0:
    t.join()
