package tracking

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/postgres"
	"github.com/ferryml/ferry/storage/sqldb"
	"github.com/ferryml/ferry/storage/sqlite"
)

// Options configure Open.
type Options = sqldb.Options

// DefaultURL returns the URL of the embedded store in a data directory:
// sqlite://<dataDir>/ferry.db.
func DefaultURL(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	return "sqlite://" + filepath.ToSlash(filepath.Join(abs, "ferry.db"))
}

// Open opens the tracking store at rawURL, creating and migrating it as
// needed. With SQLite, ArtifactRoot defaults to file://<db dir>/artifacts;
// with PostgreSQL it is required, since a shared database needs a shared
// artifact store (e.g. s3://bucket/ferry).
func Open(ctx context.Context, rawURL string, opts Options) (storage.Tracker, error) {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok {
		return nil, ferry.Errorf(ferry.Invalid, "tracking URL %q: use sqlite:///path/to/ferry.db or postgres://user@host:port/db", rawURL)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, ferry.Errorf(ferry.Invalid, "tracking URL %q: no file path: use sqlite:///abs/path/ferry.db", rawURL)
		}
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
		path = filepath.FromSlash(path)
		if opts.ArtifactRoot == "" {
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(path), "artifacts"))
			if err != nil {
				return nil, fmt.Errorf("tracking: %w", err)
			}
			opts.ArtifactRoot = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
		}
		return sqlite.Open(ctx, path, opts)
	case "postgres", "postgresql":
		if opts.ArtifactRoot == "" {
			return nil, ferry.Errorf(ferry.Invalid, "tracking on PostgreSQL needs an artifact root (e.g. s3://bucket/ferry) shared by every client")
		}
		return postgres.Open(ctx, rawURL, opts)
	}
	shown := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		shown = u.Redacted()
	}
	return nil, ferry.Errorf(ferry.Invalid, "tracking URL %q: unknown scheme %q: use sqlite:///path/to/ferry.db or postgres://user@host:port/db", shown, scheme)
}
