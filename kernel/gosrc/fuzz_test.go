package gosrc

import (
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	"", "1+1", "func f() {", "x := []int{1,", "}", `fmt.Println("hi")`, "a :=",
	"x := strings.Spl", "fmt.", "s := `raw", "/* c", "// c\nfmt.Pr", `"abc`,
	"'a", "héllo.wörld", "\xff\xfe.x", "x.\x00", "f(]", "@", "a...b",
	"func (p *T) M() {}\n// doc\ntype T struct{}", "var (\n\ta = 1\n)",
}

func FuzzIsComplete(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		status, indent := IsComplete(code)
		switch status {
		case "complete", "invalid":
			if indent != "" {
				t.Errorf("IsComplete(%q) = %q, %q; want no indent", code, status, indent)
			}
		case "incomplete":
			if indent == "" || strings.Trim(indent, " ") != "" || len(indent)%len(indentUnit) != 0 {
				t.Errorf("IsComplete(%q) = %q, %q; want an indent of whole units", code, status, indent)
			}
		default:
			t.Errorf("IsComplete(%q) status = %q; want complete, incomplete or invalid", code, status)
		}
	})
}

func FuzzExprAt(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, len(s))
		f.Add(s, len(s)/2)
	}
	f.Fuzz(func(t *testing.T, code string, cursor int) {
		expr, start, end := ExprAt(code, cursor)
		c := min(max(cursor, 0), len(code))
		if start < 0 || start > c || end < c || end > len(code) {
			t.Fatalf("ExprAt(%q, %d) range = [%d, %d); want it around the cursor", code, cursor, start, end)
		}
		if code[start:end] != expr {
			t.Errorf("ExprAt(%q, %d) = %q; want code[%d:%d] = %q", code, cursor, expr, start, end, code[start:end])
		}
	})
}

func FuzzDeclDoc(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "T")
	}
	f.Fuzz(func(t *testing.T, src, name string) {
		DeclDoc(src, name) // must not panic
	})
}
