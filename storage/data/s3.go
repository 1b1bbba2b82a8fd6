package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/open"
)

// OpenStore opens the object store of an s3:// URL ("s3://bucket"); keys
// are relative to it. It is storage/open.Store by default: endpoint,
// region and credentials come from the AWS_* environment variables (see
// storage/s3). Set it to use other settings; while it is nil, s3:// paths
// fail with an error that says so.
var OpenStore = func(ctx context.Context, url string) (storage.ObjectStore, error) {
	return open.Store(ctx, url, open.Options{})
}

var (
	storesMu sync.Mutex
	stores   = map[string]storage.ObjectStore{}
)

func isS3(p string) bool { return strings.HasPrefix(p, "s3://") }

// splitS3 splits s3://bucket/key.
func splitS3(u string) (bucket, key string, err error) {
	rest := strings.TrimPrefix(u, "s3://")
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("data: %q is not an object URL: write s3://BUCKET/KEY", u)
	}
	return bucket, key, nil
}

// store returns the object store of bucket and the key of u in it.
func store(ctx context.Context, u string) (storage.ObjectStore, string, error) {
	bucket, key, err := splitS3(u)
	if err != nil {
		return nil, "", err
	}
	if OpenStore == nil {
		return nil, "", fmt.Errorf("data: %s: no object store is configured for s3:// URLs (set data.OpenStore)", u)
	}
	storesMu.Lock()
	defer storesMu.Unlock()
	s, ok := stores[bucket]
	if !ok {
		s, err = OpenStore(ctx, "s3://"+bucket)
		if err != nil {
			return nil, "", fmt.Errorf("data: %s: %w", u, err)
		}
		stores[bucket] = s
	}
	return s, key, nil
}

// fetchS3 returns a local copy of the object at u, downloading it unless
// the cache holds the same version (ETag).
func (d *DB) fetchS3(ctx context.Context, u string) (string, error) {
	s, key, err := store(ctx, u)
	if err != nil {
		return "", err
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		if ferry.IsNotFound(err) {
			return "", fmt.Errorf("data: object not found: %s: %w", u, err)
		}
		return "", fmt.Errorf("data: %s: %w", u, err)
	}
	h := sha256.Sum256([]byte(u + "\x00" + info.ETag + "\x00" + info.SHA256 + "\x00" + info.ModTime.String()))
	local := filepath.Join(d.cacheDir, hex.EncodeToString(h[:12])+"-"+path.Base(key))
	if fi, err := os.Stat(local); err == nil && fi.Size() == info.Size {
		return local, nil
	}
	if err := os.MkdirAll(d.cacheDir, 0o700); err != nil {
		return "", fmt.Errorf("data: cache for %s: %w", u, err)
	}
	rc, _, err := s.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("data: %s: %w", u, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(d.cacheDir, ".part-*")
	if err != nil {
		return "", fmt.Errorf("data: cache for %s: %w", u, err)
	}
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), local)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("data: download %s: %w", u, err)
	}
	return local, nil
}

// uploadS3 puts the local file at p to u.
func uploadS3(ctx context.Context, p, u string) error {
	s, key, err := store(ctx, u)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("data: upload %s: %w", u, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("data: upload %s: %w", u, err)
	}
	ct := "application/octet-stream"
	switch strings.ToLower(path.Ext(key)) {
	case ".csv":
		ct = "text/csv"
	case ".json", ".jsonl", ".ndjson":
		ct = "application/json"
	case ".parquet":
		ct = "application/vnd.apache.parquet"
	}
	if _, err := s.Put(ctx, key, f, storage.PutOptions{Size: fi.Size(), ContentType: ct}); err != nil {
		return fmt.Errorf("data: upload %s: %w", u, err)
	}
	return nil
}

// resolveS3 replaces the s3:// string literals of q with local paths: a
// literal after TO (COPY ... TO 's3://...') is a local file uploaded by
// after(ctx, true) once the statement succeeds (after(ctx, false)
// discards them); any other is fetched now.
func (d *DB) resolveS3(ctx context.Context, q string) (string, func(ctx context.Context, ok bool) error, error) {
	noop := func(context.Context, bool) error { return nil }
	if !strings.Contains(q, "s3://") {
		return q, noop, nil
	}
	type upload struct{ local, url string }
	var (
		out     strings.Builder
		uploads []upload
		prev    string // last word of code before the literal
	)
	cleanup := func() {
		for _, u := range uploads {
			os.RemoveAll(filepath.Dir(u.local))
		}
	}
	for _, s := range scanSQL(q) {
		text := q[s.start:s.end]
		switch s.kind {
		case segCode:
			if f := strings.Fields(text); len(f) > 0 {
				prev = strings.ToUpper(f[len(f)-1])
			}
		case segString:
			u := unquote(text)
			if !isS3(u) {
				break
			}
			if prev == "TO" {
				dir, err := os.MkdirTemp("", "ferry-data-out-")
				if err != nil {
					cleanup()
					return "", nil, fmt.Errorf("data: %s: %w", u, err)
				}
				local := filepath.Join(dir, path.Base(u))
				uploads = append(uploads, upload{local, u})
				text = quoteLiteral(local)
				break
			}
			local, err := d.fetchS3(ctx, u)
			if err != nil {
				cleanup()
				return "", nil, err
			}
			text = quoteLiteral(local)
		}
		out.WriteString(text)
	}
	after := func(ctx context.Context, ok bool) error {
		defer cleanup()
		if !ok {
			return nil
		}
		var errs []error
		for _, u := range uploads {
			errs = append(errs, uploadS3(ctx, u.local, u.url))
		}
		return errors.Join(errs...)
	}
	return out.String(), after, nil
}
