package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestKernelspecInstall(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // kernel dir relative to the temp dir
	}{
		{"prefix", []string{"--prefix", "PFX"}, nil, "PFX/share/jupyter/kernels/ferry"},
		{"user via JUPYTER_DATA_DIR", []string{"--user", "--name", "go-ferry"}, map[string]string{"JUPYTER_DATA_DIR": "DATA"}, "DATA/kernels/go-ferry"},
		{"user via XDG_DATA_HOME", []string{"--user"}, map[string]string{"JUPYTER_DATA_DIR": "", "XDG_DATA_HOME": "XDG"}, "XDG/jupyter/kernels/ferry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			abs := func(s string) string { return strings.ReplaceAll(s, "PFX", filepath.Join(dir, "PFX")) }
			for k, v := range tc.env {
				if v != "" {
					v = filepath.Join(dir, v)
				}
				t.Setenv(k, v)
			}
			args := []string{"kernelspec", "install"}
			for _, a := range tc.args {
				args = append(args, abs(a))
			}
			var out, errb bytes.Buffer
			if err := Run(t.Context(), args, &out, &errb); err != nil {
				t.Fatalf("Run: %v (%s)", err, errb.String())
			}
			kdir := filepath.Join(dir, tc.want)
			b, err := os.ReadFile(filepath.Join(kdir, "kernel.json"))
			if err != nil {
				t.Fatalf("kernel.json not written where Jupyter looks: %v", err)
			}
			var spec kernelSpec
			if err := json.Unmarshal(b, &spec); err != nil {
				t.Fatal(err)
			}
			if spec.DisplayName != "Go (Ferry)" || spec.Language != "go" || spec.InterruptMode != "message" {
				t.Errorf("spec: got %+v", spec)
			}
			if n := len(spec.Argv); n != 4 || !filepath.IsAbs(spec.Argv[0]) || spec.Argv[1] != "kernel" || spec.Argv[3] != "{connection_file}" {
				t.Errorf("argv: got %q, want [ABS kernel -f {connection_file}]", spec.Argv)
			}
			for _, size := range []int{32, 64} {
				f, err := os.Open(filepath.Join(kdir, "logo-"+itoa(size)+"x"+itoa(size)+".png"))
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(f)
				f.Close()
				if err != nil || img.Bounds().Dx() != size {
					t.Errorf("logo %d: err %v, bounds %v", size, err, img.Bounds())
				}
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestJupyterFindsKernelspec checks with Jupyter's own tool that the
// installed kernelspec is found, when jupyter is on the machine.
func TestJupyterFindsKernelspec(t *testing.T) {
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("jupyter is not installed; .ci/run installs jupyter-core")
		}
		t.Skip("jupyter is not installed")
	}
	dir := t.TempDir()
	t.Setenv("JUPYTER_DATA_DIR", dir)
	if err := Run(t.Context(), []string{"kernelspec", "install", "--user"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(jupyter, "kernelspec", "list", "--json").Output()
	if err != nil {
		t.Fatalf("jupyter kernelspec list: %v", err)
	}
	var list struct {
		Kernelspecs map[string]struct {
			ResourceDir string `json:"resource_dir"`
			Spec        struct {
				DisplayName string `json:"display_name"`
			} `json:"spec"`
		} `json:"kernelspecs"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("parse %s: %v", out, err)
	}
	ks, ok := list.Kernelspecs["ferry"]
	if !ok || ks.Spec.DisplayName != "Go (Ferry)" || !strings.HasPrefix(ks.ResourceDir, dir) {
		t.Errorf("jupyter kernelspec list: got %+v, want ferry under %s", list.Kernelspecs, dir)
	}
}
