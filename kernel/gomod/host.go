package gomod

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// host is what a plugin must share with the process that loads it: the
// build settings and the versions of the modules linked into it.
type host struct {
	// flags are the go build flags of the host (-tags, -race, -trimpath,
	// -ldflags, -gcflags, ...), without -buildmode and -compiler.
	flags []string
	// env sets (NAME=value) or unsets (NAME=) the build environment of the
	// host: CGO_ENABLED, GOARCH, GOAMD64, CGO_CFLAGS, GOEXPERIMENT, ...
	env []string
	// mods are the modules linked into the host, by path.
	mods map[string]module
}

// module is a module version, with its replacement if any.
type module struct {
	Path, Version string
	// Replace is the replacement module ("" when none); a directory when
	// ReplaceVersion is "".
	Replace, ReplaceVersion string
}

func (m module) String() string {
	s := m.Path + " " + m.Version
	if m.Replace != "" {
		s += " => " + strings.TrimSpace(m.Replace+" "+m.ReplaceVersion)
	}
	return s
}

// hostEnvKeys are the build settings of debug.BuildInfo that are
// environment variables of the go command.
var hostEnvKeys = map[string]bool{
	"CGO_ENABLED": true, "CGO_CFLAGS": true, "CGO_CPPFLAGS": true, "CGO_CXXFLAGS": true,
	"CGO_LDFLAGS": true, "GOOS": true, "GOARCH": true, "GOEXPERIMENT": true, "GOFIPS140": true,
	"GO386": true, "GOAMD64": true, "GOARM": true, "GOARM64": true, "GOMIPS": true,
	"GOMIPS64": true, "GOPPC64": true, "GORISCV64": true, "GOWASM": true,
}

// hostBuild reads the build settings and module versions of bi.
func hostBuild(bi *debug.BuildInfo) (*host, error) {
	h := &host{mods: map[string]module{}}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "-buildmode" || s.Key == "-compiler":
			if s.Key == "-compiler" && s.Value != "gc" {
				return nil, fmt.Errorf("gomod: the kernel was built with -compiler=%s; plugins need gc", s.Value)
			}
		case strings.HasPrefix(s.Key, "-"):
			switch s.Value {
			case "true":
				h.flags = append(h.flags, s.Key)
			case "false":
			default:
				h.flags = append(h.flags, s.Key+"="+s.Value)
			}
		case hostEnvKeys[s.Key]:
			h.env = append(h.env, s.Key+"="+s.Value)
		}
	}
	if !hasPrefix(h.env, "CGO_ENABLED=") {
		// Recorded only when the go command knew it; plugins need cgo.
		h.env = append(h.env, "CGO_ENABLED=1")
	}
	for _, d := range bi.Deps {
		m := module{Path: d.Path, Version: d.Version}
		if r := d.Replace; r != nil {
			m.Replace, m.ReplaceVersion = r.Path, r.Version
			if r.Version == "" {
				if _, err := os.Stat(r.Path); err != nil {
					// A directory of the machine that built the
					// kernel: its packages cannot be rebuilt here.
					continue
				}
			}
		}
		h.mods[d.Path] = m
	}
	return h, nil
}

// pinsGoMod returns the go.mod of the module that pins the host's module
// versions: a workspace requires it, so that minimal version selection
// never picks a version older than the host's.
func (h *host) pinsGoMod(goVersion string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// The versions of the modules linked into the Ferry kernel (generated).\nmodule %s\n\ngo %s\n", pinsModule, goVersion)
	paths := make([]string, 0, len(h.mods))
	for p := range h.mods {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	if len(paths) > 0 {
		b.WriteString("\nrequire (\n")
		for _, p := range paths {
			fmt.Fprintf(&b, "\t%s %s\n", p, h.mods[p].Version)
		}
		b.WriteString(")\n")
	}
	return b.String()
}

// replaces returns the replace directives of the host's modules, for the
// workspace's go.mod (only the main module's replacements apply).
func (h *host) replaces() string {
	var lines []string
	for p, m := range h.mods {
		if m.Replace != "" {
			lines = append(lines, strings.TrimSpace(fmt.Sprintf("replace %s %s => %s %s", p, m.Version, m.Replace, m.ReplaceVersion)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// setEnv returns env with each NAME=value of set applied: replaced, added,
// or removed where value is empty.
func setEnv(env []string, set ...string) []string {
	out := make([]string, 0, len(env)+len(set))
	names := map[string]string{}
	for _, kv := range set {
		k, v, _ := strings.Cut(kv, "=")
		names[k] = v
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := names[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, kv := range set {
		if k, v, _ := strings.Cut(kv, "="); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func hasPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// PluginBuild returns the go build flags and environment (NAME=value) a
// plugin loaded by this process must be built with: the process's own
// build settings, as its build information records them.
func PluginBuild() (flags, env []string, err error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, nil, fmt.Errorf("gomod: the kernel has no build information (built without module support)")
	}
	h, err := hostBuild(bi)
	if err != nil {
		return nil, nil, err
	}
	return h.flags, h.env, nil
}
