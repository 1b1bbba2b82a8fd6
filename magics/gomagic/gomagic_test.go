package gomagic

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/magics"
)

type fakeGetter struct{ args [][]string }

func (f *fakeGetter) Get(_ context.Context, args []string) (string, error) {
	f.args = append(f.args, args)
	if args[0] == "bad@v9" {
		return "", errors.New("go get: bad@v9: not found")
	}
	return "github.com/google/uuid v1.6.0\nrecorded in /x/go.mod", nil
}

func TestGoMagic(t *testing.T) {
	tests := []struct {
		cell     string
		wantArgs []string // nil: Get not called
		wantText string   // text/plain of the result, or a substring of the error
		wantErr  string   // ename
	}{
		{"%go get github.com/google/uuid@v1.6.0", []string{"github.com/google/uuid@v1.6.0"}, "github.com/google/uuid v1.6.0\nrecorded in /x/go.mod", ""},
		{"%go get", nil, "name a module", "UsageError"},
		{"%go mod tidy", nil, "only %go get is supported", "UsageError"},
		{"%go get bad@v9", []string{"bad@v9"}, "not found", "MagicError"},
	}
	for _, tt := range tests {
		t.Run(tt.cell, func(t *testing.T) {
			g := &fakeGetter{}
			reg := magics.NewRegistry()
			Register(reg, g)
			ev := magics.NewEvaluator(nil, reg)
			b, err := ev.Eval(context.Background(), tt.cell)
			var got [][]string
			if tt.wantArgs != nil {
				got = [][]string{tt.wantArgs}
			}
			if !reflect.DeepEqual(g.args, got) {
				t.Errorf("Get calls %q, want %q", g.args, got)
			}
			if tt.wantErr != "" {
				var ee *kernel.ExecError
				if !errors.As(err, &ee) || ee.Name != tt.wantErr || !strings.Contains(ee.Value, tt.wantText) {
					t.Fatalf("got %v, want %s containing %q", err, tt.wantErr, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Data["text/plain"]; got != tt.wantText {
				t.Errorf("got %q, want %q", got, tt.wantText)
			}
		})
	}
}
