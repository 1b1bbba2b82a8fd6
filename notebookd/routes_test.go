package notebookd

import "testing"

func TestLookup(t *testing.T) {
	tests := []struct {
		p        string
		public   bool
		wantPath string // "" when no route matches
		wantRest string
	}{
		{"", true, "", ""},
		{"lab", true, "lab", ""},
		{"lab/tree/a%2Fb.ipynb", true, "lab/tree", "/a%2Fb.ipynb"},
		{"api/ferry/v1/runs", true, "api/ferry/v1/", "runs"},
		{"api/contents", false, "api/contents", ""},
		{"api/contents/sub%2Fn.ipynb/checkpoints/x", false, "api/contents", "/sub%2Fn.ipynb/checkpoints/x"},
		{"api/contentsX", false, "", ""},
		{"api/kernelspecs/go", false, "api/kernelspecs", "/go"},
		{"api/kernels/k1/channels", false, "api/kernels", "/k1/channels"},
		{"api/status", false, "api/status", ""},
		{"api/status/x", false, "", ""},
		{"files/a%2Fb.html", false, "files/", "a%2Fb.html"},
		{"api/config/notebook", false, "api/config/", "notebook"},
	}
	for _, tc := range tests {
		table := apiRoutes
		if tc.public {
			table = publicRoutes
		}
		rt, rest, ok := lookup(table, tc.p)
		if tc.wantPath == "" && tc.p != "" {
			if ok {
				t.Errorf("lookup(%q) = %q, want no route", tc.p, rt.path)
			}
			continue
		}
		if !ok || rt.path != tc.wantPath || rest != tc.wantRest {
			t.Errorf("lookup(%q) = %q, %q, %v; want %q, %q", tc.p, rt.path, rest, ok, tc.wantPath, tc.wantRest)
		}
	}
	for _, p := range []string{"api/nope", "lab/api/nope", "files/x", "lsp/status"} {
		if !inAPI(p) {
			t.Errorf("inAPI(%q) = false, want true (answered after authentication)", p)
		}
	}
	for _, p := range []string{"nope", "static/lab/x.js", "lab"} {
		if inAPI(p) {
			t.Errorf("inAPI(%q) = true, want false", p)
		}
	}
}
