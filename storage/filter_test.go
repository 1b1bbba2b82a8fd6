package storage

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want []Clause
	}{
		{"", nil},
		{"   ", nil},
		{"metrics.accuracy > 0.9", []Clause{{Entity: EntityMetric, Key: "accuracy", Op: ">", Numeric: true, Number: 0.9}}},
		{"metrics.accuracy > 0.9 and params.lr = '0.01'", []Clause{
			{Entity: EntityMetric, Key: "accuracy", Op: ">", Numeric: true, Number: 0.9},
			{Entity: EntityParam, Key: "lr", Op: "=", String: "0.01", Pos: 27},
		}},
		{"tags.x = 'y'", []Clause{{Entity: EntityTag, Key: "x", Op: "=", String: "y"}}},
		{`tags."mlflow.runName" != "a ""b"" c"`, []Clause{{Entity: EntityTag, Key: "mlflow.runName", Op: "!=", String: `a "b" c`}}},
		{"tags.`my key` LIKE 'it''s%'", []Clause{{Entity: EntityTag, Key: "my key", Op: "LIKE", String: "it's%"}}},
		{"attributes.status = 'FINISHED'", []Clause{{Entity: EntityAttribute, Key: "status", Op: "=", String: "FINISHED"}}},
		{"run_name LIKE '%foo%'", []Clause{{Entity: EntityAttribute, Key: "run_name", Op: "LIKE", String: "%foo%"}}},
		{"attr.name ilike '%Foo%'", []Clause{{Entity: EntityAttribute, Key: "run_name", Op: "ILIKE", String: "%Foo%"}}},
		{"created >= 1700000000000", []Clause{{Entity: EntityAttribute, Key: "start_time", Op: ">=", Numeric: true, Number: 1.7e12}}},
		{"attributes.end_time<=-1.5e3", []Clause{{Entity: EntityAttribute, Key: "end_time", Op: "<=", Numeric: true, Number: -1500}}},
		{"params.model.name = 'x'", []Clause{{Entity: EntityParam, Key: "model.name", Op: "=", String: "x"}}},
		{"m.loss-val<>1", []Clause{{Entity: EntityMetric, Key: "loss-val", Op: "!=", Numeric: true, Number: 1}}},
		{"params.opt IN ('adam', \"sgd\")", []Clause{{Entity: EntityParam, Key: "opt", Op: "IN", List: []string{"adam", "sgd"}}}},
		{"params.opt not  in('adam')", []Clause{{Entity: EntityParam, Key: "opt", Op: "NOT IN", List: []string{"adam"}}}},
		{"datasets.digest = 'abc' AND datasets.context IN ('training')", []Clause{
			{Entity: EntityDataset, Key: "digest", Op: "=", String: "abc"},
			{Entity: EntityDataset, Key: "context", Op: "IN", List: []string{"training"}, Pos: 28},
		}},
		{"params.s = 'ü🚀'", []Clause{{Entity: EntityParam, Key: "s", Op: "=", String: "ü🚀"}}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFilter(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Clauses, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got.Clauses, tc.want)
			}
			again, err := ParseFilter(got.String())
			if err != nil || !reflect.DeepEqual(withoutPos(again), withoutPos(got)) {
				t.Errorf("round trip through %q: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		in   string
		pos  int
		want string
	}{
		{"metrics.accuracy >", 18, "expected a value after >"},
		{"metrics.accuracy", 16, "expected a comparator"},
		{"metrics.accuracy ~ 1", 17, "expected a comparator"},
		{"metrics.accuracy > 'high'", 19, "is a number"},
		{"metrics.accuracy LIKE '1%'", 17, "LIKE does not apply"},
		{"metrics.accuracy IN ('1')", 17, "IN does not apply"},
		{"params.lr = 0.01", 12, "quote the value"},
		{"params.lr = 'abc", 12, "unterminated string"},
		{"params.lr IN 'a'", 13, "parenthesized list"},
		{"params.lr IN ('a' 'b')", 18, "expected , or )"},
		{"params.lr IN ('a',", 18, "expected a quoted string in the list"},
		{"params.lr IN (1)", 14, "expected a quoted string in the list"},
		{"params.lr NOT LIKE 'a'", 14, "expected IN after NOT"},
		{"metrics.a > 1 OR metrics.b > 1", 14, "OR is not supported"},
		{"metrics.a > 1 metrics.b > 1", 14, "expected AND"},
		{"metrics.a > 1 AND", 17, "expected an identifier"},
		{"metrics.a > 1 ANDmetrics.b > 1", 14, "expected AND"},
		{"foo = 'x'", 0, `unknown identifier "foo"`},
		{"things.x = 'x'", 0, `unknown entity "things"`},
		{"metrics. > 1", 8, "expected a key"},
		{"attributes.color = 'red'", 11, `unknown attribute "color"`},
		{"datasets.size = 'big'", 9, `unknown dataset field "size"`},
		{"tags.`open = 'x'", 5, "unterminated string"},
		{"metrics.a > 1x", 12, "expected a number or a quoted string"},
		{"metrics.a > .", 12, "expected a number"},
		{"(metrics.a > 1)", 0, "expected an identifier"},
		{"params.a = 'x' AND", 18, "expected an identifier"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseFilter(tc.in)
			if err == nil {
				t.Fatal("parsed; want an error")
			}
			if ferry.ErrorCode(err) != ferry.Invalid {
				t.Errorf("code %s, want invalid", ferry.ErrorCode(err))
			}
			if pos := "at position " + strconv.Itoa(tc.pos) + ":"; !strings.Contains(err.Error(), pos) {
				t.Errorf("error %q: want %q", err, pos)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want it to say %q", err, tc.want)
			}
		})
	}
}

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		in   string
		want OrderBy
		err  string
	}{
		{in: "metrics.accuracy DESC", want: OrderBy{Entity: EntityMetric, Key: "accuracy", Desc: true}},
		{in: "attributes.start_time", want: OrderBy{Entity: EntityAttribute, Key: "start_time"}},
		{in: "params.lr ASC", want: OrderBy{Entity: EntityParam, Key: "lr"}},
		{in: "  tags.`a b`  desc ", want: OrderBy{Entity: EntityTag, Key: "a b", Desc: true}},
		{in: "start_time", want: OrderBy{Entity: EntityAttribute, Key: "start_time"}},
		{in: "metrics.a UP", err: "at position 10: expected ASC or DESC"},
		{in: "metrics.a DESC x", err: "at position 15: unexpected"},
		{in: "datasets.name", err: "cannot order by a dataset field"},
		{in: "", err: "expected an identifier"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOrderBy(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || ferry.ErrorCode(err) != ferry.Invalid {
					t.Fatalf("error %v, want invalid error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func withoutPos(f Filter) Filter {
	out := Filter{}
	for _, c := range f.Clauses {
		c.Pos = 0
		out.Clauses = append(out.Clauses, c)
	}
	return out
}

// FuzzParseFilter checks that the parser never panics, that its errors are
// Invalid with a position inside the text, and that what it parses renders
// back to text that parses to the same filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"metrics.accuracy > 0.9 and params.lr = '0.01'",
		"tags.`a``b` LIKE 'x''y%' AND attributes.status IN ('FINISHED', \"KILLED\")",
		"run_name ILIKE '%foo%' and created >= -1e3",
		"datasets.name NOT IN ('a') and m.x-y <> 2.5E-3",
		"params.lr = 0.01", "metrics.a > 1 OR x", "tags.\"a", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFilter(s)
		if err != nil {
			if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "at position ") {
				t.Fatalf("ParseFilter(%q): error %v: want Invalid with a position", s, err)
			}
			return
		}
		for _, c := range got.Clauses {
			if c.Pos < 0 || c.Pos > len(s) {
				t.Fatalf("clause position %d outside %q", c.Pos, s)
			}
		}
		text := got.String()
		again, err := ParseFilter(text)
		if err != nil {
			t.Fatalf("ParseFilter(%q) = %+v renders as %q, which fails: %v", s, got, text, err)
		}
		if !reflect.DeepEqual(withoutPos(again), withoutPos(got)) {
			t.Fatalf("round trip of %q through %q:\n got %+v\nwant %+v", s, text, again, got)
		}
	})
}
