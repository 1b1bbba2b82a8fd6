// Package gomagic is the %go line magic of Ferry's Go kernel: `%go get
// module@version` records a module version for the notebook's imports of
// third-party packages (see kernel/gomod).
package gomagic

import (
	"context"
	"strings"

	"github.com/ferryml/ferry/display"
	"github.com/ferryml/ferry/magics"
)

// Getter runs go get for the session (implemented by *gomod.Loader).
type Getter interface {
	Get(ctx context.Context, args []string) (string, error)
}

const usage = `%go get MODULE@VERSION ...

Records MODULE at VERSION (a version, a commit, latest) for this notebook's
imports: in the go.mod of the notebook's directory when there is one, else in
the kernel's workspace module for that directory (under the user cache
directory, ferry/gomod/). The go command fetches it through GOPROXY. Import
its packages afterwards; a module already imported in the session needs a
kernel restart to change version.`

// Register adds %go to reg.
func Register(reg *magics.Registry, g Getter) {
	m := &magics.Magic{
		Name:    "go",
		Summary: "go get MODULE@VERSION: pin a third-party module for imports",
		Usage:   usage,
	}
	m.Line = func(ctx context.Context, args string) (any, error) {
		words, err := magics.SplitArgs(args)
		if err != nil {
			return nil, magics.Usagef(m, "%v", err)
		}
		if len(words) == 0 || words[0] != "get" {
			return nil, magics.Usagef(m, "only %%go get is supported")
		}
		if len(words) == 1 {
			return nil, magics.Usagef(m, "name a module, e.g. %%go get github.com/google/uuid@v1.6.0")
		}
		out, err := g.Get(ctx, words[1:])
		if err != nil {
			return nil, err
		}
		return display.Text(strings.TrimSpace(out)), nil
	}
	reg.Register(m)
}
