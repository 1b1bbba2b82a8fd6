package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// reserved is the first key segment the store keeps for itself.
const reserved = ".ferry"

// Store is an object store in a local directory.
type Store struct {
	dir   string
	tmp   string
	meta  string
	locks [64]sync.Mutex
}

var _ storage.ObjectStore = (*Store)(nil)

// ParseURL returns the directory of a file:///abs/dir URL.
func ParseURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", ferry.Errorf(ferry.Invalid, "file: invalid store URL %q: %v", rawURL, err)
	}
	if u.Scheme != "file" || u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || u.User != nil {
		return "", ferry.Errorf(ferry.Invalid, "file: invalid store URL %q: want file:///absolute/dir", rawURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", ferry.Errorf(ferry.Invalid, "file: invalid store URL %q: no query or fragment allowed", rawURL)
	}
	if !strings.HasPrefix(u.Path, "/") || strings.ContainsRune(u.Path, 0) {
		return "", ferry.Errorf(ferry.Invalid, "file: invalid store URL %q: the path must be absolute", rawURL)
	}
	return filepath.Clean(filepath.FromSlash(u.Path)), nil
}

// Open returns the store of a file:///abs/dir URL (see New).
func Open(rawURL string) (*Store, error) {
	dir, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return New(dir)
}

// New returns a store rooted at the absolute directory dir, creating it if
// needed.
func New(dir string) (*Store, error) {
	if !filepath.IsAbs(dir) {
		return nil, ferry.Errorf(ferry.Invalid, "file: store directory %q must be absolute", dir)
	}
	dir = filepath.Clean(dir)
	s := &Store{dir: dir, tmp: filepath.Join(dir, reserved, "tmp"), meta: filepath.Join(dir, reserved, "meta")}
	for _, d := range []string{s.tmp, s.meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, ferry.Errorf(ferry.Unavailable, "file: create store directory: %w", err)
		}
	}
	return s, nil
}

// URL returns file:///abs/dir.
func (s *Store) URL() string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.dir)}).String()
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func checkKey(key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if key == reserved || strings.HasPrefix(key, reserved+"/") {
		return ferry.Errorf(ferry.Invalid, "invalid object key %q: keys under %q are reserved by the file store", key, reserved+"/")
	}
	return nil
}

func (s *Store) path(key string) string { return filepath.Join(s.dir, filepath.FromSlash(key)) }

func (s *Store) metaPath(key string) string {
	h := sha256.Sum256([]byte(key))
	x := hex.EncodeToString(h[:])
	return filepath.Join(s.meta, x[:2], x+".json")
}

func (s *Store) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// sidecar is the JSON record of an object's SHA-256 and metadata, and of
// the file it describes.
type sidecar struct {
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	ModTimeNS   int64             `json:"mtime_ns"`
	Inode       uint64            `json:"inode,omitempty"`
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func (c *sidecar) matches(fi fs.FileInfo) bool {
	return c.Size == fi.Size() && c.ModTimeNS == fi.ModTime().UnixNano() && c.Inode == inode(fi)
}

func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// Put implements storage.ObjectStore.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.ObjectInfo, error) {
	return s.put(ctx, key, r, o, "")
}

// put writes the object; with want != "" the content must have that SHA-256.
func (s *Store) put(ctx context.Context, key string, r io.Reader, o storage.PutOptions, want string) (_ storage.ObjectInfo, err error) {
	if err := checkKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	md, err := storage.ValidateMetadata(o.Metadata)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	ct := o.ContentType
	if ct == "" {
		ct = storage.DefaultContentType
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	tmpName := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if tmpName != "" {
			os.Remove(tmpName)
		}
	}()

	h := sha256.New()
	hr := storage.NewPutReader(ctx, r, h, o.Progress)
	buf := make([]byte, 1<<20)
	w := struct{ io.Writer }{f} // hide ReadFrom: copy through buf
	if o.Size >= 0 {
		_, err = io.CopyBuffer(w, io.LimitReader(hr, o.Size), buf)
		if err == nil && hr.N() < o.Size {
			return storage.ObjectInfo{}, ferry.Errorf(ferry.Invalid, "file: put %s: the reader ended after %d of %d bytes (PutOptions.Size)", key, hr.N(), o.Size)
		}
	} else {
		_, err = io.CopyBuffer(w, hr, buf)
	}
	if err != nil {
		if hr.Err() != nil && errors.Is(err, hr.Err()) {
			return storage.ObjectInfo{}, ferry.Errorf(ferry.ErrorCode(err), "file: put %s: read data: %w", key, err)
		}
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return storage.ObjectInfo{}, ferry.Errorf(ferry.Internal, "file: copy to %s: source content has SHA-256 %s, recorded %s: %w", key, sum, want, storage.ErrChecksumMismatch)
	}
	if err := f.Chmod(0o644); err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	if err := f.Sync(); err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	if err := f.Close(); err != nil {
		f = nil
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	f = nil
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("file: put %s: %w", key, err)
	}

	sc := sidecar{Key: key, Size: fi.Size(), ModTimeNS: fi.ModTime().UnixNano(), Inode: inode(fi), SHA256: sum, ContentType: ct, Metadata: md}
	mb, err := json.Marshal(sc)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	metaTmp, err := s.writeTemp(mb)
	if err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	defer os.Remove(metaTmp) // a no-op once renamed

	p, mp := s.path(key), s.metaPath(key)
	unlock := s.lock(key)
	defer unlock()
	// A concurrent Delete may prune the parent directory between MkdirAll
	// and Rename: try again then.
	for attempt := 0; ; attempt++ {
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.Rename(tmpName, p)
		}
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return storage.ObjectInfo{}, s.conflictErr("put", key, err)
	}
	tmpName = ""
	if err := os.MkdirAll(filepath.Dir(mp), 0o755); err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	if err := os.Rename(metaTmp, mp); err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	if err := syncDir(filepath.Dir(mp)); err != nil {
		return storage.ObjectInfo{}, s.fsErr("put", key, err)
	}
	return sc.info(), nil
}

func (c *sidecar) info() storage.ObjectInfo {
	return storage.ObjectInfo{
		Key:         c.Key,
		Size:        c.Size,
		ModTime:     time.Unix(0, c.ModTimeNS),
		ETag:        c.SHA256,
		SHA256:      c.SHA256,
		ContentType: c.ContentType,
		Metadata:    c.Metadata,
	}
}

func (s *Store) writeTemp(b []byte) (string, error) {
	f, err := os.CreateTemp(s.tmp, "meta-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// describe returns the info of the open regular file f of key.
func (s *Store) describe(key string, fi fs.FileInfo) storage.ObjectInfo {
	if b, err := os.ReadFile(s.metaPath(key)); err == nil {
		var sc sidecar
		if json.Unmarshal(b, &sc) == nil && sc.Key == key && sc.matches(fi) {
			return sc.info()
		}
	}
	// Written behind the store's back: no SHA-256 known.
	return storage.ObjectInfo{
		Key:         key,
		Size:        fi.Size(),
		ModTime:     fi.ModTime(),
		ETag:        strconv.FormatInt(fi.ModTime().UnixNano(), 16) + "-" + strconv.FormatInt(fi.Size(), 16),
		ContentType: storage.DefaultContentType,
	}
}

// Get implements storage.ObjectStore.
func (s *Store) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		return nil, storage.ObjectInfo{}, s.fsErr("get", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, storage.ObjectInfo{}, s.fsErr("get", key, err)
	}
	info := s.describe(key, fi)
	n, err := storage.ValidateRange(key, o, fi.Size())
	if err != nil {
		f.Close()
		return nil, storage.ObjectInfo{}, err
	}
	if o.Offset > 0 {
		if _, err := f.Seek(o.Offset, io.SeekStart); err != nil {
			f.Close()
			return nil, storage.ObjectInfo{}, s.fsErr("get", key, err)
		}
	}
	return &rangeReader{Reader: io.LimitReader(f, n), f: f}, info, nil
}

type rangeReader struct {
	io.Reader
	f *os.File
}

func (r *rangeReader) Close() error { return r.f.Close() }

// Stat implements storage.ObjectStore.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	fi, err := os.Stat(s.path(key))
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return storage.ObjectInfo{}, s.fsErr("stat", key, err)
	}
	return s.describe(key, fi), nil
}

// Delete implements storage.ObjectStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := s.path(key)
	unlock := s.lock(key)
	defer unlock()
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err != nil {
		return s.fsErr("delete", key, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.fsErr("delete", key, err)
	}
	if err := os.Remove(s.metaPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.fsErr("delete", key, err)
	}
	// Prune directories the object leaves empty.
	for d := filepath.Dir(p); d != s.dir && strings.HasPrefix(d, s.dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// Copy implements storage.ObjectStore. It checks the source's content
// against its recorded SHA-256 on the way.
func (s *Store) Copy(ctx context.Context, src, dst string) (storage.ObjectInfo, error) {
	if err := checkKey(dst); err != nil {
		return storage.ObjectInfo{}, err
	}
	rc, info, err := s.Get(ctx, src, storage.GetOptions{})
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	defer rc.Close()
	return s.put(ctx, dst, rc, storage.PutOptions{Size: info.Size, ContentType: info.ContentType, Metadata: info.Metadata}, info.SHA256)
}

// PresignGet is not supported by local files.
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	return "", ferry.Errorf(ferry.NotSupported, "file: presigned URLs need an S3 store; %s is a local directory", s.URL())
}

// List implements storage.ObjectStore.
func (s *Store) List(ctx context.Context, o storage.ListOptions) (storage.ListPage, error) {
	max := o.MaxKeys
	if max <= 0 || max > storage.MaxListKeys {
		max = storage.MaxListKeys
	}
	// Walk only the deepest directory the prefix names.
	base := ""
	if i := strings.LastIndexByte(o.Prefix, '/'); i >= 0 {
		base = o.Prefix[:i]
	}
	root := s.dir
	if base != "" {
		if checkKey(base) != nil {
			return storage.ListPage{}, nil // no object can have this prefix
		}
		root = s.path(base)
	}
	type entry struct {
		name   string
		info   storage.ObjectInfo
		prefix bool
	}
	var entries []entry
	seen := map[string]bool{}
	addPrefix := func(p string) {
		if !seen[p] {
			seen[p] = true
			entries = append(entries, entry{name: p, prefix: true})
		}
	}
	// rollup returns the common prefix key falls under, or "".
	rollup := func(key string) string {
		if o.Delimiter == "" {
			return ""
		}
		if i := strings.Index(key[len(o.Prefix):], o.Delimiter); i >= 0 {
			return key[:len(o.Prefix)+i+len(o.Delimiter)]
		}
		return ""
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				// The prefix names no directory, or a concurrent Delete
				// removed one.
				if p == root {
					return filepath.SkipAll
				}
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			if !d.IsDir() {
				return filepath.SkipAll
			}
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if key == reserved {
				return filepath.SkipDir
			}
			dk := key + "/"
			switch {
			case strings.HasPrefix(dk, o.Prefix):
				// With "/" as delimiter the whole directory rolls up.
				if o.Delimiter == "/" {
					if s.objectAfter(p, o.StartAfter) {
						addPrefix(dk)
					}
					return filepath.SkipDir
				}
				return nil
			case strings.HasPrefix(o.Prefix, dk):
				return nil
			default:
				return filepath.SkipDir
			}
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, o.Prefix) || key <= o.StartAfter {
			return nil
		}
		if cp := rollup(key); cp != "" {
			addPrefix(cp)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		entries = append(entries, entry{name: key, info: storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}})
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return storage.ListPage{}, fmt.Errorf("file: list %s: %w", o.Prefix, err)
		}
		return storage.ListPage{}, s.fsErr("list", o.Prefix, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var page storage.ListPage
	last := ""
	for _, e := range entries {
		if o.Token != "" && e.name <= o.Token {
			continue
		}
		if len(page.Objects)+len(page.CommonPrefixes) == max {
			page.Next = last
			break
		}
		if e.prefix {
			page.CommonPrefixes = append(page.CommonPrefixes, e.name)
		} else {
			page.Objects = append(page.Objects, e.info)
		}
		last = e.name
	}
	return page, nil
}

// objectAfter reports whether the directory holds an object, at any depth,
// whose key sorts after startAfter.
func (s *Store) objectAfter(dir, startAfter string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err == nil && filepath.ToSlash(rel) > startAfter {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// fsErr maps a file system error to a storage error.
func (s *Store) fsErr(op, key string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return ferry.Errorf(ferry.NotFound, "file: %s %s: no such object in %s", op, key, s.URL())
	case errors.Is(err, syscall.ENOSPC):
		return ferry.Errorf(ferry.Unavailable, "file: %s %s: the disk of %s is full: %w", op, key, s.dir, err)
	case errors.Is(err, fs.ErrPermission):
		return ferry.Errorf(ferry.Unavailable, "file: %s %s: permission denied in %s (check the data directory's owner and mode): %w", op, key, s.dir, err)
	}
	return ferry.Errorf(ferry.Internal, "file: %s %s: %w", op, key, err)
}

// conflictErr reports a key that collides with a directory of other keys,
// or with an object that would have to be a directory.
func (s *Store) conflictErr(op, key string, err error) error {
	if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.ENOTDIR) {
		return ferry.Errorf(ferry.Invalid, "file: %s %s: the key collides with other keys: in a file store a key cannot name both an object and a prefix of other objects (%v)", op, key, err)
	}
	return s.fsErr(op, key, err)
}
