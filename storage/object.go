package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ferryml/ferry"
)

// ObjectStore is a flat namespace of objects (datasets, artifacts, models)
// addressed by key. Keys are relative to the store's root (a directory or an
// S3 bucket and prefix): slash-separated, UTF-8, without empty, "." or ".."
// segments, backslashes or NUL bytes (see ValidateKey).
//
// Every object written through a store records the SHA-256 of its content,
// computed while the data streams in; Stat and Get return it and Verify
// checks it. A Put is atomic: until it returns successfully no reader sees
// the new content under the key, and a failed Put leaves the previous object
// (if any) in place.
type ObjectStore interface {
	// Put stores the bytes of r under key, replacing any object there.
	// With o.Size >= 0 exactly that many bytes are read from r (a shorter
	// stream is an Invalid error); with o.Size < 0 r is read to EOF in
	// bounded memory.
	Put(ctx context.Context, key string, r io.Reader, o PutOptions) (ObjectInfo, error)
	// Get opens the object, or the byte range o asks for, for reading. The
	// caller closes the reader. ObjectInfo describes the whole object.
	Get(ctx context.Context, key string, o GetOptions) (io.ReadCloser, ObjectInfo, error)
	// Stat describes the object at key.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List returns one page of the objects whose keys start with o.Prefix,
	// in byte order of their keys. List fills Key, Size, ModTime and, where
	// the backend has it at no extra cost, ETag; Stat returns the rest.
	List(ctx context.Context, o ListOptions) (ListPage, error)
	// Delete removes the object at key. Deleting a missing key is not an
	// error, as in S3.
	Delete(ctx context.Context, key string) error
	// Copy copies the object at src, with its content type, metadata and
	// SHA-256, to dst.
	Copy(ctx context.Context, src, dst string) (ObjectInfo, error)
	// PresignGet returns a URL that anyone can GET the object from until
	// expiry passes. Backends without such URLs return NotSupported.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
	// URL returns the store's address without credentials, such as
	// "file:///var/lib/ferry/objects" or "s3://bucket/prefix".
	URL() string
}

// ObjectInfo describes an object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
	// ETag changes whenever the content changes. Its form depends on the
	// backend (on S3 it is the server's ETag, without quotes).
	ETag string
	// SHA256 is the lowercase hex SHA-256 of the content recorded when it
	// was written, or "" if unknown (an object written by another tool).
	SHA256      string
	ContentType string
	// Metadata holds user metadata with lowercase keys.
	Metadata map[string]string
}

// PutOptions tune a Put.
type PutOptions struct {
	// Size is the exact length of the content, or -1 if unknown. The zero
	// value means an empty object: set -1 when streaming.
	Size int64
	// ContentType defaults to DefaultContentType.
	ContentType string
	// Metadata is stored with the object. Keys are case-insensitive
	// (stored in lowercase) tokens of letters, digits, '-' and '_'; values
	// are printable ASCII. The key "sha256" is reserved.
	Metadata map[string]string
	// Progress, if not nil, is called with the number of bytes consumed from
	// the reader so far, after each read.
	Progress func(written int64)
}

// GetOptions select a byte range of an object.
type GetOptions struct {
	// Offset is the first byte to read; it must not exceed the object's
	// size (Offset == size reads nothing).
	Offset int64
	// Length is the number of bytes to read; 0 reads to the end. A range
	// that runs past the end is cut at the end.
	Length int64
}

// ListOptions select a page of a listing.
type ListOptions struct {
	// Prefix restricts the listing to keys that start with it.
	Prefix string
	// Delimiter, if not empty, rolls keys that contain it after Prefix up
	// into CommonPrefixes (each ending with Delimiter), as in S3.
	Delimiter string
	// StartAfter starts the listing after this key.
	StartAfter string
	// Token continues a listing: pass the previous page's Next, with the
	// same Prefix and Delimiter.
	Token string
	// MaxKeys bounds the number of objects and common prefixes in the page;
	// 0 means 1000, the most a page holds.
	MaxKeys int
}

// ListPage is one page of a listing.
type ListPage struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	// Next is the Token of the next page, or "" if this is the last one.
	Next string
}

// DefaultContentType is the content type of objects put without one.
const DefaultContentType = "application/octet-stream"

// MaxListKeys is the largest page List returns.
const MaxListKeys = 1000

// ErrChecksumMismatch is wrapped by errors that report content whose
// SHA-256 differs from the one recorded.
var ErrChecksumMismatch = errors.New("sha256 mismatch")

// ValidateKey reports an Invalid error if key cannot name an object: it is
// empty, starts or ends with '/', has an empty, "." or ".." segment, holds a
// backslash, a NUL or another control character, is not valid UTF-8, or is
// longer than 1024 bytes (the S3 limit).
func ValidateKey(key string) error {
	bad := func(why string) error {
		return ferry.Errorf(ferry.Invalid, "invalid object key %q: %s", key, why)
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > 1024:
		return bad("longer than 1024 bytes")
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("starts with '/' (keys are relative to the store's root)")
	case strings.HasSuffix(key, "/"):
		return bad("ends with '/'")
	case strings.ContainsRune(key, '\\'):
		return bad("contains a backslash (use '/')")
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("has an empty segment")
		case ".", "..":
			return bad("has a '" + seg + "' segment")
		}
	}
	return nil
}

// ValidateMetadata checks user metadata (see PutOptions.Metadata) and
// returns a copy with lowercase keys, or nil if md is empty.
func ValidateMetadata(md map[string]string) (map[string]string, error) {
	if len(md) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(md))
	total := 0
	for k, v := range md {
		lk := strings.ToLower(k)
		if lk == "" {
			return nil, ferry.Errorf(ferry.Invalid, "invalid metadata: empty key")
		}
		for _, c := range lk {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return nil, ferry.Errorf(ferry.Invalid, "invalid metadata key %q: use letters, digits, '-' and '_'", k)
			}
		}
		if lk == "sha256" {
			return nil, ferry.Errorf(ferry.Invalid, "invalid metadata key %q: reserved for the content's SHA-256", k)
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return nil, ferry.Errorf(ferry.Invalid, "invalid metadata value for %q: use printable ASCII (encode other text, e.g. as URL query escapes)", k)
			}
		}
		if _, dup := out[lk]; dup {
			return nil, ferry.Errorf(ferry.Invalid, "invalid metadata: key %q given twice (keys are case-insensitive)", lk)
		}
		out[lk] = v
		total += len(lk) + len(v)
	}
	if total > 2048 {
		return nil, ferry.Errorf(ferry.Invalid, "invalid metadata: %d bytes, more than the 2 KiB S3 allows", total)
	}
	return out, nil
}

// ValidateRange checks o against an object of the given size and returns the
// number of bytes the range covers.
func ValidateRange(key string, o GetOptions, size int64) (int64, error) {
	if o.Offset < 0 || o.Length < 0 {
		return 0, ferry.Errorf(ferry.Invalid, "get %s: negative range (offset %d, length %d)", key, o.Offset, o.Length)
	}
	if o.Offset > size {
		return 0, ferry.Errorf(ferry.Invalid, "get %s: offset %d is past the end of the object (size %d)", key, o.Offset, size)
	}
	n := size - o.Offset
	if o.Length > 0 && o.Length < n {
		n = o.Length
	}
	return n, nil
}

// Verify re-reads the object at key and checks its content against the
// recorded SHA-256. A mismatch is an Internal error wrapping
// ErrChecksumMismatch; an object without a recorded SHA-256 is Invalid.
func Verify(ctx context.Context, s ObjectStore, key string) error {
	rc, info, err := s.Get(ctx, key, GetOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	if info.SHA256 == "" {
		return ferry.Errorf(ferry.Invalid, "verify %s: no SHA-256 recorded (the object was not written through Ferry); put it again to record one", key)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return ferry.Errorf(ferry.ErrorCode(err), "verify %s: read: %w", key, err)
	}
	if n != info.Size {
		return ferry.Errorf(ferry.Internal, "verify %s: read %d bytes, object size %d: %w", key, n, info.Size, ErrChecksumMismatch)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != info.SHA256 {
		return ferry.Errorf(ferry.Internal, "verify %s: content has SHA-256 %s, recorded %s: %w; the object is corrupt, put it again", key, got, info.SHA256, ErrChecksumMismatch)
	}
	return nil
}
