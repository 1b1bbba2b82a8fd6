package goeval

import (
	"context"
	"testing"
)

func TestSplitCell(t *testing.T) {
	type piece struct {
		decl bool
		text string
	}
	tests := []struct {
		code string
		want []piece
	}{
		{"", nil},
		{"// only a comment", nil},
		{"x := 1", []piece{{false, "x := 1"}}},
		{"import \"fmt\"\nfmt.Println(1)", []piece{{true, "import \"fmt\"\n"}, {false, "fmt.Println(1)"}}},
		{"var a = 1; a++", []piece{{true, "var a = 1;"}, {false, " a++"}}},
		{"func() {}()", []piece{{false, "func() {}()"}}},
		{"func (t T) M() {}\nx := 1", []piece{{true, "func (t T) M() {}\n"}, {false, "x := 1"}}},
		{"func (x int) {}(1)", []piece{{false, "func (x int) {}(1)"}}},
		{"x := 1\n// Doc.\nfunc f() {}\ny := 2", []piece{{false, "x := 1\n"}, {true, "// Doc.\nfunc f() {}\n"}, {false, "y := 2"}}},
		{"if true {\n\tvar z = 1\n\t_ = z\n}", []piece{{false, "if true {\n\tvar z = 1\n\t_ = z\n}"}}},
		{"type T int\nconst C = 1\nvar V T", []piece{{true, "type T int\nconst C = 1\nvar V T"}}},
	}
	for _, tt := range tests {
		chunks := splitCell(tt.code)
		var got []piece
		for _, c := range chunks {
			got = append(got, piece{c.decl, tt.code[c.start:c.end]})
		}
		if len(got) != len(tt.want) {
			t.Errorf("splitCell(%q) = %+v, want %+v", tt.code, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("splitCell(%q)[%d] = %+v, want %+v", tt.code, i, got[i], tt.want[i])
			}
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalOnePlusOne(b *testing.B) {
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.Eval(ctx, "1+1"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLineEncoding(t *testing.T) {
	e := &Evaluator{}
	for _, id := range []int{1, 2, maxCells - 1, maxCells, maxCells + 1, 3*maxCells + 7} {
		e.cellID = id
		for _, back := range []int{0, 1, 5} {
			if id-back < 1 {
				continue
			}
			enc := encodeLine(id-back, 42)
			if enc >= 1<<30 {
				t.Fatalf("encodeLine(%d, 42) = %d, too large for go/scanner", id-back, enc)
			}
			got := e.decodeLine(enc, 3)
			if want := (position{id - back, 42, 3}); got != want {
				t.Errorf("cell %d: decodeLine(encodeLine(%d, 42)) = %+v, want %+v", id, id-back, got, want)
			}
		}
	}
}
