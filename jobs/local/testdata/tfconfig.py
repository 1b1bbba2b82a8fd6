# A TFJob-style replica without TensorFlow: check TF_CONFIG (cluster of the
# chief, parameter server and workers on 127.0.0.1, distinct ports, this
# replica's task), bind this replica's own address, exit 0.
import json
import os
import socket

cfg = json.loads(os.environ["TF_CONFIG"])
cluster, task = cfg["cluster"], cfg["task"]
assert sorted(cluster) == ["chief", "ps", "worker"], cluster
assert len(cluster["chief"]) == 1 and len(cluster["ps"]) == 1 and len(cluster["worker"]) == 2, cluster
addrs = [a for role in cluster.values() for a in role]
assert len(set(addrs)) == len(addrs), addrs
assert task["type"] == os.environ["FERRY_REPLICA_TYPE"].lower(), task
assert task["index"] == int(os.environ["FERRY_REPLICA_INDEX"]), task
host, port = cluster[task["type"]][task["index"]].rsplit(":", 1)
assert host == "127.0.0.1", host
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(port)))
s.close()
print(f"task={task['type']}:{task['index']} ok=1", flush=True)
