package sqlite_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/sqlite"
	"github.com/ferryml/ferry/storage/trackingtest"
)

func TestContract(t *testing.T) {
	trackingtest.Run(t, func(t *testing.T) storage.Tracker {
		tr, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ferry.db"), sqldb.Options{ArtifactRoot: "file:///data/artifacts"})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	})
}

// TestReopen checks that a second open of a file finds the schema at its
// version, applies nothing, and sees the data.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "ferry.db")
	tr, err := sqlite.Open(t.Context(), path, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := tr.CreateExperiment(t.Context(), "kept", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	v := tr.SchemaVersion()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err = sqlite.Open(t.Context(), path, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if got := tr.SchemaVersion(); got != v || v < 1 {
		t.Errorf("schema version %d after reopen, want %d (>= 1)", got, v)
	}
	var applied int
	if err := tr.DB().QueryRow(`SELECT count(*) FROM ferry_schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != v {
		t.Errorf("%d migrations recorded, want %d", applied, v)
	}
	if _, err := tr.GetExperiment(t.Context(), e.ID); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	var mode string
	if err := tr.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
	var pageSize int
	if err := tr.DB().QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil || pageSize != sqlite.PageSize {
		t.Errorf("page size %d (%v), want %d", pageSize, err, sqlite.PageSize)
	}
}

func TestOpenBadPath(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), "what?.db", sqldb.Options{}); err == nil {
		t.Error("a path with ? opened; want an error")
	}
}

// TestNewerSchema refuses a database migrated by a newer ferry.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	tr, err := sqlite.Open(t.Context(), path, sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.DB().Exec(`INSERT INTO ferry_schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	_, err = sqlite.Open(t.Context(), path, sqldb.Options{})
	if err == nil || !strings.Contains(err.Error(), "version 99 is newer") || !strings.Contains(err.Error(), "upgrade ferry") {
		t.Errorf("open of a newer schema: %v, want an error asking to upgrade ferry", err)
	}
}
