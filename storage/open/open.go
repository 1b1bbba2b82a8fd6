package open

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/file"
	"github.com/ferryml/ferry/storage/s3"
)

// Options configure the backends.
type Options struct {
	// S3 configures s3:// stores.
	S3 s3.Options
	// NoCheck skips the request that Store makes to an S3 store to find
	// out whether the endpoint, credentials and bucket work.
	NoCheck bool
}

// Store opens the object store at rawURL. An s3:// store is checked with
// one request unless o.NoCheck, so that a wrong endpoint, credentials or
// bucket is reported here, naming the setting to fix.
func Store(ctx context.Context, rawURL string, o Options) (storage.ObjectStore, error) {
	if filepath.IsAbs(rawURL) && !strings.Contains(rawURL, "://") {
		return file.New(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, ferry.Errorf(ferry.Invalid, "object store URL %q: %v", rawURL, err)
	}
	switch u.Scheme {
	case "":
		return nil, ferry.Errorf(ferry.Invalid, "object store URL %q: want file:///absolute/dir, an absolute path or s3://bucket/prefix", rawURL)
	case "file":
		return file.Open(rawURL)
	case "s3":
		s, err := s3.New(rawURL, o.S3)
		if err != nil {
			return nil, err
		}
		if !o.NoCheck {
			if err := s.Check(ctx); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	return nil, ferry.Errorf(ferry.Invalid, "object store URL %q: unsupported scheme %q; use file:///absolute/dir or s3://bucket/prefix", rawURL, u.Scheme)
}
