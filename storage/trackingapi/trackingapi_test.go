package trackingapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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

// serve starts the API over a fresh SQLite tracker with file artifacts,
// behind a token check like notebookd's, and returns a client of it.
func serve(t *testing.T) *trackingapi.Client {
	t.Helper()
	dir := t.TempDir()
	tr, err := sqlite.Open(t.Context(), filepath.Join(dir, "ferry.db"), sqldb.Options{ArtifactRoot: "file://" + filepath.Join(dir, "artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	h := trackingapi.NewHandler(tr, func(_ context.Context, u string) (storage.ObjectStore, error) {
		return file.Open(u)
	}, nil)
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
	return trackingapi.NewClient(srv.URL+"/api/ferry/v1/", "secret", srv.Client())
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
