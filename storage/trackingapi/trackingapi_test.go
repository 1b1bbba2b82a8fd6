package trackingapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/file"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/sqlite"
	"github.com/ferryml/ferry/storage/trackingapi"
	"github.com/ferryml/ferry/storage/trackingtest"
)

// testServer is the API over a fresh SQLite tracker with file artifacts.
type testServer struct {
	c    *trackingapi.Client
	tr   *sqldb.Tracker
	dir  string // holds ferry.db and artifacts/
	root string // the tracker's artifact root URL
}

// serve starts the API over a fresh SQLite tracker with file artifacts,
// behind a token check like notebookd's, and returns a client of it. The
// contract suite's explicit artifact locations (s3://bucket/...,
// file:///tmp/art/...) are allowed roots.
func serve(t *testing.T) *trackingapi.Client {
	return serveRoots(t, "s3://bucket", "file:///tmp/art").c
}

// serveRoots is serve with the artifact roots roots besides the tracker's.
func serveRoots(t *testing.T, roots ...string) *testServer {
	t.Helper()
	dir := t.TempDir()
	root := "file://" + filepath.Join(dir, "artifacts")
	tr, err := sqlite.Open(t.Context(), filepath.Join(dir, "ferry.db"), sqldb.Options{ArtifactRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	h := trackingapi.NewHandler(tr, func(_ context.Context, u string) (storage.ObjectStore, error) {
		return file.Open(u)
	}, nil).AllowArtifactRoots(roots...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token secret" {
			http.Error(w, `{"message": "forbidden", "reason": "Forbidden"}`, http.StatusForbidden)
			return
		}
		http.StripPrefix("/api/ferry/v1", h).ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		tr.Close()
	})
	return &testServer{c: trackingapi.NewClient(srv.URL+"/api/ferry/v1/", "secret", srv.Client()), tr: tr, dir: dir, root: root}
}

// do sends a request with the token to the API path p.
func (ts *testServer) do(t *testing.T, method, p, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, ts.c.URL()+p, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token secret")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestContract runs the tracking contract suite through the API: the
// client is a storage.Tracker like the SQL backends.
func TestContract(t *testing.T) {
	trackingtest.Run(t, func(t *testing.T) storage.Tracker { return serve(t) })
}

func TestArtifacts(t *testing.T) {
	c := serve(t)
	ctx := t.Context()
	run, err := c.CreateRun(ctx, storage.RunSpec{ExperimentID: storage.DefaultExperimentID, Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte("model weights "), 10000)
	info, err := c.PutArtifact(ctx, run.ID, "model/weights bin.dat", bytes.NewReader(content), int64(len(content)), "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(content)) || len(info.SHA256) != 64 {
		t.Errorf("put info %+v", info)
	}
	if _, err := c.PutArtifact(ctx, run.ID, "notes.txt", strings.NewReader("hello"), -1, "text/plain"); err != nil {
		t.Fatalf("put of unknown size: %v", err)
	}
	rc, got, err := c.GetArtifact(ctx, run.ID, "model/weights bin.dat")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(b, content) || got.SHA256 != info.SHA256 {
		t.Errorf("got %d bytes, sha %s; want %d, %s", len(b), got.SHA256, len(content), info.SHA256)
	}
	list, err := c.ListArtifacts(ctx, run.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, a := range list {
		paths = append(paths, a.Path)
	}
	if want := "model/weights bin.dat,notes.txt"; strings.Join(paths, ",") != want {
		t.Errorf("artifacts %q, want %q", paths, want)
	}
	for _, p := range []string{"../escape", "a//b"} {
		_, err := c.PutArtifact(ctx, run.ID, p, strings.NewReader("x"), 1, "")
		if ferry.ErrorCode(err) != ferry.Invalid && ferry.ErrorCode(err) != ferry.NotFound {
			t.Errorf("put %q: %v, want an Invalid error", p, err)
		}
	}
	if _, _, err := c.GetArtifact(ctx, run.ID, "nope"); !ferry.IsNotFound(err) {
		t.Errorf("get missing: %v", err)
	}
}

func TestErrors(t *testing.T) {
	c := serve(t)
	ctx := t.Context()
	_, err := c.GetExperimentByName(ctx, "nope")
	var se *ferry.Error
	if !errors.As(err, &se) || se.Code != ferry.NotFound || !strings.Contains(se.Message, "nope") {
		t.Errorf("unknown experiment: %#v", err)
	}
	_, _, err = c.SearchRuns(ctx, storage.SearchRunsRequest{ExperimentIDs: []string{"0"}, Filter: "metrics.acc >"})
	if ferry.ErrorCode(err) != ferry.Invalid {
		t.Errorf("malformed filter: %v", err)
	}
	bad := trackingapi.NewClient(strings.TrimSuffix(c.URL(), "/"), "wrong", nil)
	if _, err := bad.ListExperiments(ctx, storage.ActiveOnly); err == nil || !strings.Contains(err.Error(), "FERRY_TOKEN") {
		t.Errorf("wrong token: %v", err)
	}
	down := trackingapi.NewClient("http://127.0.0.1:1/api/ferry/v1", "x", nil)
	if _, err := down.ListExperiments(ctx, storage.ActiveOnly); ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("unreachable: %v", err)
	}
}

// TestArtifactLocationRoots: an experiment's artifact location must lie
// under an artifact root of the server (issue 11 item 8: a client had the
// server create directories under /etc); so must the artifacts of runs of
// experiments that name another location in the database.
func TestArtifactLocationRoots(t *testing.T) {
	ts := serveRoots(t, "s3://models/team-a")
	outside := filepath.Join(t.TempDir(), "etc")
	tests := []struct {
		loc string
		ok  bool
	}{
		{"", true},
		{ts.root, true},
		{ts.root + "/", true},
		{ts.root + "/team/vision", true},
		{"s3://models/team-a", true},
		{"s3://models/team-a/exp1", true},
		{"file://" + outside, false},
		{"file:///etc/ferry", false},
		{ts.root + "/../../etc", false},
		{ts.root + "/%2e%2e/%2E%2E/etc", false},
		{ts.root + "/./x", false},
		{ts.root + "-sibling/x", false},
		{ts.root + "/x?y=1", false},
		{"s3://models/team-b/x", false},
		{"s3://models/team-a-evil", false},
		{"s3://other/team-a", false},
		{"S3://models/team-a/x", true},
		{"relative/dir", false},
		{"/etc/ferry", false},
	}
	for i, tc := range tests {
		t.Run(tc.loc, func(t *testing.T) {
			body := fmt.Sprintf(`{"name": "exp-%d", "artifact_location": %q}`, i, tc.loc)
			resp, msg := ts.do(t, "POST", "experiments", "application/json", body)
			if got := resp.StatusCode == http.StatusCreated; got != tc.ok {
				t.Fatalf("create with artifact_location %q: %d %s; want allowed=%v", tc.loc, resp.StatusCode, msg, tc.ok)
			}
			if !tc.ok {
				if resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, ts.root) || !strings.Contains(msg, "leave it empty") {
					t.Errorf("refusal: %d %s; want 400 naming the root %s and the fix", resp.StatusCode, msg, ts.root)
				}
			}
		})
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after the refused creations (%v)", outside, err)
	}

	// An experiment that names an outside location in the database itself.
	e, err := ts.tr.CreateExperiment(t.Context(), "legacy", "file://"+outside, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := ts.c.CreateRun(t.Context(), storage.RunSpec{ExperimentID: e.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.c.PutArtifact(t.Context(), run.ID, "x.txt", strings.NewReader("x"), 1, "text/plain")
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "outside the artifact roots") {
		t.Errorf("put into an outside location: %v; want an Invalid error", err)
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists after the refused put (%v)", outside, err)
	}
}

// TestArtifactDownloadHeaders: an artifact is served as an attachment
// unless its type runs no code in a browser, never sniffed, and sandboxed
// (issue 11 item 1: an HTML artifact ran as a page of the server's origin).
func TestArtifactDownloadHeaders(t *testing.T) {
	ts := serveRoots(t)
	run, err := ts.c.CreateRun(t.Context(), storage.RunSpec{ExperimentID: storage.DefaultExperimentID})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, putType    string
		wantType, wantD string
	}{
		{"report.html", "text/html", "text/html", `attachment; filename=report.html`},
		{"report.htm", "text/html; charset=utf-8", "text/html; charset=utf-8", `attachment; filename=report.htm`},
		{"plot.svg", "image/svg+xml", "image/svg+xml", `attachment; filename=plot.svg`},
		{"page.xhtml", "application/xhtml+xml", "application/xhtml+xml", `attachment; filename=page.xhtml`},
		{"doc.pdf", "application/pdf", "application/pdf", `attachment; filename=doc.pdf`},
		{"blob", "", "application/octet-stream", `attachment; filename=blob`},
		{"plot.png", "image/png", "image/png", `inline; filename=plot.png`},
		{"notes.txt", "text/plain; charset=utf-8", "text/plain; charset=utf-8", `inline; filename=notes.txt`},
		{"metrics.json", "application/json", "application/json", `inline; filename=metrics.json`},
		{"dir/a b.png", "IMAGE/PNG", "IMAGE/PNG", `inline; filename="a b.png"`},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if _, err := ts.c.PutArtifact(t.Context(), run.ID, tc.key, strings.NewReader("<script>alert(1)</script>"), -1, tc.putType); err != nil {
				t.Fatal(err)
			}
			resp, _ := ts.do(t, "GET", "runs/"+run.ID+"/artifacts/"+tc.key, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET: %d", resp.StatusCode)
			}
			got := [4]string{resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"),
				resp.Header.Get("X-Content-Type-Options"), resp.Header.Get("Content-Security-Policy")}
			if got[0] != tc.wantType || got[1] != tc.wantD || got[2] != "nosniff" || !strings.HasPrefix(got[3], "sandbox;") {
				t.Errorf("headers %q; want type %q, disposition %q, nosniff and a sandbox CSP", got, tc.wantType, tc.wantD)
			}
		})
	}
}
