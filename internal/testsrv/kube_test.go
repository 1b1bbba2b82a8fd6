package testsrv

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestKube(t *testing.T) {
	if _, err := KubeToolsDir(); err != nil {
		if testing.Short() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	k, err := StartKube(t.Context(), KubeOptions{CRDs: []string{"training-operator-v1.9.4/kubeflow.org_pytorchjobs.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)
	ns := k.NewNamespace(t)

	// The CRD is served and its schema is enforced.
	job := func(replicas any) map[string]any {
		return map[string]any{
			"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
			"metadata": map[string]any{"name": "j" + strings.ToLower(time.Now().Format("150405.000000000")[7:])},
			"spec": map[string]any{"pytorchReplicaSpecs": map[string]any{"Worker": map[string]any{
				"replicas": replicas,
				"template": map[string]any{"spec": map[string]any{"containers": []any{
					map[string]any{"name": "pytorch", "image": "python:3.12"},
				}}},
			}}},
		}
	}
	path := "/apis/kubeflow.org/v1/namespaces/" + ns + "/pytorchjobs"
	if _, err := k.Do(t.Context(), http.MethodPost, path, job(2)); err != nil {
		t.Fatalf("create a valid PyTorchJob: %v", err)
	}
	if _, err := k.Do(t.Context(), http.MethodPost, path, job("three")); err == nil || !strings.Contains(err.Error(), "422") {
		t.Errorf("create with replicas \"three\": err %v, want 422 Unprocessable Entity", err)
	}
	b, err := k.Do(t.Context(), http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("got %d PyTorchJobs, want 1", len(list.Items))
	}
	// The kubeconfig names the server.
	if cfg, err := readYAMLDocs(k.Kubeconfig); err != nil || !strings.Contains(string(mustJSON(t, cfg)), k.Host) {
		t.Errorf("kubeconfig %s does not name %s (err %v)", k.Kubeconfig, k.Host, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
