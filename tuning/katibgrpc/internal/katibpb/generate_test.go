package katibpb

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated files")

// The version of protoc-gen-go-grpc the committed files come from
// (protoc-gen-go's is go.mod's), and the package they are given.
const (
	protocGenGoGRPCVersion = "1.5.1"
	goPackage              = "github.com/ferryml/ferry/tuning/katibgrpc/internal/katibpb;katibpb"
)

var generated = []string{"api.pb.go", "api_grpc.pb.go"}

// TestGenerated regenerates the code from the shared spec and compares it
// with the committed files (-update rewrites them). It needs protoc, the
// spec ($FERRY_SPECS or ../shared/specs next to the repository), the Go
// toolchain (protoc-gen-go is built from go.mod's google.golang.org/protobuf)
// and protoc-gen-go-grpc 1.5.1 (on $PATH or in
// ~/.cache/ferry/tools/protoc-gen-go-grpc-v1.5.1, where `GOBIN=...
// go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1` puts
// it); it skips, saying which is missing, without them.
func TestGenerated(t *testing.T) {
	if testing.Short() && !*update {
		t.Skip("builds protoc-gen-go and runs protoc")
	}
	// Without a tool the test skips; go generate (-update) fails.
	skip := t.Skip
	if *update {
		skip = t.Fatal
	}
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		skip("protoc not found (Debian: apt-get install protobuf-compiler)")
	}
	spec, err := specFile()
	if err != nil {
		skip(err)
	}
	grpcPlugin, err := grpcPlugin(t.Context())
	if err != nil {
		skip(err)
	}
	tmp := t.TempDir()
	goPlugin := filepath.Join(tmp, "protoc-gen-go")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", goPlugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	if out, err := build.CombinedOutput(); err != nil {
		skip(fmt.Sprintf("building protoc-gen-go from go.mod: %v\n%s", err, out))
	}
	src, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "api.proto"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	m := "Mapi.proto=" + goPackage
	cmd := exec.CommandContext(t.Context(), protoc,
		"--plugin=protoc-gen-go="+goPlugin, "--plugin=protoc-gen-go-grpc="+grpcPlugin,
		"-I", tmp,
		"--go_out="+out, "--go_opt=paths=source_relative", "--go_opt="+m,
		"--go-grpc_out="+out, "--go-grpc_opt=paths=source_relative", "--go-grpc_opt="+m,
		"api.proto")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	for _, name := range generated {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(name, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := withoutProtocVersion(got), withoutProtocVersion(want); !bytes.Equal(g, w) {
			t.Errorf("%s differs from the code protoc generates from %s: run go generate ./tuning/katibgrpc/internal/katibpb", name, spec)
		}
	}
}

// withoutProtocVersion drops the header line naming protoc's version: the
// code itself does not depend on it.
func withoutProtocVersion(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	out := lines[:0]
	for _, l := range lines {
		if strings.HasPrefix(l, "// \tprotoc ") || strings.HasPrefix(l, "// - protoc ") {
			continue
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n"))
}

// specFile finds the shared Katib proto.
func specFile() (string, error) {
	const name = "katib-v0.19.0-api.proto"
	if d := os.Getenv("FERRY_SPECS"); d != "" {
		f := filepath.Join(d, name)
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("%s not found in $FERRY_SPECS", name)
		}
		return f, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			f := filepath.Join(filepath.Dir(d), "shared", "specs", name)
			if _, err := os.Stat(f); err != nil {
				return "", fmt.Errorf("%s not found: set $FERRY_SPECS to the directory of the shared specs", f)
			}
			return f, nil
		}
	}
	return "", fmt.Errorf("no go.mod above %s: set $FERRY_SPECS to the directory of the shared specs", wd)
}

// grpcPlugin finds protoc-gen-go-grpc at the version the files come from.
func grpcPlugin(ctx context.Context) (string, error) {
	var candidates []string
	if p := os.Getenv("FERRY_PROTOC_GEN_GO_GRPC"); p != "" { // make's tools
		candidates = append(candidates, p)
	}
	if p, err := exec.LookPath("protoc-gen-go-grpc"); err == nil {
		candidates = append(candidates, p)
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache")
		}
	}
	candidates = append(candidates, filepath.Join(cache, "ferry", "tools", "protoc-gen-go-grpc-v"+protocGenGoGRPCVersion, "protoc-gen-go-grpc"))
	var found []string
	for _, p := range candidates {
		b, err := exec.CommandContext(ctx, p, "--version").Output()
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "protoc-gen-go-grpc "+protocGenGoGRPCVersion {
			return p, nil
		}
		found = append(found, p+" ("+v+")")
	}
	if len(found) > 0 {
		return "", fmt.Errorf("protoc-gen-go-grpc %s not found (found %s): install it with GOBIN=~/.cache/ferry/tools/protoc-gen-go-grpc-v%s go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v%[1]s", protocGenGoGRPCVersion, strings.Join(found, ", "), protocGenGoGRPCVersion)
	}
	return "", fmt.Errorf("protoc-gen-go-grpc not found: install it with GOBIN=~/.cache/ferry/tools/protoc-gen-go-grpc-v%s go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v%[1]s", protocGenGoGRPCVersion)
}
