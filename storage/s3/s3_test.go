package s3_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/s3"
	"github.com/ferryml/ferry/storage/storetest"
	"github.com/minio/minio-go/v7"
)

func newStore(t testing.TB, g *testsrv.VersityGW, url string) *s3.Store {
	t.Helper()
	s, err := s3.New(url, s3.Options{Endpoint: g.Endpoint, AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey, Region: g.Region})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	t.Run("bucket root", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storage.ObjectStore {
			return newStore(t, g, "s3://"+g.NewBucket(t))
		})
	})
	t.Run("under a prefix", func(t *testing.T) {
		if testing.Short() {
			t.Skip("once is enough in -short mode")
		}
		bucket := g.NewBucket(t)
		// A neighbour the stores must not see.
		noise := newStore(t, g, "s3://"+bucket+"/other")
		if _, err := noise.Put(t.Context(), "a/1", strings.NewReader("noise"), storage.PutOptions{Size: 5}); err != nil {
			t.Fatal(err)
		}
		n := 0
		storetest.Run(t, func(t *testing.T) storage.ObjectStore {
			n++
			return newStore(t, g, "s3://"+bucket+"/stores/"+string(rune('a'+n)))
		})
	})
}

func TestSHA256IsUserMetadata(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	s := newStore(t, g, "s3://"+bucket+"/p")
	raw := g.Client(t)
	for _, size := range []int64{10, 20 << 20} {
		info, err := s.Put(t.Context(), "k", storetest.Stream(1, size), storage.PutOptions{Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		oi, err := raw.StatObject(t.Context(), bucket, "p/k", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := oi.Metadata.Get("X-Amz-Meta-Sha256"); got != info.SHA256 || got == "" {
			t.Errorf("%d bytes: x-amz-meta-sha256 = %q, want %q", size, got, info.SHA256)
		}
	}
}

// TestServerStopsMidUpload kills the S3 server while a large Put streams:
// the Put must fail naming the endpoint, and once the server is back no
// object is visible under the key.
func TestServerStopsMidUpload(t *testing.T) {
	for _, size := range []int64{-1, 200 << 20} {
		t.Run(map[bool]string{true: "unknown size", false: "known size"}[size < 0], func(t *testing.T) {
			g := testsrv.StartVersityGW(t)
			bucket := g.NewBucket(t)
			s := newStore(t, g, "s3://"+bucket)
			first := storetest.Stream(1, 40<<20)
			rest := storetest.Stream(2, 160<<20)
			var once sync.Once
			r := io.MultiReader(first, readerFunc(func(p []byte) (int, error) {
				once.Do(g.Stop) // 40 MiB in: two parts sent, the third filling
				return rest.Read(p)
			}))
			_, err := s.Put(t.Context(), "models/big.bin", r, storage.PutOptions{Size: size})
			if err == nil {
				t.Fatal("Put succeeded with the server stopped midway")
			}
			t.Logf("Put error: %v", err)
			if ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "cannot reach "+g.Endpoint) {
				t.Errorf("Put error: %v (code %s), want Unavailable naming %s", err, ferry.ErrorCode(err), g.Endpoint)
			}
			g.Restart(t)
			if _, err := s.Stat(t.Context(), "models/big.bin"); !ferry.IsNotFound(err) {
				t.Errorf("Stat after the failed upload: %v, want NotFound", err)
			}
			page, err := s.List(t.Context(), storage.ListOptions{})
			if err != nil || len(page.Objects) != 0 {
				t.Errorf("List after the failed upload: %+v, %v; want nothing", page.Objects, err)
			}
		})
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestFailedUploadAborted checks that a multipart upload whose reader fails
// is aborted on the server, not left to a lifecycle rule.
func TestFailedUploadAborted(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	s := newStore(t, g, "s3://"+bucket)
	broke := errors.New("broke")
	r := io.MultiReader(storetest.Stream(1, 40<<20), readerFunc(func([]byte) (int, error) { return 0, broke }))
	if _, err := s.Put(t.Context(), "x", r, storage.PutOptions{Size: -1}); !errors.Is(err, broke) {
		t.Fatalf("Put: %v, want %v", err, broke)
	}
	for u := range g.Client(t).ListIncompleteUploads(t.Context(), bucket, "", true) {
		t.Errorf("incomplete upload left: %+v", u)
	}
}

func TestErrorsNameTheFix(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name   string
		url    string
		getenv func(string) string
		code   ferry.Code
		want   []string
	}{
		{"unreachable", "s3://" + bucket, env("AWS_ENDPOINT_URL", "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID", g.AccessKey, "AWS_SECRET_ACCESS_KEY", g.SecretKey),
			ferry.Unavailable, []string{"cannot reach http://127.0.0.1:9", "AWS_ENDPOINT_URL"}},
		{"unknown access key", "s3://" + bucket, env("AWS_ENDPOINT_URL", g.Endpoint, "AWS_ACCESS_KEY_ID", "nobody", "AWS_SECRET_ACCESS_KEY", g.SecretKey),
			ferry.Invalid, []string{`"nobody"`, "AWS_ACCESS_KEY_ID"}},
		{"wrong secret", "s3://" + bucket, env("AWS_ENDPOINT_URL", g.Endpoint, "AWS_ACCESS_KEY_ID", g.AccessKey, "AWS_SECRET_ACCESS_KEY", "wrong"),
			ferry.Invalid, []string{"AWS_SECRET_ACCESS_KEY"}},
		{"no credentials", "s3://" + bucket, env("AWS_ENDPOINT_URL", g.Endpoint, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
			ferry.Invalid, []string{"AWS_ACCESS_KEY_ID"}},
		{"no such bucket", "s3://no-such-bucket", env("AWS_ENDPOINT_URL", g.Endpoint, "AWS_ACCESS_KEY_ID", g.AccessKey, "AWS_SECRET_ACCESS_KEY", g.SecretKey),
			ferry.NotFound, []string{`bucket "no-such-bucket" does not exist`}},
		{"endpoint from the URL", "s3://" + bucket + "?endpoint=http://127.0.0.1:9", env(),
			ferry.Unavailable, []string{"cannot reach http://127.0.0.1:9", "endpoint parameter"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := s3.New(tt.url, s3.Options{Getenv: tt.getenv})
			if err != nil {
				t.Fatal(err)
			}
			check := func(op string, err error) {
				t.Helper()
				if ferry.ErrorCode(err) != tt.code {
					t.Errorf("%s: %v has code %q, want %q", op, err, ferry.ErrorCode(err), tt.code)
				}
				for _, w := range tt.want {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %v does not say %q", op, err, w)
					}
				}
			}
			err = s.Check(t.Context())
			t.Logf("Check: %v", err)
			check("Check", err)
			_, err = s.Put(t.Context(), "k", strings.NewReader("x"), storage.PutOptions{Size: 1})
			check("Put", err)
			_, err = s.List(t.Context(), storage.ListOptions{})
			check("List", err)
		})
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url, bucket, prefix string
		ok                  bool
	}{
		{"s3://bucket", "bucket", "", true},
		{"s3://bucket/", "bucket", "", true},
		{"s3://my.bucket-1/a/b/", "my.bucket-1", "a/b", true},
		{"s3://bucket/p?endpoint=http://127.0.0.1:9000&region=eu-west-1", "bucket", "p", true},
		{"s3://Bucket", "", "", false},
		{"s3://b", "", "", false},
		{"s3://key:secret@bucket", "", "", false},
		{"s3://bucket/a/../b", "", "", false},
		{"s3://bucket/a//b", "", "", false},
		{"s3://bucket?foo=1", "", "", false},
		{"s3:bucket", "", "", false},
		{"file:///x", "", "", false},
		{"s3://-bucket", "", "", false},
	}
	for _, tt := range tests {
		b, p, _, err := s3.ParseURL(tt.url)
		if (err == nil) != tt.ok || b != tt.bucket || p != tt.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.url, b, p, err, tt.bucket, tt.prefix, tt.ok)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bucket/p", "s3://b.c-d/x/y?region=r", "s3://bucket/../x", "s3://u:p@bucket"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		b, p, _, err := s3.ParseURL(raw)
		if err != nil {
			if ferry.ErrorCode(err) != ferry.Invalid {
				t.Errorf("ParseURL(%q): %v has code %q, want Invalid", raw, err, ferry.ErrorCode(err))
			}
			return
		}
		if p != "" && storage.ValidateKey(p) != nil {
			t.Errorf("ParseURL(%q): prefix %q is not a valid key", raw, p)
		}
		if b == "" || strings.ContainsAny(b, "/?#@") {
			t.Errorf("ParseURL(%q): bucket %q", raw, b)
		}
		if _, err := s3.New(raw, s3.Options{Endpoint: "http://127.0.0.1:9", Getenv: func(string) string { return "" }}); err != nil {
			t.Errorf("New(%q) after ParseURL accepted it: %v", raw, err)
		}
	})
}

// corrupter flips one byte in the body of every PUT it carries: a fault in
// transit that no real server produces on demand.
type corrupter struct {
	next http.RoundTripper
	puts atomic.Int64
}

func (c *corrupter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.Body != nil && req.ContentLength > 1000 && req.Header.Get("X-Amz-Copy-Source") == "" {
		c.puts.Add(1)
		body := req.Body
		r := req.Clone(req.Context())
		r.Body = struct {
			io.Reader
			io.Closer
		}{&flipReader{r: body, at: 1000}, body}
		return c.next.RoundTrip(r)
	}
	return c.next.RoundTrip(req)
}

type flipReader struct {
	r   io.Reader
	off int64
	at  int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0x55
	}
	f.off += int64(n)
	return n, err
}

// TestCorruptionInTransitRejected checks that the server verifies what the
// store sends: the SHA-256 of a single PUT, the CRC32C of each part.
func TestCorruptionInTransitRejected(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	c := &corrupter{next: tr}
	s, err := s3.New("s3://"+bucket, s3.Options{Endpoint: g.Endpoint, AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey, Transport: c})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{5000, 20 << 20} {
		_, err := s.Put(t.Context(), "k", storetest.Stream(1, size), storage.PutOptions{Size: -1})
		t.Logf("Put of %d bytes, corrupted in transit: %v", size, err)
		if ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "corrupted in transit") {
			t.Errorf("Put of %d bytes corrupted in transit: %v, want Unavailable saying so", size, err)
		}
		if _, err := s.Stat(t.Context(), "k"); !ferry.IsNotFound(err) {
			t.Errorf("Stat after a corrupted Put: %v, want NotFound", err)
		}
	}
	if c.puts.Load() == 0 {
		t.Fatal("no PUT went through the corrupting transport")
	}
}

// cutter ends the body of the first cuts GET responses after n bytes, as a
// dropped connection would.
type cutter struct {
	next http.RoundTripper
	n    int64
	cuts atomic.Int64
	gets atomic.Int64
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || req.URL.Query().Has("list-type") {
		return resp, err
	}
	c.gets.Add(1)
	if c.cuts.Add(-1) >= 0 {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(io.LimitReader(resp.Body, c.n), readerFunc(func([]byte) (int, error) { return 0, io.ErrUnexpectedEOF })), resp.Body}
	}
	return resp, nil
}

func TestGetResumesAfterLostConnection(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	const size = 20 << 20
	data := storetest.Data(3, size)
	tests := []struct {
		name      string
		cuts      int64
		o         storage.GetOptions
		wantErr   bool
		wantBytes []byte
	}{
		{"one cut", 1, storage.GetOptions{}, false, data},
		{"three cuts", 3, storage.GetOptions{}, false, data},
		{"range, two cuts", 2, storage.GetOptions{Offset: 1000, Length: 10 << 20}, false, data[1000 : 1000+10<<20]},
		{"too many cuts", 4, storage.GetOptions{}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cutter{next: tr, n: 3<<20 + 17}
			s, err := s3.New("s3://"+bucket, s3.Options{Endpoint: g.Endpoint, AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey, Transport: c})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(t.Context(), "obj", bytes.NewReader(data), storage.PutOptions{Size: size}); err != nil {
				t.Fatal(err)
			}
			c.cuts.Store(tt.cuts)
			rc, _, err := s.Get(t.Context(), "obj", tt.o)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if tt.wantErr {
				t.Logf("read error: %v", err)
				if ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "connection to "+g.Endpoint+" lost") {
					t.Errorf("read with %d cuts: %v, want Unavailable saying the connection was lost", tt.cuts, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.wantBytes) {
				t.Errorf("read with %d cuts: %d bytes, %v; want the %d bytes put", tt.cuts, len(got), err, len(tt.wantBytes))
			}
			if got := c.gets.Load(); got != tt.cuts+1 {
				t.Errorf("%d GET requests, want %d", got, tt.cuts+1)
			}
		})
	}
}

func TestGetResumeRefusesChangedObject(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{next: tr, n: 1 << 20}
	s, err := s3.New("s3://"+bucket, s3.Options{Endpoint: g.Endpoint, AccessKeyID: g.AccessKey, SecretAccessKey: g.SecretKey, Transport: c})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "obj", storetest.Stream(1, 8<<20), storage.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	c.cuts.Store(1)
	rc, _, err := s.Get(t.Context(), "obj", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	// Replaced while the first response is read.
	if _, err := s.Put(t.Context(), "obj", storetest.Stream(2, 8<<20), storage.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	if ferry.ErrorCode(err) != ferry.Unavailable || !strings.Contains(err.Error(), "changed while it was read") {
		t.Errorf("read of an object replaced midway: %v, want Unavailable saying it changed", err)
	}
}
