// Package gomod makes third-party Go packages importable in Ferry's Go
// kernel: `import "github.com/google/uuid"` in a cell fetches the module, and
// `%go get module@version` (magics/gomagic) records a version.
//
// A Loader implements goeval.Packages. For the import paths a cell needs and
// the interpreter lacks, Load:
//
//   - resolves the modules with the go command and the user's settings
//     (GOPROXY, GOFLAGS, GONOSUMDB, GOPATH, ... from the environment), running
//     go get for packages that no required module provides. Versions are
//     recorded in the go.mod of the notebook's directory when it has one
//     (only that directory: a parent module is not used), else in a workspace
//     module for the directory, <cache>/ferry/gomod/<hash of the directory>/,
//     so that a notebook re-runs with the same versions;
//   - builds a workspace module whose go.mod holds the notebook's
//     requirements and requires a generated module pinning every module
//     linked into the kernel at the kernel's version (from
//     runtime/debug.ReadBuildInfo), so that a package linked into both is
//     the same version; a requirement of a newer version is an error naming
//     both;
//   - writes the yaegi symbols of the packages (github.com/traefik/yaegi/
//     extract, in a small program built in the workspace with the kernel's
//     yaegi version) into a generated package main whose Symbols variable is
//     a map[string]map[string]reflect.Value, with a stub for each generic
//     function that panics with a message saying it cannot be called;
//   - builds it with go build -buildmode=plugin and the kernel's build
//     settings (-tags, -race, -trimpath, -ldflags, CGO_ENABLED, GOAMD64, ...),
//     caches it in <cache>/ferry/plugins/<key>.so, the key a hash of the Go
//     version, the build settings, the package list and the version of every
//     module they use, and opens it with plugin.Open.
//
// The go command must be the Go version of the kernel (runtime.Version);
// GOTOOLCHAIN=local is set so that it never switches. The first plugin of a
// machine takes about 15 s more (the standard library is rebuilt for
// dynamic linking; later builds reuse the go build cache), and a package
// set already built loads in a fraction of a second after a kernel restart.
//
// A package is linked once in a process: after a plugin brought a version
// of a package, a later import that needs another version of it fails with
// both versions named until the kernel restarts.
package gomod
