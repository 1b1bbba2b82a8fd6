package goeval

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ferryml/ferry/kernel"
	"github.com/traefik/yaegi/interp"
)

// fakePackages provides example.com/greet and fails for other paths.
type fakePackages struct {
	calls [][]string
}

func (f *fakePackages) Load(_ context.Context, paths []string) (interp.Exports, error) {
	f.calls = append(f.calls, slices.Clone(paths))
	for _, p := range paths {
		if p != "example.com/greet" {
			return nil, errors.New("no module provides " + p)
		}
	}
	return interp.Exports{"example.com/greet/greet": {
		"Hello": reflect.ValueOf(func(s string) string { return "hello, " + s }),
	}}, nil
}

func TestPackagesLoad(t *testing.T) {
	fp := &fakePackages{}
	e, err := New(Options{Packages: fp})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, err := e.Eval(ctx, "import (\n\t\"strings\"\n\t\"example.com/greet\"\n)\nstrings.ToUpper(greet.Hello(\"ferry\"))")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Data["text/plain"], `"HELLO, FERRY"`; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	// Known packages are not asked for, nor is a loaded one again.
	if _, err := e.Eval(ctx, "import \"example.com/greet\"\nimport \"fmt\"\nfmt.Sprint(greet.Hello(\"x\"))"); err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"example.com/greet"}}; !reflect.DeepEqual(fp.calls, want) {
		t.Errorf("Load calls %q, want %q", fp.calls, want)
	}

	// A failure is an ImportError on the import's line.
	_, err = e.Eval(ctx, "x := 1\n_ = x\nimport \"example.com/nope\"")
	var ee *kernel.ExecError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an ExecError", err)
	}
	if ee.Name != "ImportError" || !strings.Contains(ee.Value, "no module provides example.com/nope") {
		t.Errorf("got %s: %s", ee.Name, ee.Value)
	}
	if tb := strings.Join(ee.Traceback, "\n"); !strings.Contains(tb, "line 3") {
		t.Errorf("traceback does not name line 3:\n%s", tb)
	}
}
