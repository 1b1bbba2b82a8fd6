package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Defaults of Options.
const (
	DefaultPartSize    = 16 << 20
	DefaultConcurrency = 4
	DefaultMaxRetries  = 3
	DefaultDialTimeout = 5 * time.Second
	DefaultRegion      = "us-east-1"
	// MinPartSize is the smallest part S3 accepts (but for the last one).
	MinPartSize = 5 << 20
)

// metaSHA256 is the user-metadata key (x-amz-meta-sha256) of the content's
// SHA-256.
const metaSHA256 = "sha256"

// Options configure a Store. Empty fields fall back to the URL's query
// parameters, then the environment, then the defaults (see the package
// documentation).
type Options struct {
	// Endpoint is the server's URL, such as "http://127.0.0.1:9000".
	Endpoint string
	// Region defaults to us-east-1.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are the credentials.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PathStyle forces path-style addressing (http://host/bucket/key);
	// it is the default for endpoints other than AWS.
	PathStyle bool
	// PartSize is the size of multipart upload parts, and the largest
	// object sent in a single PUT; default 16 MiB, at least 5 MiB.
	PartSize int64
	// Concurrency is the number of parts of one Put uploaded at once
	// (default 4); a Put holds up to Concurrency parts in memory.
	Concurrency int
	// MaxRetries bounds the attempts of each request (default 3).
	MaxRetries int
	// DialTimeout bounds connecting to the server (default 5 s).
	DialTimeout time.Duration
	// Transport replaces the HTTP transport (DialTimeout is then unused).
	Transport http.RoundTripper
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Store is an object store in an S3 bucket, under a prefix.
type Store struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	root     string // "" or the prefix ending in "/"
	endpoint string // scheme://host
	region   string
	partSize int64
	bufs     sync.Pool // *[]byte part buffers of partSize
	conc     int       // parts uploaded at once

	endpointFrom string // where the endpoint came from, for error messages
	credsFrom    string // where the credentials came from, for error messages
	accessKey    string
}

var _ storage.ObjectStore = (*Store)(nil)

// ParseURL splits an s3://bucket/prefix URL into bucket, prefix (without
// leading or trailing slashes) and query parameters.
func ParseURL(rawURL string) (bucket, prefix string, query url.Values, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL %q: %v", rawURL, err)
	}
	if u.Scheme != "s3" {
		return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL %q: want s3://bucket/prefix", rawURL)
	}
	if u.User != nil {
		return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL: credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if u.Opaque != "" || u.Fragment != "" {
		return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL %q: want s3://bucket/prefix", rawURL)
	}
	bucket = u.Host
	if err := checkBucketName(bucket); err != nil {
		return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL %q: %v", rawURL, err)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := storage.ValidateKey(prefix); err != nil {
			return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL %q: bad prefix: %v", rawURL, err)
		}
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "endpoint", "region":
		default:
			return "", "", nil, ferry.Errorf(ferry.Invalid, "s3: invalid store URL %q: unknown parameter %q (known: endpoint, region)", rawURL, k)
		}
	}
	return bucket, prefix, q, nil
}

// checkBucketName applies S3's bucket naming rules.
func checkBucketName(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("bucket name %q may hold only lowercase letters, digits, '-' and '.'", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) || strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q must start and end with a letter or digit", b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// New returns a store for an s3://bucket/prefix URL. It does no I/O; call
// Check to find out whether the server, credentials and bucket work.
func New(rawURL string, o Options) (*Store, error) {
	bucket, prefix, q, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := &Store{bucket: bucket, partSize: o.PartSize}
	if prefix != "" {
		s.root = prefix + "/"
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	s.conc = o.Concurrency
	if s.conc <= 0 {
		s.conc = DefaultConcurrency
	}
	if s.partSize < MinPartSize || s.partSize > 5<<30 {
		return nil, ferry.Errorf(ferry.Invalid, "s3: part size %d must be between 5 MiB and 5 GiB", s.partSize)
	}

	endpoint, from := o.Endpoint, "the endpoint option"
	for _, c := range []struct{ v, from string }{
		{q.Get("endpoint"), "the store URL's endpoint parameter"},
		{getenv("AWS_ENDPOINT_URL_S3"), "AWS_ENDPOINT_URL_S3"},
		{getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"},
		{"https://s3.amazonaws.com", "the default AWS endpoint; set AWS_ENDPOINT_URL for another server"},
	} {
		if endpoint != "" {
			break
		}
		endpoint, from = c.v, c.from
	}
	eu, err := url.Parse(endpoint)
	if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" || (eu.Path != "" && eu.Path != "/") {
		return nil, ferry.Errorf(ferry.Invalid, "s3: endpoint %q (from %s) must be http(s)://host[:port] with no path", endpoint, from)
	}
	s.endpoint = eu.Scheme + "://" + eu.Host
	s.endpointFrom = from

	s.region = o.Region
	for _, v := range []string{q.Get("region"), getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), DefaultRegion} {
		if s.region == "" {
			s.region = v
		}
	}

	var creds *credentials.Credentials
	switch {
	case o.AccessKeyID != "" || o.SecretAccessKey != "":
		creds = credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)
		s.credsFrom, s.accessKey = "the access key options", o.AccessKeyID
	case getenv("AWS_ACCESS_KEY_ID") != "" || getenv("AWS_SECRET_ACCESS_KEY") != "":
		creds = credentials.NewStaticV4(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))
		s.credsFrom, s.accessKey = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", getenv("AWS_ACCESS_KEY_ID")
	default:
		file := getenv("AWS_SHARED_CREDENTIALS_FILE")
		if file == "" {
			if home, err := os.UserHomeDir(); err == nil {
				file = filepath.Join(home, ".aws", "credentials")
			}
		}
		if _, err := os.Stat(file); file != "" && err == nil {
			creds = credentials.NewFileAWSCredentials(file, getenv("AWS_PROFILE"))
			s.credsFrom = file + " (profile AWS_PROFILE); or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
		} else {
			creds = credentials.NewStaticV4("", "", "")
			s.credsFrom = "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
		}
	}

	tr := o.Transport
	if tr == nil {
		t, err := minio.DefaultTransport(eu.Scheme == "https")
		if err != nil {
			return nil, fmt.Errorf("s3: transport: %w", err)
		}
		dt := o.DialTimeout
		if dt <= 0 {
			dt = DefaultDialTimeout
		}
		t.DialContext = (&net.Dialer{Timeout: dt, KeepAlive: 30 * time.Second}).DialContext
		tr = t
	}
	lookup := minio.BucketLookupAuto
	if o.PathStyle || !strings.HasSuffix(eu.Hostname(), "amazonaws.com") {
		lookup = minio.BucketLookupPath
	}
	retries := o.MaxRetries
	if retries <= 0 {
		retries = DefaultMaxRetries
	}
	s.client, err = minio.New(eu.Host, &minio.Options{
		Creds:        creds,
		Secure:       eu.Scheme == "https",
		Transport:    tr,
		Region:       s.region,
		BucketLookup: lookup,
		MaxRetries:   retries,
	})
	if err != nil {
		return nil, ferry.Errorf(ferry.Invalid, "s3: endpoint %s (from %s): %w", s.endpoint, from, err)
	}
	s.core = minio.Core{Client: s.client}
	return s, nil
}

// URL returns s3://bucket/prefix.
func (s *Store) URL() string {
	return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.root, "/")
}

// Client returns the underlying minio-go client, for operations the store
// does not cover.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket returns the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// Check makes one request (a listing of at most one key) to find out
// whether the server answers, accepts the credentials and has the bucket.
func (s *Store) Check(ctx context.Context) error {
	_, err := s.list(ctx, s.root, "", "", "", 1)
	if err != nil {
		return s.mapErr(err, "check", "")
	}
	return nil
}

func (s *Store) full(key string) string { return s.root + key }

// Put implements storage.ObjectStore.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, o storage.PutOptions) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
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
	cr := storage.NewPutReader(ctx, r, nil, o.Progress)
	src := io.Reader(cr)
	if o.Size >= 0 {
		src = io.LimitReader(cr, o.Size)
	}
	partSize := s.partSize
	if o.Size > maxParts*partSize {
		partSize = (o.Size/maxParts + 1<<20) &^ (1<<20 - 1) // whole MiB
	}
	bp := s.getBuf(partSize)
	defer func() {
		if int64(len(*bp)) == s.partSize {
			s.bufs.Put(bp)
		}
	}()
	buf := *bp

	// Read the first part: an object that fits is sent in one PUT with
	// its hash.
	n, last, err := readPart(src, buf)
	if err != nil {
		return storage.ObjectInfo{}, s.readErr(key, err, cr.N(), o.Size)
	}
	var extra []byte
	if !last {
		var one [1]byte
		switch m, err := io.ReadFull(src, one[:]); {
		case m == 1:
			extra = one[:]
		case err == io.EOF:
			last = true
		default:
			return storage.ObjectInfo{}, s.readErr(key, err, cr.N(), o.Size)
		}
	}
	if last {
		if o.Size >= 0 && int64(n) < o.Size {
			return storage.ObjectInfo{}, s.readErr(key, io.ErrUnexpectedEOF, cr.N(), o.Size)
		}
		h := sha256.Sum256(buf[:n])
		sum := hex.EncodeToString(h[:])
		// The request is signed with the content's SHA-256, which the
		// server checks.
		up, err := s.core.PutObject(ctx, s.bucket, s.full(key), bytes.NewReader(buf[:n]), int64(n), "", sum, minio.PutObjectOptions{
			ContentType:  ct,
			UserMetadata: withSHA(md, sum),
		})
		if err != nil {
			if minio.ToErrorResponse(unwrapMinio(err)).Code == "SignatureDoesNotMatch" && s.Check(ctx) == nil {
				// Some servers (versitygw) report a body that does not
				// match its SHA-256 as a bad signature; the credentials
				// work for a request without a body.
				return storage.ObjectInfo{}, ferry.Errorf(ferry.Unavailable, "s3: put %s: %s received content whose SHA-256 differs from what was sent (corrupted in transit); try again: %w", key, s.endpoint, err)
			}
			return storage.ObjectInfo{}, s.mapErr(err, "put", key)
		}
		return storage.ObjectInfo{Key: key, Size: up.Size, ModTime: modTime(up.LastModified), ETag: up.ETag, SHA256: sum, ContentType: ct, Metadata: md}, nil
	}

	// A larger one goes as a multipart upload, then its hash is recorded.
	up, sum, err := s.putMultipart(ctx, key, buf, n, extra, src, o.Size, ct, md)
	if err != nil {
		if cr.Err() != nil {
			return storage.ObjectInfo{}, s.readErr(key, cr.Err(), cr.N(), o.Size)
		}
		return storage.ObjectInfo{}, err
	}
	info := storage.ObjectInfo{Key: key, Size: up.Size, ModTime: modTime(up.LastModified), ETag: up.ETag, SHA256: sum, ContentType: ct, Metadata: md}
	rec, err := s.copy(ctx, key, key, up.ETag, up.Size, ct, withSHA(md, sum))
	if err != nil {
		if minio.ToErrorResponse(unwrapMinio(err)).Code == "PreconditionFailed" {
			// A concurrent Put replaced the object after ours completed:
			// last writer wins, and that writer records its own hash.
			return info, nil
		}
		// The object is in place without its hash: take it away rather
		// than leave content no one can verify.
		s.removeQuietly(ctx, key)
		return storage.ObjectInfo{}, s.mapErr(err, "put (recording sha256)", key)
	}
	info.ETag = rec.ETag
	if !rec.LastModified.IsZero() {
		info.ModTime = modTime(rec.LastModified)
	}
	return info, nil
}

// getBuf returns a part buffer of partSize bytes, from the pool if it
// holds one that size.
func (s *Store) getBuf(partSize int64) *[]byte {
	if bp, ok := s.bufs.Get().(*[]byte); ok && int64(len(*bp)) == partSize {
		return bp
	}
	b := make([]byte, partSize)
	return &b
}

// readPart fills buf from r and reports how much it read and whether r
// ended.
func readPart(r io.Reader, buf []byte) (n int, last bool, err error) {
	n, err = io.ReadFull(r, buf)
	switch err {
	case nil:
		return n, false, nil
	case io.EOF, io.ErrUnexpectedEOF:
		return n, true, nil
	}
	return n, false, err
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxParts is the most parts a multipart upload may have.
const maxParts = 10000

// putMultipart uploads buf[:n], then extra and the rest of r, in parts of
// len(buf), hashing each part while it is sent, and returns the completed
// upload and the content's SHA-256. With want >= 0, the content must have
// exactly want bytes. On failure it aborts the upload, even when ctx has
// ended.
func (s *Store) putMultipart(ctx context.Context, key string, buf []byte, n int, extra []byte, r io.Reader, want int64, ct string, md map[string]string) (_ minio.UploadInfo, sum string, err error) {
	full := s.full(key)
	// Each part carries its CRC32C, which the server checks: the payload
	// is not signed (that would hash it a second time), and the SHA-256 of
	// the whole object is recorded at the end.
	umd := make(map[string]string, len(md)+1)
	for k, v := range md {
		umd[k] = v
	}
	umd["X-Amz-Checksum-Algorithm"] = "CRC32C"
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, full, minio.PutObjectOptions{ContentType: ct, UserMetadata: umd})
	if err != nil {
		return minio.UploadInfo{}, "", s.mapErr(err, "put", key)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = s.core.AbortMultipartUpload(actx, s.bucket, full, id)
		}
	}()
	h := sha256.New()
	size, parts, err := s.uploadParts(ctx, key, id, h, buf, n, extra, r)
	if err != nil {
		return minio.UploadInfo{}, "", err
	}
	if want >= 0 && size != want {
		return minio.UploadInfo{}, "", s.readErr(key, io.ErrUnexpectedEOF, size, want)
	}
	up, err := s.core.CompleteMultipartUpload(ctx, s.bucket, full, id, parts, minio.PutObjectOptions{})
	if err != nil {
		return minio.UploadInfo{}, "", s.mapErr(err, "put", key)
	}
	up.Size = size
	up.ETag = strings.Trim(up.ETag, `"`)
	return up, hex.EncodeToString(h.Sum(nil)), nil
}

// uploadParts reads parts in order into up to s.conc buffers (the
// first is buf, already holding n bytes; extra goes before the rest of r),
// hashes each into h as it is read, and uploads them concurrently. It
// returns when no upload is in flight any more.
func (s *Store) uploadParts(ctx context.Context, key, id string, h hash.Hash, buf []byte, n int, extra []byte, r io.Reader) (int64, []minio.CompletePart, error) {
	full := s.full(key)
	upctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		uerr  error // the first upload error
		parts []minio.CompletePart
	)
	firstErr := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		if uerr == nil && err != nil {
			uerr = err
			cancel()
		}
		return uerr
	}
	// Parts bigger than PartSize (objects over 10,000 of them) go fewer at
	// once: the memory bound stays Concurrency × PartSize.
	conc := max(1, min(s.conc, int(int64(s.conc)*s.partSize/int64(len(buf)))))
	free := make(chan []byte, conc) // buffers whose upload is done
	var more []*[]byte              // buffers beyond buf, from the pool
	defer func() {
		wg.Wait()
		for _, bp := range more {
			s.bufs.Put(bp)
		}
	}()
	var size int64
	for num := 1; ; num++ {
		b, last := buf, false
		if num > 1 {
			// A free buffer, or a new one while fewer than concurrency.
			select {
			case b = <-free:
			default:
				if len(more)+1 < conc {
					bp := s.getBuf(int64(len(buf)))
					more = append(more, bp)
					b = *bp
				} else {
					select {
					case b = <-free:
					case <-upctx.Done():
						wg.Wait()
						return 0, nil, firstErr(upctx.Err())
					}
				}
			}
			n = copy(b, extra)
			extra = nil
			m, end, err := readPart(r, b[n:])
			if err != nil {
				cancel()
				wg.Wait()
				return 0, nil, fmt.Errorf("s3: put %s: read data: %w", key, err)
			}
			n, last = n+m, end
			if n == 0 {
				break
			}
		}
		if err := firstErr(nil); err != nil {
			break
		}
		if num > maxParts {
			cancel()
			wg.Wait()
			return 0, nil, ferry.Errorf(ferry.Invalid, "s3: put %s: more than %d parts of %d MiB: give PutOptions.Size, or raise the part size", key, maxParts, len(buf)>>20)
		}
		part := b[:n]
		h.Write(part) // in order, while earlier parts upload
		size += int64(n)
		hdr := make(http.Header)
		hdr.Set("X-Amz-Checksum-Crc32c", base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(part, castagnoli))))
		hdr.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32C")
		wg.Add(1)
		go func(num int) {
			defer wg.Done()
			p, err := s.core.PutObjectPart(upctx, s.bucket, full, id, num, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{
				DisableContentSha256: true,
				CustomHeader:         hdr,
			})
			if err != nil {
				firstErr(s.mapErr(err, "put", key))
			} else {
				mu.Lock()
				parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag, ChecksumCRC32C: p.ChecksumCRC32C})
				mu.Unlock()
			}
			free <- b
		}(num)
		if last {
			break
		}
	}
	wg.Wait()
	if err := firstErr(nil); err != nil {
		return 0, nil, err
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	return size, parts, nil
}

func (s *Store) removeQuietly(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = s.client.RemoveObject(ctx, s.bucket, s.full(key), minio.RemoveObjectOptions{})
}

// readErr reports a failure reading the caller's data.
func (s *Store) readErr(key string, err error, n, size int64) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return ferry.Errorf(ferry.Invalid, "s3: put %s: the reader ended after %d of %d bytes (PutOptions.Size)", key, n, size)
	}
	return ferry.Errorf(ferry.ErrorCode(err), "s3: put %s: read data: %w", key, err)
}

func withSHA(md map[string]string, sum string) map[string]string {
	m := make(map[string]string, len(md)+1)
	for k, v := range md {
		m[k] = v
	}
	m[metaSHA256] = sum
	return m
}

func modTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return t
}

// Get implements storage.ObjectStore.
func (s *Store) Get(ctx context.Context, key string, o storage.GetOptions) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if o.Offset < 0 || o.Length < 0 {
		_, err := storage.ValidateRange(key, o, 0)
		return nil, storage.ObjectInfo{}, err
	}
	var gopts minio.GetObjectOptions
	switch {
	case o.Offset == 0 && o.Length == 0:
	case o.Length == 0:
		_ = gopts.SetRange(o.Offset, 0)
	default:
		_ = gopts.SetRange(o.Offset, o.Offset+o.Length-1)
	}
	rc, oi, h, err := s.core.GetObject(ctx, s.bucket, s.full(key), gopts)
	if err != nil {
		if minio.ToErrorResponse(unwrapMinio(err)).Code == "InvalidRange" {
			// The offset is at or past the end: S3 refuses even an
			// offset equal to the size, which reads nothing here.
			info, serr := s.Stat(ctx, key)
			if serr != nil {
				return nil, storage.ObjectInfo{}, serr
			}
			if _, err := storage.ValidateRange(key, o, info.Size); err != nil {
				return nil, storage.ObjectInfo{}, err
			}
			return io.NopCloser(strings.NewReader("")), info, nil
		}
		return nil, storage.ObjectInfo{}, s.mapErr(err, "get", key)
	}
	info := s.info(key, oi)
	end := oi.Size
	if cr := h.Get("Content-Range"); cr != "" {
		// bytes first-last/total
		var first, last, total int64
		if _, err := fmt.Sscanf(cr, "bytes %d-%d/%d", &first, &last, &total); err != nil {
			rc.Close()
			return nil, storage.ObjectInfo{}, ferry.Errorf(ferry.Internal, "s3: get %s: bad Content-Range %q from %s", key, cr, s.endpoint)
		}
		info.Size, end = total, last+1
	}
	return &resumeReader{s: s, ctx: ctx, key: key, body: rc, etag: info.ETag, off: o.Offset, end: end, retries: getRetries}, info, nil
}

// getRetries is how many times a Get picks up where a lost connection
// left it.
const getRetries = 3

// resumeReader reads an object's body and, when the connection breaks,
// asks for the rest (a range, on condition that the ETag is unchanged).
type resumeReader struct {
	s        *Store
	ctx      context.Context
	key      string
	body     io.ReadCloser
	etag     string
	off, end int64 // the next byte to read, the end of the range
	retries  int
	resumed  int
}

func (r *resumeReader) Read(p []byte) (int, error) {
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case r.off >= r.end:
			// All of the range is here, whatever came after it.
			return n, io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // the body ended early
		}
		if rerr := r.resume(err); rerr != nil {
			return n, rerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (r *resumeReader) resume(cause error) error {
	if r.ctx.Err() != nil {
		return fmt.Errorf("s3: get %s: %w", r.key, r.ctx.Err())
	}
	if r.retries == 0 {
		return ferry.Errorf(ferry.Unavailable, "s3: get %s: connection to %s lost at byte %d of %d (resumed %d times): %w", r.key, r.s.endpoint, r.off, r.end, r.resumed, cause)
	}
	r.retries--
	r.resumed++
	r.body.Close()
	var o minio.GetObjectOptions
	_ = o.SetRange(r.off, r.end-1)
	if r.etag != "" {
		_ = o.SetMatchETag(r.etag)
	}
	body, _, _, err := r.s.core.GetObject(r.ctx, r.s.bucket, r.s.full(r.key), o)
	if err != nil {
		if minio.ToErrorResponse(unwrapMinio(err)).Code == "PreconditionFailed" {
			return ferry.Errorf(ferry.Unavailable, "s3: get %s: the object changed while it was read (connection lost at byte %d); get it again", r.key, r.off)
		}
		return r.s.mapErr(err, fmt.Sprintf("get (resuming at byte %d)", r.off), r.key)
	}
	r.body = body
	return nil
}

func (r *resumeReader) Close() error { return r.body.Close() }

// Stat implements storage.ObjectStore.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.full(key), minio.StatObjectOptions{})
	if err != nil {
		return storage.ObjectInfo{}, s.mapErr(err, "stat", key)
	}
	return s.info(key, oi), nil
}

func (s *Store) info(key string, oi minio.ObjectInfo) storage.ObjectInfo {
	info := storage.ObjectInfo{
		Key:         key,
		Size:        oi.Size,
		ModTime:     oi.LastModified,
		ETag:        strings.Trim(oi.ETag, `"`),
		ContentType: oi.ContentType,
	}
	for k, v := range oi.UserMetadata {
		k = strings.ToLower(k)
		if k == metaSHA256 {
			info.SHA256 = v
			continue
		}
		if info.Metadata == nil {
			info.Metadata = make(map[string]string)
		}
		info.Metadata[k] = v
	}
	return info
}

// List implements storage.ObjectStore.
func (s *Store) List(ctx context.Context, o storage.ListOptions) (storage.ListPage, error) {
	max := o.MaxKeys
	if max <= 0 || max > storage.MaxListKeys {
		max = storage.MaxListKeys
	}
	startAfter := ""
	if o.StartAfter != "" {
		startAfter = s.full(o.StartAfter)
	}
	res, err := s.list(ctx, s.root+o.Prefix, startAfter, o.Token, o.Delimiter, max)
	if err != nil {
		return storage.ListPage{}, s.mapErr(err, "list", o.Prefix)
	}
	var page storage.ListPage
	for _, c := range res.Contents {
		page.Objects = append(page.Objects, storage.ObjectInfo{
			Key:     strings.TrimPrefix(c.Key, s.root),
			Size:    c.Size,
			ModTime: c.LastModified,
			ETag:    strings.Trim(c.ETag, `"`),
		})
	}
	for _, p := range res.CommonPrefixes {
		page.CommonPrefixes = append(page.CommonPrefixes, strings.TrimPrefix(p.Prefix, s.root))
	}
	if res.IsTruncated {
		page.Next = res.NextContinuationToken
	}
	return page, nil
}

// list runs ListObjectsV2, which minio-go's Core runs without a context, in
// a goroutine so that ctx can end the wait.
func (s *Store) list(ctx context.Context, prefix, startAfter, token, delim string, max int) (minio.ListBucketV2Result, error) {
	type result struct {
		r   minio.ListBucketV2Result
		err error
	}
	ch := make(chan result, 1)
	go func() {
		r, err := s.core.ListObjectsV2(s.bucket, prefix, startAfter, token, delim, max)
		ch <- result{r, err}
	}()
	select {
	case r := <-ch:
		return r.r, r.err
	case <-ctx.Done():
		return minio.ListBucketV2Result{}, ctx.Err()
	}
}

// Delete implements storage.ObjectStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.full(key), minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(unwrapMinio(err)).Code == "NoSuchKey" {
			return nil
		}
		return s.mapErr(err, "delete", key)
	}
	return nil
}

// Copy implements storage.ObjectStore with a server-side copy (a multipart
// copy above 5 GiB).
func (s *Store) Copy(ctx context.Context, src, dst string) (storage.ObjectInfo, error) {
	for _, k := range []string{src, dst} {
		if err := storage.ValidateKey(k); err != nil {
			return storage.ObjectInfo{}, err
		}
	}
	si, err := s.Stat(ctx, src)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	md := si.Metadata
	if si.SHA256 != "" {
		md = withSHA(si.Metadata, si.SHA256)
	}
	up, err := s.copy(ctx, src, dst, si.ETag, si.Size, si.ContentType, md)
	if err != nil {
		if minio.ToErrorResponse(unwrapMinio(err)).Code == "PreconditionFailed" {
			return storage.ObjectInfo{}, ferry.Errorf(ferry.Unavailable, "s3: copy %s to %s: the source changed during the copy; try again", src, dst)
		}
		return storage.ObjectInfo{}, s.mapErr(err, "copy "+src+" to", dst)
	}
	info := si
	info.Key = dst
	info.ETag = strings.Trim(up.ETag, `"`)
	info.ModTime = modTime(up.LastModified)
	return info, nil
}

// copy copies src to dst if src still has the ETag, replacing the metadata:
// one CopyObject request, or a multipart copy for sources over 5 GiB.
func (s *Store) copy(ctx context.Context, src, dst, etag string, size int64, ct string, md map[string]string) (minio.UploadInfo, error) {
	dopts := minio.CopyDestOptions{
		Bucket:          s.bucket,
		Object:          s.full(dst),
		ReplaceMetadata: true,
		UserMetadata:    md,
		ContentType:     ct,
	}
	sopts := minio.CopySrcOptions{Bucket: s.bucket, Object: s.full(src), MatchETag: etag}
	if size <= 5<<30 {
		return s.client.CopyObject(ctx, dopts, sopts)
	}
	m := make(map[string]string, len(md)+1)
	for k, v := range md {
		m[k] = v
	}
	m["Content-Type"] = ct // a multipart copy takes it from the metadata
	dopts.UserMetadata = m
	return s.client.ComposeObject(ctx, dopts, sopts)
}

// PresignGet implements storage.ObjectStore.
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := storage.ValidateKey(key); err != nil {
		return "", err
	}
	if expiry < time.Second || expiry > 7*24*time.Hour {
		return "", ferry.Errorf(ferry.Invalid, "s3: presign %s: expiry %v must be between 1s and 7 days", key, expiry)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.full(key), expiry, nil)
	if err != nil {
		return "", s.mapErr(err, "presign", key)
	}
	return u.String(), nil
}

// unwrapMinio finds a minio.ErrorResponse in err's chain.
func unwrapMinio(err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er
	}
	return err
}

// mapErr turns a minio-go error into a ferry.Error that names the problem
// and the setting that fixes it.
func (s *Store) mapErr(err error, op, key string) error {
	what := op
	if key != "" {
		what += " " + key
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3: %s: %w", what, err)
	}
	er := minio.ToErrorResponse(unwrapMinio(err))
	switch er.Code {
	case "":
		if isNetErr(err) {
			return ferry.Errorf(ferry.Unavailable, "s3: %s: cannot reach %s (endpoint from %s; is the server running?): %w", what, s.endpoint, s.endpointFrom, err)
		}
		return ferry.Errorf(ferry.Internal, "s3: %s: %w", what, err)
	case "NoSuchKey":
		return ferry.Errorf(ferry.NotFound, "s3: %s: no such object in %s", what, s.URL())
	case "NoSuchBucket":
		return ferry.Errorf(ferry.NotFound, "s3: %s: bucket %q does not exist at %s; create it or fix the store URL", what, s.bucket, s.endpoint)
	case "InvalidAccessKeyId", "XAdminUserNotFound":
		return ferry.Errorf(ferry.Invalid, "s3: %s: %s rejects access key %q: check %s: %w", what, s.endpoint, s.accessKey, s.credsFrom, err)
	case "SignatureDoesNotMatch":
		return ferry.Errorf(ferry.Invalid, "s3: %s: %s rejects the signature: the secret key does not match access key %q; check %s: %w", what, s.endpoint, s.accessKey, s.credsFrom, err)
	case "AccessDenied":
		return ferry.Errorf(ferry.Invalid, "s3: %s: access denied by %s for access key %q: check the credentials (%s) and their permissions on bucket %q: %w", what, s.endpoint, s.accessKey, s.credsFrom, s.bucket, err)
	case "AuthorizationHeaderMalformed", "InvalidRegion":
		return ferry.Errorf(ferry.Invalid, "s3: %s: region %q is wrong for bucket %q: set AWS_REGION: %w", what, s.region, s.bucket, err)
	case "InvalidArgument", "InvalidRequest", "KeyTooLongError", "EntityTooLarge", "EntityTooSmall", "InvalidObjectName", "XMinioInvalidObjectName":
		return ferry.Errorf(ferry.Invalid, "s3: %s: %w", what, err)
	case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest":
		return ferry.Errorf(ferry.Unavailable, "s3: %s: %s received content whose checksum differs from what was sent (corrupted in transit); try again: %w", what, s.endpoint, err)
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
		return ferry.Errorf(ferry.Unavailable, "s3: %s: %s: %w", what, s.endpoint, err)
	}
	if er.StatusCode == http.StatusForbidden {
		return ferry.Errorf(ferry.Invalid, "s3: %s: %s refuses access key %q (%s): check the credentials (%s): %w", what, s.endpoint, s.accessKey, er.Code, s.credsFrom, err)
	}
	if er.StatusCode >= 500 {
		return ferry.Errorf(ferry.Unavailable, "s3: %s: %s: %w", what, s.endpoint, err)
	}
	return ferry.Errorf(ferry.Internal, "s3: %s: %w", what, err)
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &ue) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
