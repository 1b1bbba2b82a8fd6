package local

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/ferryml/ferry/jobs"
)

// loopback is the address every replica uses to reach the others.
const loopback = "127.0.0.1"

// Port keys in record.Ports.
const (
	portMaster = "master" // the rendezvous port: PyTorch, XGBoost, Paddle, MXNet scheduler, JAX coordinator
	portWorker = "worker" // XGBoost's WORKER_PORT
)

// portsFor lists the ports a job needs: the rendezvous port, and for a
// TFJob one per replica of its cluster (keyed by replica id).
func portsFor(spec *jobs.Spec) []string {
	switch spec.Kind {
	case jobs.MPI:
		return nil
	case jobs.TensorFlow:
		var keys []string
		for _, t := range spec.ReplicaTypes() {
			if t == jobs.Evaluator {
				continue // not part of the cluster, as in the operator
			}
			for i := range spec.ReplicaCount(t) {
				keys = append(keys, jobs.ReplicaID(t, i))
			}
		}
		return keys
	case jobs.XGBoost:
		if spec.TotalReplicas() > 1 {
			return []string{portMaster, portWorker}
		}
	}
	return []string{portMaster}
}

// freePorts returns n distinct free TCP ports on the loopback interface. It
// holds every listener until all are chosen, so the ports differ; another
// process may still take one before a replica binds it.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", loopback+":0")
		if err != nil {
			return nil, fmt.Errorf("local jobs: choose a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// rank returns the global rank of replica index of role t: the replicas of
// the roles before t in the kind's order come first.
func rank(spec *jobs.Spec, t jobs.ReplicaType, index int) int {
	r := 0
	for _, u := range spec.ReplicaTypes() {
		if u == t {
			return r + index
		}
		r += spec.ReplicaCount(u)
	}
	return r + index
}

// contractEnv returns the variables the Kubeflow operator of spec.Kind
// gives replica index of role t, with every address on the loopback
// interface.
func contractEnv(spec *jobs.Spec, ports map[string]int, t jobs.ReplicaType, index int, hostfile string) map[string]string {
	env := map[string]string{"PYTHONUNBUFFERED": "1"}
	master := ports[portMaster]
	total := spec.TotalReplicas()
	r := rank(spec, t, index)
	switch spec.Kind {
	case jobs.PyTorch:
		nproc := max(spec.NprocPerNode, 1)
		env["MASTER_ADDR"] = loopback
		env["MASTER_PORT"] = strconv.Itoa(master)
		env["WORLD_SIZE"] = strconv.Itoa(total * nproc)
		env["RANK"] = strconv.Itoa(r)
		env["PET_MASTER_ADDR"] = loopback
		env["PET_MASTER_PORT"] = strconv.Itoa(master)
		env["PET_NNODES"] = strconv.Itoa(total)
		env["PET_NODE_RANK"] = strconv.Itoa(r)
		env["PET_NPROC_PER_NODE"] = strconv.Itoa(nproc)
	case jobs.TensorFlow:
		env["TF_CONFIG"] = tfConfig(spec, ports, t, index)
	case jobs.XGBoost:
		env["MASTER_ADDR"] = loopback
		env["MASTER_PORT"] = strconv.Itoa(master)
		env["WORLD_SIZE"] = strconv.Itoa(total)
		env["RANK"] = strconv.Itoa(r)
		if total > 1 {
			env["WORKER_PORT"] = strconv.Itoa(ports[portWorker])
			addrs := make([]string, total-1)
			for i := range addrs {
				addrs[i] = loopback
			}
			env["WORKER_ADDRS"] = strings.Join(addrs, ",")
		}
	case jobs.MPI:
		// Workers are ranks that mpirun starts; only the launcher runs here.
		env["OMPI_MCA_orte_default_hostfile"] = hostfile
		env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
		// Containers often forbid the cross-memory attach of the shared
		// memory transport; copying through the buffer always works.
		env["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
		if os.Geteuid() == 0 {
			env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
			env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
		}
	case jobs.Paddle:
		env["PADDLE_MASTER"] = loopback + ":" + strconv.Itoa(master)
		env["PADDLE_NNODES"] = strconv.Itoa(total)
		env["PADDLE_JOB_ID"] = spec.Name
		env["POD_IP"] = loopback
		if spec.ReplicaCount(jobs.Master) > 0 { // parameter-server mode
			if t == jobs.Master {
				env["PADDLE_SERVER_NUM"] = "1"
			} else {
				env["PADDLE_TRAINER_NUM"] = "1"
			}
		}
	case jobs.MXNet:
		env["DMLC_PS_ROOT_URI"] = loopback
		env["DMLC_PS_ROOT_PORT"] = strconv.Itoa(master)
		env["DMLC_NUM_SERVER"] = strconv.Itoa(spec.ReplicaCount(jobs.Server))
		env["DMLC_NUM_WORKER"] = strconv.Itoa(spec.ReplicaCount(jobs.Worker))
		env["DMLC_ROLE"] = strings.ToLower(string(t))
		env["MX_CONFIG"] = mxConfig(spec, master, t, index)
	case jobs.JAX:
		env["COORDINATOR_ADDRESS"] = loopback
		env["COORDINATOR_PORT"] = strconv.Itoa(master)
		env["NUM_PROCESSES"] = strconv.Itoa(total)
		env["PROCESS_ID"] = strconv.Itoa(r)
	}
	return env
}

// tfConfig returns the TF_CONFIG of a replica: the cluster (every role but
// the evaluator, one 127.0.0.1:port per replica) and the replica's task.
func tfConfig(spec *jobs.Spec, ports map[string]int, t jobs.ReplicaType, index int) string {
	cluster := map[string][]string{}
	for _, u := range spec.ReplicaTypes() {
		if u == jobs.Evaluator {
			continue
		}
		key := strings.ToLower(string(u))
		for i := range spec.ReplicaCount(u) {
			cluster[key] = append(cluster[key], loopback+":"+strconv.Itoa(ports[jobs.ReplicaID(u, i)]))
		}
	}
	cfg := struct {
		Cluster     map[string][]string `json:"cluster"`
		Task        map[string]any      `json:"task"`
		Environment string              `json:"environment"`
	}{cluster, map[string]any{"type": strings.ToLower(string(t)), "index": index}, "cloud"}
	b, _ := json.Marshal(cfg)
	return string(b)
}

// mxConfig returns MX_CONFIG, the cluster of an MXJob as the operator
// writes it (a url and port per replica; locally every replica shares the
// scheduler's address) and the replica's task.
func mxConfig(spec *jobs.Spec, port int, t jobs.ReplicaType, index int) string {
	type urlPort struct {
		URL  string `json:"url"`
		Port int    `json:"port"`
	}
	cluster := map[string][]urlPort{}
	labels := map[string]string{}
	for _, u := range spec.ReplicaTypes() {
		key := strings.ToLower(string(u))
		labels[key] = ""
		for range spec.ReplicaCount(u) {
			cluster[key] = append(cluster[key], urlPort{loopback, port})
		}
	}
	cfg := map[string]any{
		"cluster": cluster,
		"labels":  labels,
		"task":    map[string]any{"type": strings.ToLower(string(t)), "index": index},
	}
	b, _ := json.Marshal(cfg)
	return string(b)
}

// ompThreads returns OMP_NUM_THREADS for a CPU request ("2", "500m"), or
// "" when there is none.
func ompThreads(cpu string) string {
	if cpu == "" {
		return ""
	}
	var cores float64
	if v, ok := strings.CutSuffix(cpu, "m"); ok {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return ""
		}
		cores = m / 1000
	} else {
		c, err := strconv.ParseFloat(cpu, 64)
		if err != nil {
			return ""
		}
		cores = c
	}
	return strconv.Itoa(max(1, int(math.Floor(cores))))
}

// mpiCommand returns the launcher's command line: argv itself when it
// already starts mpirun or mpiexec, else mpirun starting argv on every
// rank.
func mpiCommand(spec *jobs.Spec, argv []string, hostfile string) []string {
	if len(argv) > 0 {
		base := argv[0][strings.LastIndex(argv[0], "/")+1:]
		if base == "mpirun" || base == "mpiexec" || base == "orterun" {
			return argv
		}
	}
	np := mpiRanks(spec)
	out := []string{"mpirun", "--hostfile", hostfile, "-np", strconv.Itoa(np), "--oversubscribe"}
	if os.Geteuid() == 0 {
		out = append(out, "--allow-run-as-root")
	}
	return append(out, argv...)
}

// mpiRanks is the number of MPI ranks: Workers times slots per worker.
func mpiRanks(spec *jobs.Spec) int {
	return spec.ReplicaCount(jobs.Worker) * max(spec.SlotsPerWorker, 1)
}
