package testsrv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// KubeVersion is the Kubernetes release of the test servers.
const KubeVersion = "v1.37.2"

// KubeToolsDir finds the directory with kube-apiserver and etcd (and kwok):
// $FERRY_KUBE_TOOLS, else ~/.cache/ferry/tools/kube-VERSION, where `make
// tools` (internal/testsrv/build-kube.sh) builds them.
func KubeToolsDir() (string, error) {
	dir := os.Getenv("FERRY_KUBE_TOOLS")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("kube tools: no cache directory (%w): set $FERRY_KUBE_TOOLS", err)
		}
		dir = filepath.Join(cache, "ferry", "tools", "kube-"+KubeVersion)
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("kube tools: %s not found in %s ($FERRY_KUBE_TOOLS): run `make tools` to build it", b, dir)
		}
	}
	return dir, nil
}

// CRDsDir finds the shared directory of custom resource definitions:
// $FERRY_CRDS, else ../shared/crds next to the repository.
func CRDsDir() (string, error) {
	if d := os.Getenv("FERRY_CRDS"); d != "" {
		if _, err := os.Stat(d); err == nil {
			return d, nil
		}
		return "", fmt.Errorf("crds: $FERRY_CRDS=%s does not exist", d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "crds")
			if _, err := os.Stat(c); err != nil {
				return "", fmt.Errorf("crds: %s not found: set $FERRY_CRDS to the directory of the shared CRDs", c)
			}
			return c, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("crds: no go.mod above %s: set $FERRY_CRDS", wd)
		}
	}
}

// KubeOptions configure StartKube.
type KubeOptions struct {
	// CRDs are YAML files or directories of them, relative to CRDsDir
	// unless absolute ("training-operator-v1.9.4",
	// "training-operator-v1.8.1/kubeflow.org_mxjobs.yaml"). They are created
	// (not applied: their annotations would be too long) and waited for
	// until established.
	CRDs []string
	// Kwok starts kwok with the node and pod stages of KwokNodePodStages
	// plus the configuration files in KwokConfigs (Stages of custom
	// resources, ClusterLogs), and creates the fake node KwokNode. Its
	// kubelet API (logs) is served on loopback, with a certificate the
	// API server trusts.
	Kwok        bool
	KwokConfigs []string
}

// KwokNode is the name of the fake node StartKube creates with Kwok: pods
// need spec.nodeName set to it (no scheduler runs) and a toleration of the
// taint kwok.x-k8s.io/node=fake:NoSchedule. It has 32 CPUs, 256Gi and 8
// nvidia.com/gpu.
const KwokNode = "kwok-node-0"

// Kube is an etcd and a kube-apiserver on loopback ports (optionally kwok),
// with a kubeconfig that gives cluster-admin (a static token in group
// system:masters).
type Kube struct {
	// Kubeconfig is the path of a kubeconfig file for the server.
	Kubeconfig string
	// Host is https://127.0.0.1:PORT; Token the bearer token; CAFile the CA
	// of the serving certificate.
	Host   string
	Token  string
	CAFile string
	Dir    string

	client *http.Client
	procs  []*kubeProc
	nsSeq  atomic.Int64
}

type kubeProc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// StartKube starts etcd and kube-apiserver (and kwok) and installs CRDs.
// Stop stops them and removes their directory. A missing binary returns the
// error of KubeToolsDir.
func StartKube(ctx context.Context, opts KubeOptions) (*Kube, error) {
	tools, err := KubeToolsDir()
	if err != nil {
		return nil, err
	}
	if opts.Kwok {
		if _, err := os.Stat(filepath.Join(tools, "kwok")); err != nil {
			return nil, fmt.Errorf("kube tools: kwok not found in %s ($FERRY_KUBE_TOOLS): run `make tools` to build it", tools)
		}
	}
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "ferry-kube-")
	if err != nil {
		return nil, err
	}
	k := &Kube{Dir: dir}
	if err := k.start(ctx, tools, opts); err != nil {
		var out strings.Builder
		for _, p := range k.procs {
			fmt.Fprintf(&out, "\n%s output:\n%s", p.name, tail(p.logs.String(), 4000))
		}
		k.Stop()
		return nil, fmt.Errorf("start kube: %w%s", err, out.String())
	}
	return k, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func (k *Kube) start(ctx context.Context, tools string, opts KubeOptions) error {
	pki, err := writePKI(k.Dir)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	k.CAFile = pki.ca
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	k.Token = hex.EncodeToString(tok)
	tokenFile := filepath.Join(k.Dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(k.Token+`,ferry-admin,ferry-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}

	// etcd
	var etcdURL string
	var lastErr error
	for range 5 {
		client, err := freePort()
		if err != nil {
			return err
		}
		peer, err := freePort()
		if err != nil {
			return err
		}
		etcdURL = "http://" + client
		p, err := k.spawn("etcd", filepath.Join(tools, "etcd"),
			"--name", "ferry", "--data-dir", filepath.Join(k.Dir, "etcd"),
			"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
			"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
			"--initial-cluster", "ferry=http://"+peer, "--unsafe-no-fsync", "--log-level", "error")
		if err != nil {
			return err
		}
		if lastErr = waitHTTP(ctx, p, http.DefaultClient, etcdURL+"/health", "", 30*time.Second); lastErr == nil {
			break
		}
		k.kill(p)
	}
	if lastErr != nil {
		return fmt.Errorf("etcd: %w", lastErr)
	}

	// kube-apiserver
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pki.caPEM)
	k.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for range 5 {
		addr, err := freePort()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(addr)
		k.Host = "https://" + addr
		p, err := k.spawn("kube-apiserver", filepath.Join(tools, "kube-apiserver"),
			"--etcd-servers="+etcdURL,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
			"--tls-cert-file="+pki.cert, "--tls-private-key-file="+pki.key,
			"--client-ca-file="+pki.ca, "--token-auth-file="+tokenFile,
			"--authorization-mode=RBAC",
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file="+pki.saPub, "--service-account-signing-key-file="+pki.saKey,
			"--service-cluster-ip-range=10.0.0.0/24",
			"--endpoint-reconciler-type=none", "--disable-admission-plugins=ServiceAccount",
			// Pod logs go to kwok's kubelet API on the node's InternalIP.
			"--kubelet-preferred-address-types=InternalIP", "--kubelet-certificate-authority="+pki.ca,
			"--profiling=false", "--enable-priority-and-fairness=false", "-v=0")
		if err != nil {
			return err
		}
		if lastErr = waitHTTP(ctx, p, k.client, k.Host+"/readyz", k.Token, 90*time.Second); lastErr == nil {
			break
		}
		k.kill(p)
	}
	if lastErr != nil {
		return fmt.Errorf("kube-apiserver: %w", lastErr)
	}
	k.Kubeconfig = filepath.Join(k.Dir, "kubeconfig")
	if err := os.WriteFile(k.Kubeconfig, []byte(k.kubeconfig(pki.caPEM)), 0o600); err != nil {
		return err
	}

	if len(opts.CRDs) > 0 {
		if err := k.InstallCRDs(ctx, opts.CRDs...); err != nil {
			return err
		}
	}
	if opts.Kwok {
		return k.startKwok(ctx, tools, pki, opts.KwokConfigs)
	}
	return nil
}

func (k *Kube) kubeconfig(caPEM []byte) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: ferry-test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: ferry-admin
  user:
    token: %s
contexts:
- name: ferry-test
  context:
    cluster: ferry-test
    user: ferry-admin
    namespace: default
current-context: ferry-test
`, k.Host, base64.StdEncoding.EncodeToString(caPEM), k.Token)
}

func (k *Kube) spawn(name, bin string, args ...string) (*kubeProc, error) {
	p := &kubeProc{name: name, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = k.Dir
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	k.procs = append(k.procs, p)
	return p, nil
}

func (k *Kube) kill(p *kubeProc) {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// waitHTTP waits until url answers 200 or p exits.
func waitHTTP(ctx context.Context, p *kubeProc, c *http.Client, url, token string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, body)
		} else {
			last = err.Error()
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during startup", p.name)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s: %s", p.name, limit, last)
		}
	}
}

// Stop kills the processes (SIGKILL) and removes the directory. It is safe
// to call more than once.
func (k *Kube) Stop() {
	for i := len(k.procs) - 1; i >= 0; i-- {
		k.kill(k.procs[i])
	}
	k.procs = nil
	if k.Dir != "" {
		_ = os.RemoveAll(k.Dir)
	}
}

// Logs returns the output of each process, for failure messages.
func (k *Kube) Logs() string {
	var b strings.Builder
	for _, p := range k.procs {
		fmt.Fprintf(&b, "== %s\n%s\n", p.name, tail(p.logs.String(), 8000))
	}
	return b.String()
}

// Do sends a request to the API server with the admin token; body, when
// not nil, is JSON. It returns the response body and fails on a status
// other than 2xx.
func (k *Kube) Do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.Host+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+k.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return out, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

// InstallCRDs creates the CRDs in the YAML files (or directories of YAML
// files) paths, relative to CRDsDir unless absolute, and waits until the
// API server serves them.
func (k *Kube) InstallCRDs(ctx context.Context, paths ...string) error {
	root, err := CRDsDir()
	if err != nil {
		return err
	}
	var files []string
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("crds: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		m, _ := filepath.Glob(filepath.Join(p, "*.yaml"))
		files = append(files, m...)
	}
	var names []string
	gvs := map[string]bool{} // "apis/GROUP/VERSION" of the served versions
	for _, f := range files {
		docs, err := readYAMLDocs(f)
		if err != nil {
			return fmt.Errorf("crds: %s: %w", f, err)
		}
		for _, d := range docs {
			if d["kind"] != "CustomResourceDefinition" {
				continue
			}
			md, _ := d["metadata"].(map[string]any)
			name, _ := md["name"].(string)
			spec, _ := d["spec"].(map[string]any)
			group, _ := spec["group"].(string)
			versions, _ := spec["versions"].([]any)
			for _, v := range versions {
				vm, _ := v.(map[string]any)
				if served, _ := vm["served"].(bool); served {
					gvs["apis/"+group+"/"+fmt.Sprint(vm["name"])] = true
				}
			}
			if _, err := k.Do(ctx, http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", d); err != nil {
				return fmt.Errorf("crds: create %s: %w", name, err)
			}
			names = append(names, name)
		}
	}
	for _, n := range names {
		if err := k.waitEstablished(ctx, n); err != nil {
			return err
		}
	}
	return k.waitOpenAPI(ctx, gvs)
}

// waitOpenAPI waits until the API server's OpenAPI v3 discovery lists every
// group-version of gvs: an Established CRD is published there a moment
// later, and clients that read it at start (kwok's stage controller) fail
// on a group-version it does not list yet.
func (k *Kube) waitOpenAPI(ctx context.Context, gvs map[string]bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := k.Do(ctx, http.MethodGet, "/openapi/v3", nil)
		if err != nil {
			return err
		}
		var disc struct{ Paths map[string]any }
		if err := json.Unmarshal(b, &disc); err != nil {
			return err
		}
		var missing []string
		for gv := range gvs {
			if _, ok := disc.Paths[gv]; !ok {
				missing = append(missing, gv)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("crds: %v not in the OpenAPI v3 discovery within a minute", missing)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (k *Kube) waitEstablished(ctx context.Context, name string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := k.Do(ctx, http.MethodGet, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+name, nil)
		if err != nil {
			return err
		}
		var crd struct {
			Status struct {
				Conditions []struct{ Type, Status string }
			}
		}
		if err := json.Unmarshal(b, &crd); err != nil {
			return err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == "Established" && c.Status == "True" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("crds: %s not established within a minute", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func readYAMLDocs(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for doc := range strings.SplitSeq(string(data), "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// NewNamespace creates a namespace with a fresh name for t and returns the
// name. The namespace is left behind (without kube-controller-manager a
// deleted namespace never finishes terminating); it goes with the server.
func (k *Kube) NewNamespace(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test-%d-%d", time.Now().UnixNano()%1e6, k.nsSeq.Add(1))
	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
	if _, err := k.Do(t.Context(), http.MethodPost, "/api/v1/namespaces", ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return name
}

// KwokNodePodStages are kwok's default Stages for nodes and pods (a node
// becomes Ready; a pod on it becomes Running; a pod being deleted goes).
const KwokNodePodStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-initialize
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $lastTransitionTime := or .metadata.creationTimestamp $now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $lastTransitionTime | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type  | Quote}}
      {{ end }}
      addresses:
      {{ with NodeIP }}
      - address: {{ . | Quote }}
        type: InternalIP
      {{ end }}
      {{ with NodeName }}
      - address: {{ . | Quote }}
        type: Hostname
      {{ end }}
      {{ with NodePort }}
      daemonEndpoints:
        kubeletEndpoint:
          Port: {{ . }}
      {{ end }}
      allocatable:
      {{ with .status.allocatable }}
      {{ YAML . 1 }}
      {{ else }}
        cpu: 1k
        memory: 1Ti
        pods: 1M
      {{ end }}
      capacity:
      {{ with .status.capacity }}
      {{ YAML . 1 }}
      {{ else }}
        cpu: 1k
        memory: 1Ti
        pods: 1M
      {{ end }}
      nodeInfo:
        architecture: amd64
        containerRuntimeVersion: kwok
        kernelVersion: kwok
        kubeProxyVersion: kwok
        kubeletVersion: kwok
        operatingSystem: linux
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`

func (k *Kube) startKwok(ctx context.Context, tools string, pki *kubePKI, configs []string) error {
	stages := filepath.Join(k.Dir, "kwok-node-pod-stages.yaml")
	if err := os.WriteFile(stages, []byte(KwokNodePodStages), 0o644); err != nil {
		return err
	}
	args := []string{"--kubeconfig", k.Kubeconfig, "--manage-all-nodes", "--node-ip", "127.0.0.1", "-c", stages}
	for _, c := range configs {
		abs, err := filepath.Abs(c)
		if err != nil {
			return err
		}
		args = append(args, "-c", abs)
	}
	var lastErr error
	for range 5 {
		addr, err := freePort()
		if err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(addr)
		p, err := k.spawn("kwok", filepath.Join(tools, "kwok"), append(args,
			"--node-port", port, "--server-address", addr,
			"--tls-cert-file", pki.cert, "--tls-private-key-file", pki.key)...)
		if err != nil {
			return err
		}
		if lastErr = waitHTTP(ctx, p, k.client, "https://"+addr+"/healthz", "", 60*time.Second); lastErr == nil {
			break
		}
		k.kill(p)
	}
	if lastErr != nil {
		return fmt.Errorf("kwok: %w", lastErr)
	}
	node := map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{
			"name":        KwokNode,
			"annotations": map[string]any{"kwok.x-k8s.io/node": "fake"},
			"labels":      map[string]any{"type": "kwok", "kubernetes.io/hostname": KwokNode},
		},
		"spec": map[string]any{"taints": []any{map[string]any{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}}},
		"status": map[string]any{
			"allocatable": map[string]any{"cpu": "32", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "8"},
			"capacity":    map[string]any{"cpu": "32", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "8"},
		},
	}
	if _, err := k.Do(ctx, http.MethodPost, "/api/v1/nodes", node); err != nil {
		return fmt.Errorf("kwok: create node: %w", err)
	}
	return nil
}

type kubePKI struct {
	ca, cert, key, saKey, saPub string
	caPEM                       []byte
}

// writePKI writes a CA, a serving certificate for 127.0.0.1 and localhost
// signed by it (used by the API server and by kwok's kubelet API), and an
// RSA key pair for service-account tokens.
func writePKI(dir string) (*kubePKI, error) {
	p := &kubePKI{
		ca: filepath.Join(dir, "ca.crt"), cert: filepath.Join(dir, "serving.crt"), key: filepath.Join(dir, "serving.key"),
		saKey: filepath.Join(dir, "sa.key"), saPub: filepath.Join(dir, "sa.pub"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	files := map[string]*pem.Block{
		p.ca:    {Type: "CERTIFICATE", Bytes: caDER},
		p.cert:  {Type: "CERTIFICATE", Bytes: srvDER},
		p.key:   {Type: "EC PRIVATE KEY", Bytes: srvKeyDER},
		p.saKey: {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)},
		p.saPub: {Type: "PUBLIC KEY", Bytes: saPubDER},
	}
	for f, b := range files {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// sharedKube is the server of a test binary (SharedKube).
var sharedKube struct {
	once sync.Once
	k    *Kube
	err  error
}

// SharedKube returns the server of this test binary, started with opts on
// the first call (later calls' opts are ignored); call StopSharedKube from
// TestMain after m.Run. A missing binary fails t, or skips it in -short mode.
func SharedKube(t testing.TB, opts KubeOptions) *Kube {
	t.Helper()
	sharedKube.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		sharedKube.k, sharedKube.err = StartKube(ctx, opts)
	})
	if sharedKube.err != nil {
		if testing.Short() && strings.Contains(sharedKube.err.Error(), "make tools") {
			t.Skip(sharedKube.err)
		}
		t.Fatal(sharedKube.err)
	}
	return sharedKube.k
}

// StopSharedKube stops the server SharedKube started, if any.
func StopSharedKube() {
	if sharedKube.k != nil {
		sharedKube.k.Stop()
	}
}
