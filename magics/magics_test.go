package magics

import (
	"context"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryml/ferry/kernel"
	"github.com/ferryml/ferry/kernel/goeval"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"  a  b ", []string{"a", "b"}, ""},
		{`--filter "metrics.acc > 0.9 and params.lr = '0.01'"`, []string{"--filter", "metrics.acc > 0.9 and params.lr = '0.01'"}, ""},
		{`'it''s'`, []string{"its"}, ""},
		{`a\ b "q\"x" 'no\esc'`, []string{"a b", `q"x`, `no\esc`}, ""},
		{`""`, []string{""}, ""},
		{`"open`, nil, `unterminated " quote`},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitArgs(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	m := &Magic{Name: "runs", Usage: "%runs [--experiment X] [RUN...]", Line: func(context.Context, string) (any, error) { return nil, nil }}
	var fs flag.FlagSet
	exp := fs.String("experiment", "", "")
	pos, err := ParseFlags(m, &fs, `compare a --experiment "my exp" b -- --c`)
	if err != nil {
		t.Fatal(err)
	}
	if *exp != "my exp" || !reflect.DeepEqual(pos, []string{"compare", "a", "b", "--c"}) {
		t.Errorf("experiment %q, positional %q", *exp, pos)
	}
	_, err = ParseFlags(m, &fs, "--nope")
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "flag provided but not defined: -nope") || !strings.Contains(err.Error(), "Usage:\n%runs") {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []part
	}{
		{"go only", "x := 1\nx", []part{{text: "x := 1\nx"}}},
		{"magic only", "%lsmagic", []part{{magic: true, text: "lsmagic"}}},
		{"mixed", "x := 1\n  %runs --filter 'a'\nx+1\n", []part{
			{text: "x := 1\n"}, {magic: true, text: "runs --filter 'a'"}, {text: "\n\nx+1\n"}}},
		{"raw string", "s := `\n%not a magic\n`\n%m", []part{
			{text: "s := `\n%not a magic\n`\n"}, {magic: true, text: "m"}}},
		{"block comment", "/*\n%x\n*/\ny := 2 % 3", []part{{text: "/*\n%x\n*/\ny := 2 % 3"}}},
		{"string with backquote", "s := \"`\"\n%m", []part{{text: "s := \"`\"\n"}, {magic: true, text: "m"}}},
		{"line comment with backquote", "x := 1 // `\n%m", []part{{text: "x := 1 // `\n"}, {magic: true, text: "m"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := split(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("split(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func newEval(t *testing.T) (*Evaluator, *strings.Builder) {
	t.Helper()
	var out strings.Builder
	g, err := goeval.New(goeval.Options{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	reg.Register(&Magic{Name: "echo", Summary: "print the arguments", Usage: "%echo WORDS",
		Line: func(_ context.Context, args string) (any, error) {
			out.WriteString("echo:" + args + "\n")
			return nil, nil
		}})
	reg.Register(&Magic{Name: "upper", Summary: "the body in capitals", Usage: "%%upper",
		Cell: func(_ context.Context, args, body string) (any, error) {
			if args == "fail" {
				return nil, errors.New("asked to fail")
			}
			return strings.ToUpper(body), nil
		}})
	return NewEvaluator(g, reg), &out
}

func text(b *kernel.Bundle) string {
	if b == nil {
		return "<no result>"
	}
	s, _ := b.Data["text/plain"].(string)
	return s
}

func TestEval(t *testing.T) {
	e, out := newEval(t)
	ctx := t.Context()
	b, err := e.Eval(ctx, "x := 40\n%echo one two\nx + 2")
	if err != nil {
		t.Fatal(err)
	}
	if got := text(b); got != "42" {
		t.Errorf("result %q, want 42", got)
	}
	if got := out.String(); got != "echo:one two\n" {
		t.Errorf("output %q", got)
	}
	b, err = e.Eval(ctx, "%%upper\nhello")
	if err != nil || text(b) != `"HELLO"` {
		t.Errorf("cell magic: %q, %v", text(b), err)
	}
	b, err = e.Eval(ctx, "%lsmagic")
	if err != nil || !strings.Contains(text(b), "%%upper") || !strings.Contains(text(b), "%echo") {
		t.Errorf("lsmagic: %q, %v", text(b), err)
	}
	b, err = e.Eval(ctx, "%echo?")
	if err != nil || text(b) != "%echo WORDS" {
		t.Errorf("help: %q, %v", text(b), err)
	}
}

func TestEvalErrors(t *testing.T) {
	e, _ := newEval(t)
	tests := []struct {
		code, name, value string
	}{
		{"%nope", "UsageError", "unknown magic %nope; %lsmagic lists the magics"},
		{"%%nope\nx", "UsageError", "unknown cell magic %%nope"},
		{"%upper", "UsageError", "%upper: %%upper is a cell magic"},
		{"%%echo\nx", "UsageError", "%echo: %echo is a line magic"},
		{"%%upper fail\nx", "MagicError", "%upper: asked to fail"},
	}
	for _, tt := range tests {
		_, err := e.Eval(t.Context(), tt.code)
		var ee *kernel.ExecError
		if !errors.As(err, &ee) || ee.Name != tt.name || !strings.Contains(ee.Value, tt.value) {
			t.Errorf("Eval(%q) = %v; want %s containing %q", tt.code, err, tt.name, tt.value)
		}
	}
}

// TestGoErrorLines: a Go error after a magic line names the cell's line.
func TestGoErrorLines(t *testing.T) {
	e, _ := newEval(t)
	_, err := e.Eval(t.Context(), "x := 1\n%echo hi\n_ = x\ny := undefinedName\n")
	var ee *kernel.ExecError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v", err)
	}
	if all := ee.Value + strings.Join(ee.Traceback, "\n"); !strings.Contains(all, "line 4") {
		t.Errorf("error does not name line 4:\n%s", all)
	}
}

func TestComplete(t *testing.T) {
	e, _ := newEval(t)
	c := e.Complete("x := 1\n%ec", 10)
	if !reflect.DeepEqual(c.Matches, []string{"%echo"}) || c.CursorStart != 7 || c.CursorEnd != 10 {
		t.Errorf("complete %%ec: %+v", c)
	}
	c = e.Complete("%%", 2)
	if !reflect.DeepEqual(c.Matches, []string{"%%upper"}) {
		t.Errorf("complete %%%%: %+v", c)
	}
	if st, _ := e.IsComplete("%%upper\nfor {"); st != "complete" {
		t.Errorf("IsComplete cell magic = %s", st)
	}
	if st, _ := e.IsComplete("%echo x\nfor {"); st != "incomplete" {
		t.Errorf("IsComplete open loop after magic = %s", st)
	}
	if b, ok := e.Inspect("%echo hi", 2, 0); !ok || text(&b) != "%echo WORDS" {
		t.Errorf("inspect: %v %v", b, ok)
	}
}
