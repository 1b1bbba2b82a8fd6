package data

import "testing"

func TestIsSingleQuery(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{"SELECT 1", true},
		{"  select 1;\n", true},
		{"-- comment\nWITH a AS (SELECT 1) SELECT * FROM a", true},
		{"(SELECT 1) UNION (SELECT 2)", true},
		{"FROM t", true},
		{"SELECT ';' AS semi", true},
		{"SELECT 1; SELECT 2", false},
		{"SELECT 1; -- trailing comment", true},
		{"CREATE TABLE t AS SELECT 1", false},
		{"SHOW TABLES", false},
		{"SELECTED", false},
		{"'SELECT'", false},
	}
	for _, tc := range tests {
		if got := isSingleQuery(tc.q); got != tc.want {
			t.Errorf("isSingleQuery(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestScanSQL(t *testing.T) {
	q := `SELECT 'it''s' AS "a""b" -- c'
/* x ' */ FROM t`
	var kinds []segKind
	var texts []string
	for _, s := range scanSQL(q) {
		kinds = append(kinds, s.kind)
		texts = append(texts, q[s.start:s.end])
	}
	want := []string{"SELECT ", "'it''s'", " AS ", `"a""b"`, " ", "-- c'", "\n", "/* x ' */", " FROM t"}
	if len(texts) != len(want) {
		t.Fatalf("segments %q, want %q", texts, want)
	}
	for i := range want {
		if texts[i] != want[i] {
			t.Errorf("segment %d = %q, want %q", i, texts[i], want[i])
		}
	}
	if unquote(texts[1]) != "it's" {
		t.Errorf("unquote = %q", unquote(texts[1]))
	}
	_ = kinds
}
