// Package local runs Ferry jobs on this machine, the embedded default
// backend: each replica is a local process in its own process group, given
// the environment contract the Kubeflow training operators give pods, with
// every address on 127.0.0.1 and free ports:
//
//   - pytorch: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, and torchrun's
//     PET_MASTER_ADDR, PET_MASTER_PORT, PET_NNODES, PET_NODE_RANK,
//     PET_NPROC_PER_NODE;
//   - tensorflow: TF_CONFIG with the cluster (chief, ps, worker; one
//     127.0.0.1:port each) and the replica's task;
//   - xgboost: MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, WORKER_PORT,
//     WORKER_ADDRS (rank 0, the Master, runs the Rabit tracker);
//   - mpi: a hostfile "localhost slots=N" and the Launcher running mpirun
//     (OpenMPI; as root with --allow-run-as-root), which starts the ranks:
//     Workers are no processes of their own here;
//   - paddle: PADDLE_MASTER, PADDLE_NNODES, PADDLE_JOB_ID, and
//     PADDLE_SERVER_NUM / PADDLE_TRAINER_NUM with a Master;
//   - mxnet: DMLC_PS_ROOT_URI, DMLC_PS_ROOT_PORT, DMLC_NUM_SERVER,
//     DMLC_NUM_WORKER, DMLC_ROLE and MX_CONFIG;
//   - jax: COORDINATOR_ADDRESS, COORDINATOR_PORT, NUM_PROCESSES, PROCESS_ID.
//
// Every replica also gets PYTHONUNBUFFERED=1, FERRY_JOB_NAME,
// FERRY_JOB_UID, FERRY_REPLICA_TYPE, FERRY_REPLICA_INDEX, FERRY_RUN_ID (the
// job's tracking run), OMP_NUM_THREADS from its CPU request, and, where
// `nvidia-smi -L` lists GPUs, CUDA_VISIBLE_DEVICES with the devices given to
// it alone (empty for replicas that ask for none). Memory requests are not
// enforced locally.
//
// # State on disk
//
// Options.Dir holds a directory per job: job.json (spec, status, the pid
// of each replica, ports, how far metrics were parsed), logs/<role>-<i>.log
// (stdout and stderr; restarts append), exit/ and work/ (the working files).
//
// Replicas run as `/bin/sh -c '"$@"; echo $? > exit/<replica>.<attempt>'`,
// the shell leading the replica's process group. A replica's output goes
// straight to its log file, not through the Backend, so replicas keep
// running when notebookd stops; a new Backend over the same directory
// re-attaches them: it cannot wait(2) on processes that are not its
// children, so it polls /proc/<pid> (checking the start time against pid
// reuse) and reads the exit code from the file the shell wrote. A replica
// that vanished without a file counts as killed (exit code 137).
//
// Stopping a job (Cancel, Delete, the active deadline, the clean-pod
// policy) sends SIGTERM to each replica's process group, SIGKILL after
// Options.GracePeriod, and SIGKILL to every process whose environment holds
// the job's FERRY_JOB_UID, so no process of the job is left behind even if
// it left its group.
package local
