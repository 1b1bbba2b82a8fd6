package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// NewStore returns an empty store for one subtest; it stays valid until the
// subtest ends.
type NewStore func(t *testing.T) storage.ObjectStore

// Run runs the contract suite, one subtest per behavior. The large round
// trip (200 MiB) is skipped in -short mode.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, storage.ObjectStore)
	}{
		{"PutGetStat", testPutGetStat},
		{"Overwrite", testOverwrite},
		{"ContentTypeAndMetadata", testMetadata},
		{"InvalidKeys", testInvalidKeys},
		{"InvalidMetadata", testInvalidMetadata},
		{"NotFound", testNotFound},
		{"Ranges", testRanges},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"Delete", testDelete},
		{"Copy", testCopy},
		{"ShortReader", testShortReader},
		{"FailingReader", testFailingReader},
		{"Canceled", testCanceled},
		{"Progress", testProgress},
		{"ConcurrentPuts", testConcurrentPuts},
		{"PresignGet", testPresign},
		{"Verify", testVerify},
		{"URL", testURL},
		{"Large", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// Data returns n bytes of deterministic pseudo-random data.
func Data(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seedBytes(seed)).Read(b)
	return b
}

// Stream returns n bytes of deterministic pseudo-random data as a stream,
// without holding them in memory.
func Stream(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8(seedBytes(seed)), n)
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func put(t *testing.T, s storage.ObjectStore, key string, data []byte) storage.ObjectInfo {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(data), storage.PutOptions{Size: int64(len(data))})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func get(t *testing.T, s storage.ObjectStore, key string, o storage.GetOptions) ([]byte, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, o)
	if err != nil {
		t.Fatalf("Get(%q, %+v): %v", key, o, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b, info
}

func wantCode(t *testing.T, what string, err error, want ferry.Code) {
	t.Helper()
	if got := ferry.ErrorCode(err); got != want {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, want)
	}
}

func checkInfo(t *testing.T, what string, info storage.ObjectInfo, key string, data []byte) {
	t.Helper()
	if info.Key != key {
		t.Errorf("%s: Key = %q, want %q", what, info.Key, key)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("%s: Size = %d, want %d", what, info.Size, len(data))
	}
	if info.SHA256 != sum(data) {
		t.Errorf("%s: SHA256 = %q, want %q", what, info.SHA256, sum(data))
	}
	if info.ETag == "" {
		t.Errorf("%s: empty ETag", what)
	}
	if info.ModTime.IsZero() {
		t.Errorf("%s: zero ModTime", what)
	}
}

func testPutGetStat(t *testing.T, s storage.ObjectStore) {
	tests := []struct {
		name    string
		size    int
		unknown bool // put with Size -1
	}{
		{"empty", 0, false},
		{"empty/unknown size", 0, true},
		{"one byte", 1, false},
		{"small", 1000, false},
		{"small/unknown size", 1000, true},
		// Above the S3 backend's default part size: multipart uploads.
		{"multipart", 20<<20 + 7, false},
		{"multipart/unknown size", 20<<20 + 7, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("dir/obj-%d.bin", i)
			data := Data(uint64(i), tt.size)
			size := int64(len(data))
			if tt.unknown {
				size = -1
			}
			// A reader that is neither a Seeker nor a ReaderAt.
			info, err := s.Put(t.Context(), key, struct{ io.Reader }{bytes.NewReader(data)}, storage.PutOptions{Size: size})
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			checkInfo(t, "Put", info, key, data)
			if info.ContentType != storage.DefaultContentType {
				t.Errorf("Put: ContentType = %q, want %q", info.ContentType, storage.DefaultContentType)
			}
			st, err := s.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			checkInfo(t, "Stat", st, key, data)
			if st.ETag != info.ETag {
				t.Errorf("Stat: ETag = %q, Put returned %q", st.ETag, info.ETag)
			}
			got, gi := get(t, s, key, storage.GetOptions{})
			if !bytes.Equal(got, data) {
				t.Errorf("Get: %d bytes (sha256 %s), want %d (sha256 %s)", len(got), sum(got), len(data), sum(data))
			}
			checkInfo(t, "Get", gi, key, data)
		})
	}
}

func testOverwrite(t *testing.T, s storage.ObjectStore) {
	a, b := Data(1, 3000), Data(2, 2000)
	ia := put(t, s, "k", a)
	ib := put(t, s, "k", b)
	if ia.ETag == ib.ETag {
		t.Errorf("ETag %q did not change with the content", ia.ETag)
	}
	got, info := get(t, s, "k", storage.GetOptions{})
	if !bytes.Equal(got, b) {
		t.Errorf("Get after overwrite: got %d bytes, want the second object's %d", len(got), len(b))
	}
	checkInfo(t, "Get", info, "k", b)
}

func testMetadata(t *testing.T, s storage.ObjectStore) {
	data := []byte(`{"a": 1}`)
	md := map[string]string{"Run-ID": "r-42", "stage": "train_2"}
	info, err := s.Put(t.Context(), "m.json", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data)), ContentType: "application/json", Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"run-id": "r-42", "stage": "train_2"}
	for _, c := range []struct {
		what string
		info storage.ObjectInfo
	}{{"Put", info}, {"Stat", mustStat(t, s, "m.json")}} {
		if c.info.ContentType != "application/json" {
			t.Errorf("%s: ContentType = %q, want application/json", c.what, c.info.ContentType)
		}
		if !reflect.DeepEqual(c.info.Metadata, want) {
			t.Errorf("%s: Metadata = %v, want %v", c.what, c.info.Metadata, want)
		}
	}
}

func mustStat(t *testing.T, s storage.ObjectStore, key string) storage.ObjectInfo {
	t.Helper()
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	return info
}

func testInvalidKeys(t *testing.T, s storage.ObjectStore) {
	for _, key := range []string{"", "/abs", "dir/", "a//b", "a/../b", "..", ".", "./a", "a\\b", "a\x00b", "a\nb", "\xff", strings.Repeat("k", 1025)} {
		_, err := s.Put(t.Context(), key, strings.NewReader("x"), storage.PutOptions{Size: 1})
		wantCode(t, fmt.Sprintf("Put(%q)", key), err, ferry.Invalid)
		_, _, err = s.Get(t.Context(), key, storage.GetOptions{})
		wantCode(t, fmt.Sprintf("Get(%q)", key), err, ferry.Invalid)
		_, err = s.Stat(t.Context(), key)
		wantCode(t, fmt.Sprintf("Stat(%q)", key), err, ferry.Invalid)
		err = s.Delete(t.Context(), key)
		wantCode(t, fmt.Sprintf("Delete(%q)", key), err, ferry.Invalid)
		_, err = s.Copy(t.Context(), "src", key)
		wantCode(t, fmt.Sprintf("Copy(src, %q)", key), err, ferry.Invalid)
	}
	// Unusual but valid keys.
	for _, key := range []string{"a b/c+d=e&f?g#h", "ünïcödé/ключ", "x.y/..z/...", "a%2Fb"} {
		data := []byte(key)
		put(t, s, key, data)
		if got, _ := get(t, s, key, storage.GetOptions{}); !bytes.Equal(got, data) {
			t.Errorf("Get(%q) = %q, want %q", key, got, data)
		}
	}
}

func testInvalidMetadata(t *testing.T, s storage.ObjectStore) {
	for _, md := range []map[string]string{
		{"sha256": "x"},
		{"SHA256": "x"},
		{"bad key": "x"},
		{"": "x"},
		{"k": "line\nbreak"},
		{"k": "naïve"},
		{"a": "1", "A": "2"},
		{"k": strings.Repeat("v", 3000)},
	} {
		_, err := s.Put(t.Context(), "k", strings.NewReader("x"), storage.PutOptions{Size: 1, Metadata: md})
		wantCode(t, fmt.Sprintf("Put with metadata %q", md), err, ferry.Invalid)
	}
	if _, err := s.Stat(t.Context(), "k"); !ferry.IsNotFound(err) {
		t.Errorf("Stat after rejected puts: %v, want NotFound", err)
	}
}

func testNotFound(t *testing.T, s storage.ObjectStore) {
	put(t, s, "dir/present", []byte("x"))
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/present/below"} {
		_, _, err := s.Get(t.Context(), key, storage.GetOptions{})
		wantCode(t, fmt.Sprintf("Get(%q)", key), err, ferry.NotFound)
		_, err = s.Stat(t.Context(), key)
		wantCode(t, fmt.Sprintf("Stat(%q)", key), err, ferry.NotFound)
		if err := s.Delete(t.Context(), key); err != nil {
			t.Errorf("Delete(%q) of a missing key: %v, want nil", key, err)
		}
		_, err = s.Copy(t.Context(), key, "copy")
		wantCode(t, fmt.Sprintf("Copy(%q)", key), err, ferry.NotFound)
	}
	if err := storage.Verify(t.Context(), s, "missing"); !ferry.IsNotFound(err) {
		t.Errorf("Verify(missing) = %v, want NotFound", err)
	}
}

func testRanges(t *testing.T, s storage.ObjectStore) {
	data := Data(7, 1000)
	put(t, s, "r", data)
	tests := []struct {
		off, n int64
		want   []byte
	}{
		{0, 0, data},
		{0, 1, data[:1]},
		{10, 0, data[10:]},
		{10, 20, data[10:30]},
		{999, 0, data[999:]},
		{990, 100, data[990:]},
		{0, 5000, data},
		{1000, 0, []byte{}},
		{1000, 10, []byte{}},
	}
	for _, tt := range tests {
		o := storage.GetOptions{Offset: tt.off, Length: tt.n}
		got, info := get(t, s, "r", o)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("Get(%+v) = %d bytes, want %d", o, len(got), len(tt.want))
		}
		if info.Size != 1000 || info.SHA256 != sum(data) {
			t.Errorf("Get(%+v): info Size %d SHA256 %s, want the whole object's 1000 %s", o, info.Size, info.SHA256, sum(data))
		}
	}
	for _, o := range []storage.GetOptions{{Offset: 1001}, {Offset: 5000, Length: 1}, {Offset: -1}, {Length: -1}} {
		_, _, err := s.Get(t.Context(), "r", o)
		wantCode(t, fmt.Sprintf("Get(%+v)", o), err, ferry.Invalid)
	}
}

// listKeys are the objects of the listing tests; '-' sorts before '/'.
var listKeys = []string{"a-x", "a/1", "a/2", "a/b/3", "a/b/4", "b", "c/d/e", "c/d/f", "cc"}

func putAll(t *testing.T, s storage.ObjectStore, keys []string) {
	t.Helper()
	for _, k := range keys {
		put(t, s, k, []byte(k))
	}
}

func keysOf(p storage.ListPage) []string {
	var ks []string
	for _, o := range p.Objects {
		ks = append(ks, o.Key)
	}
	return ks
}

func testList(t *testing.T, s storage.ObjectStore) {
	putAll(t, s, listKeys)
	tests := []struct {
		o            storage.ListOptions
		keys, prefix []string
	}{
		{storage.ListOptions{}, listKeys, nil},
		{storage.ListOptions{Prefix: "a/"}, []string{"a/1", "a/2", "a/b/3", "a/b/4"}, nil},
		{storage.ListOptions{Prefix: "a"}, []string{"a-x", "a/1", "a/2", "a/b/3", "a/b/4"}, nil},
		{storage.ListOptions{Prefix: "c/d/"}, []string{"c/d/e", "c/d/f"}, nil},
		{storage.ListOptions{Prefix: "zz"}, nil, nil},
		{storage.ListOptions{Delimiter: "/"}, []string{"a-x", "b", "cc"}, []string{"a/", "c/"}},
		{storage.ListOptions{Prefix: "a/", Delimiter: "/"}, []string{"a/1", "a/2"}, []string{"a/b/"}},
		{storage.ListOptions{Prefix: "a", Delimiter: "/"}, []string{"a-x"}, []string{"a/"}},
		{storage.ListOptions{Prefix: "c", Delimiter: "/"}, []string{"cc"}, []string{"c/"}},
		{storage.ListOptions{Delimiter: "-"}, []string{"a/1", "a/2", "a/b/3", "a/b/4", "b", "c/d/e", "c/d/f", "cc"}, []string{"a-"}},
		{storage.ListOptions{StartAfter: "a/2"}, []string{"a/b/3", "a/b/4", "b", "c/d/e", "c/d/f", "cc"}, nil},
		{storage.ListOptions{StartAfter: "a/b/4", Delimiter: "/"}, []string{"b", "cc"}, []string{"c/"}},
		{storage.ListOptions{Prefix: "a/", StartAfter: "a/1", Delimiter: "/"}, []string{"a/2"}, []string{"a/b/"}},
	}
	for _, tt := range tests {
		page, err := s.List(t.Context(), tt.o)
		if err != nil {
			t.Errorf("List(%+v): %v", tt.o, err)
			continue
		}
		if got := keysOf(page); !slices.Equal(got, tt.keys) {
			t.Errorf("List(%+v) objects = %q, want %q", tt.o, got, tt.keys)
		}
		if !slices.Equal(page.CommonPrefixes, tt.prefix) {
			t.Errorf("List(%+v) prefixes = %q, want %q", tt.o, page.CommonPrefixes, tt.prefix)
		}
		if page.Next != "" {
			t.Errorf("List(%+v).Next = %q, want \"\" (one page)", tt.o, page.Next)
		}
		for _, o := range page.Objects {
			if o.Size != int64(len(o.Key)) || o.ModTime.IsZero() {
				t.Errorf("List(%+v): %q has Size %d ModTime %v, want %d and a time", tt.o, o.Key, o.Size, o.ModTime, len(o.Key))
			}
		}
	}
}

func testListPaging(t *testing.T, s storage.ObjectStore) {
	putAll(t, s, listKeys)
	for _, o := range []storage.ListOptions{{}, {Delimiter: "/"}, {Prefix: "a", Delimiter: "/"}, {Prefix: "c/"}} {
		full, err := s.List(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, max := range []int{1, 2, 3} {
			po := o
			po.MaxKeys = max
			var keys, prefixes []string
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatalf("List(%+v): more than 20 pages", po)
				}
				page, err := s.List(t.Context(), po)
				if err != nil {
					t.Fatalf("List(%+v): %v", po, err)
				}
				if n := len(page.Objects) + len(page.CommonPrefixes); n > max {
					t.Errorf("List(%+v): %d entries in a page", po, n)
				}
				keys = append(keys, keysOf(page)...)
				prefixes = append(prefixes, page.CommonPrefixes...)
				if page.Next == "" {
					break
				}
				po.Token = page.Next
			}
			if !slices.Equal(keys, keysOf(full)) || !slices.Equal(prefixes, full.CommonPrefixes) {
				t.Errorf("List(%+v) paged by %d: %q %q, want %q %q", o, max, keys, prefixes, keysOf(full), full.CommonPrefixes)
			}
		}
	}
}

func testDelete(t *testing.T, s storage.ObjectStore) {
	putAll(t, s, []string{"d/x/1", "d/y"})
	for _, key := range []string{"d/x/1", "d/y"} {
		if err := s.Delete(t.Context(), key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		if _, err := s.Stat(t.Context(), key); !ferry.IsNotFound(err) {
			t.Errorf("Stat(%q) after Delete: %v, want NotFound", key, err)
		}
	}
	page, err := s.List(t.Context(), storage.ListOptions{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects)+len(page.CommonPrefixes) != 0 {
		t.Errorf("List after deleting everything: %q %q, want nothing", keysOf(page), page.CommonPrefixes)
	}
	// The key can be reused, also as a prefix.
	put(t, s, "d/x", []byte("again"))
}

func testCopy(t *testing.T, s storage.ObjectStore) {
	data := Data(3, 5000)
	_, err := s.Put(t.Context(), "src", bytes.NewReader(data), storage.PutOptions{Size: int64(len(data)), ContentType: "text/csv", Metadata: map[string]string{"owner": "me"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Copy(t.Context(), "src", "sub/dst")
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	checkInfo(t, "Copy", info, "sub/dst", data)
	put(t, s, "src", []byte("changed"))
	got, gi := get(t, s, "sub/dst", storage.GetOptions{})
	if !bytes.Equal(got, data) {
		t.Errorf("Get(copy) after changing the source: %d bytes, want the original %d", len(got), len(data))
	}
	checkInfo(t, "Get(copy)", gi, "sub/dst", data)
	if gi.ContentType != "text/csv" || gi.Metadata["owner"] != "me" {
		t.Errorf("copy: ContentType %q Metadata %v, want text/csv and owner=me", gi.ContentType, gi.Metadata)
	}
	if err := storage.Verify(t.Context(), s, "sub/dst"); err != nil {
		t.Errorf("Verify(copy): %v", err)
	}
	// Onto itself: nothing changes but the ETag may.
	self, err := s.Copy(t.Context(), "sub/dst", "sub/dst")
	if err != nil {
		t.Fatalf("Copy onto itself: %v", err)
	}
	checkInfo(t, "Copy onto itself", self, "sub/dst", data)
	if got, _ := get(t, s, "sub/dst", storage.GetOptions{}); !bytes.Equal(got, data) {
		t.Errorf("Get after a copy onto itself: %d bytes, want %d", len(got), len(data))
	}
}

func testShortReader(t *testing.T, s storage.ObjectStore) {
	for _, n := range []int{100, 20 << 20} {
		old := []byte("old content")
		key := fmt.Sprintf("short-%d", n)
		put(t, s, key, old)
		_, err := s.Put(t.Context(), key, struct{ io.Reader }{bytes.NewReader(Data(1, n/2))}, storage.PutOptions{Size: int64(n)})
		wantCode(t, fmt.Sprintf("Put of %d bytes from a reader of %d", n, n/2), err, ferry.Invalid)
		if got, _ := get(t, s, key, storage.GetOptions{}); !bytes.Equal(got, old) {
			t.Errorf("after a failed Put: %d bytes, want the old object", len(got))
		}
	}
}

// errReader yields n bytes, then fails.
type errReader struct {
	r   io.Reader
	n   int64
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, e.err
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	return n, err
}

var errBroken = errors.New("source broke")

func testFailingReader(t *testing.T, s storage.ObjectStore) {
	for _, n := range []int64{10, 20 << 20} {
		for _, size := range []int64{-1, 2 * n} {
			key := fmt.Sprintf("fail-%d-%d", n, size)
			old := []byte("old")
			put(t, s, key, old)
			_, err := s.Put(t.Context(), key, &errReader{r: Stream(1, n), n: n, err: errBroken}, storage.PutOptions{Size: size})
			if !errors.Is(err, errBroken) {
				t.Errorf("Put(size %d) of a reader failing after %d bytes: %v, want it to wrap %q", size, n, err, errBroken)
			}
			if got, _ := get(t, s, key, storage.GetOptions{}); !bytes.Equal(got, old) {
				t.Errorf("after a failed Put: %d bytes, want the old object", len(got))
			}
			_, err = s.Put(t.Context(), key+"-new", &errReader{r: Stream(1, n), n: n, err: errBroken}, storage.PutOptions{Size: size})
			if err == nil {
				t.Fatal("Put of a failing reader succeeded")
			}
			if _, err := s.Stat(t.Context(), key+"-new"); !ferry.IsNotFound(err) {
				t.Errorf("Stat after a failed Put of a new key: %v, want NotFound", err)
			}
		}
	}
}

func testCanceled(t *testing.T, s storage.ObjectStore) {
	ctx, cancel := context.WithCancel(t.Context())
	// Cancel once the first 1 MiB has been read.
	rest := Stream(2, 30<<20)
	src := io.MultiReader(Stream(1, 1<<20), readerFunc(func(p []byte) (int, error) {
		cancel()
		return rest.Read(p)
	}))
	_, err := s.Put(ctx, "canceled", src, storage.PutOptions{Size: -1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a context canceled midway: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(t.Context(), "canceled"); !ferry.IsNotFound(err) {
		t.Errorf("Stat after a canceled Put: %v, want NotFound", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func testProgress(t *testing.T, s storage.ObjectStore) {
	const n = 3<<20 + 5
	var calls int
	var last int64
	_, err := s.Put(t.Context(), "p", Stream(4, n), storage.PutOptions{Size: -1, Progress: func(w int64) {
		if w < last {
			t.Errorf("Progress went back from %d to %d", last, w)
		}
		calls++
		last = w
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != n {
		t.Errorf("Progress: %d calls, last %d, want at least one and %d", calls, last, n)
	}
}

func testConcurrentPuts(t *testing.T, s storage.ObjectStore) {
	const writers = 4
	datas := make([][]byte, writers)
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		// Two small (single PUT) and two multipart objects.
		datas[i] = Data(uint64(10+i), (i%2)*(17<<20)+1000+i)
		wg.Go(func() {
			_, errs[i] = s.Put(t.Context(), "same", bytes.NewReader(datas[i]), storage.PutOptions{Size: -1})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Put %d: %v", i, err)
		}
	}
	got, info := get(t, s, "same", storage.GetOptions{})
	if !slices.ContainsFunc(datas, func(d []byte) bool { return bytes.Equal(d, got) }) {
		t.Fatalf("after concurrent puts: %d bytes that no writer wrote", len(got))
	}
	if info.SHA256 != sum(got) {
		t.Errorf("after concurrent puts: recorded SHA256 %s, content has %s", info.SHA256, sum(got))
	}
}

func testPresign(t *testing.T, s storage.ObjectStore) {
	data := Data(5, 4096)
	put(t, s, "shared/p.bin", data)
	u, err := s.PresignGet(t.Context(), "shared/p.bin", time.Hour)
	if ferry.ErrorCode(err) == ferry.NotSupported {
		t.Skipf("%s: %v", s.URL(), err)
	}
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("PresignGet returned %q: %v", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("GET presigned URL: %s, %d bytes, want 200 and %d bytes", resp.Status, len(body), len(data))
	}
	for _, d := range []time.Duration{0, -time.Second, 8 * 24 * time.Hour} {
		_, err := s.PresignGet(t.Context(), "shared/p.bin", d)
		wantCode(t, fmt.Sprintf("PresignGet(expiry %v)", d), err, ferry.Invalid)
	}
}

func testVerify(t *testing.T, s storage.ObjectStore) {
	put(t, s, "v", Data(6, 100000))
	if err := storage.Verify(t.Context(), s, "v"); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func testURL(t *testing.T, s storage.ObjectStore) {
	u := s.URL()
	if !strings.HasPrefix(u, "file:///") && !strings.HasPrefix(u, "s3://") {
		t.Errorf("URL() = %q, want file:///... or s3://...", u)
	}
}

// testLarge round-trips 200 MiB of streamed data and checks that the store
// does not hold it in memory.
func testLarge(t *testing.T, s storage.ObjectStore) {
	if testing.Short() {
		t.Skip("200 MiB round trip skipped in -short mode")
	}
	const n = 200 << 20
	want := sha256.New()
	if _, err := io.Copy(want, Stream(99, n)); err != nil {
		t.Fatal(err)
	}
	wantSum := hex.EncodeToString(want.Sum(nil))

	peak := watchHeap(t)
	info, err := s.Put(t.Context(), "large/model.bin", Stream(99, n), storage.PutOptions{Size: -1})
	if err != nil {
		t.Fatalf("Put 200 MiB: %v", err)
	}
	if info.Size != n || info.SHA256 != wantSum {
		t.Errorf("Put: Size %d SHA256 %s, want %d %s", info.Size, info.SHA256, n, wantSum)
	}
	rc, gi, err := s.Get(t.Context(), "large/model.bin", storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	got, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("Get: read after %d bytes: %v", got, err)
	}
	if got != n || hex.EncodeToString(h.Sum(nil)) != wantSum || gi.SHA256 != wantSum {
		t.Errorf("Get: %d bytes with SHA256 %x (recorded %s), want %d and %s", got, h.Sum(nil), gi.SHA256, n, wantSum)
	}
	p := peak()
	t.Logf("heap in use peaked %d MiB above the start while putting 200 MiB", p>>20)
	if p > 150<<20 {
		t.Errorf("heap in use peaked at %d MiB while streaming 200 MiB: the store buffers too much", p>>20)
	}
}

// watchHeap samples the heap in use until the returned function is called,
// which returns the peak above the level at the start.
func watchHeap(t *testing.T) func() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			if ms.HeapInuse > base && ms.HeapInuse-base > peak {
				peak = ms.HeapInuse - base
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	stop := func() uint64 {
		once.Do(func() { close(done); <-stopped })
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
	t.Cleanup(func() { stop() })
	return stop
}
