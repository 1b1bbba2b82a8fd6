package s3_test

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/storetest"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BenchmarkPutGet puts and gets a 100 MiB object through the store and
// through raw minio-go (default options: 16 MiB parts for this size) on one
// versitygw, alternating which goes first each round, and reports MiB/s of
// each and the store/raw ratios (medians over the rounds; a ratio above 1
// means the store is faster). The data comes from memory as a plain
// io.Reader with a known size (no ReaderAt, as from a pipe or a network
// stream); the store's Put includes hashing and recording the SHA-256.
// "raw-crc" is minio-go set up like the store's parts: unsigned payload
// with a CRC32C per part (TrailingHeaders, DisableContentSha256, Checksum: ChecksumCRC32C)
// instead of the default streaming payload signature. "raw-readerat" is
// raw minio-go given the data as an io.ReaderAt (a bytes.Reader, as an
// *os.File would be), which it uploads 4 parts at a time.
//
//	go test -run '^$' -bench PutGet -benchtime 5x ./storage/s3/
func BenchmarkPutGet(b *testing.B) {
	const size = 100 << 20
	g := testsrv.StartVersityGW(b)
	bucket := g.NewBucket(b)
	store := newStore(b, g, "s3://"+bucket)
	raw := g.Client(b)
	tuned, err := minio.New(strings.TrimPrefix(g.Endpoint, "http://"), &minio.Options{
		Creds:           credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""),
		Region:          g.Region,
		BucketLookup:    minio.BucketLookupPath,
		TrailingHeaders: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	data := storetest.Data(1, size)
	ctx := b.Context()

	// Per-round durations of: store put, raw put, raw-crc put, store get,
	// raw get, raw put from an io.ReaderAt.
	var storePut, rawPut, tunedPut, storeGet, rawGet, raPut []time.Duration
	timed := func(d *[]time.Duration, f func() error) {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		*d = append(*d, time.Since(start))
	}
	ops := []func(){
		func() {
			timed(&storePut, func() error {
				_, err := store.Put(ctx, "store.bin", struct{ io.Reader }{bytes.NewReader(data)}, storage.PutOptions{Size: size})
				return err
			})
		},
		func() {
			timed(&rawPut, func() error {
				_, err := raw.PutObject(ctx, bucket, "raw.bin", struct{ io.Reader }{bytes.NewReader(data)}, size, minio.PutObjectOptions{})
				return err
			})
		},
		func() {
			timed(&tunedPut, func() error {
				_, err := tuned.PutObject(ctx, bucket, "tuned.bin", struct{ io.Reader }{bytes.NewReader(data)}, size, minio.PutObjectOptions{
					DisableContentSha256: true,
					Checksum:             minio.ChecksumCRC32C,
				})
				return err
			})
		},
		func() {
			timed(&storeGet, func() error {
				rc, _, err := store.Get(ctx, "store.bin", storage.GetOptions{})
				if err != nil {
					return err
				}
				defer rc.Close()
				return copyAll(rc, size)
			})
		},
		func() {
			timed(&rawGet, func() error {
				obj, err := raw.GetObject(ctx, bucket, "raw.bin", minio.GetObjectOptions{})
				if err != nil {
					return err
				}
				defer obj.Close()
				return copyAll(obj, size)
			})
		},
	}
	ops = append(ops, func() {
		timed(&raPut, func() error {
			// A bytes.Reader is an io.ReaderAt: minio-go then uploads
			// 4 parts at once.
			_, err := raw.PutObject(ctx, bucket, "ra.bin", bytes.NewReader(data), size, minio.PutObjectOptions{})
			return err
		})
	})
	// Alternate the order, so that neither side always runs first.
	orders := [][]int{{0, 1, 2, 5, 3, 4}, {5, 2, 1, 0, 4, 3}}
	rounds := 0
	for b.Loop() {
		for _, i := range orders[rounds%2] {
			ops[i]()
		}
		rounds++
	}
	// Medians: this machine is shared and noisy.
	mibps := func(ds []time.Duration) float64 { return size / (1 << 20) / median(ds) }
	ratio := func(raw, store []time.Duration) float64 {
		rs := make([]time.Duration, len(raw))
		for i := range raw {
			// A ratio as a Duration keeps median simple: 1.0 = 1s.
			rs[i] = time.Duration(float64(time.Second) * raw[i].Seconds() / store[i].Seconds())
		}
		return median(rs)
	}
	b.ReportMetric(mibps(storePut), "store-put-MiB/s")
	b.ReportMetric(mibps(rawPut), "raw-put-MiB/s")
	b.ReportMetric(mibps(tunedPut), "raw-crc-put-MiB/s")
	b.ReportMetric(mibps(raPut), "raw-readerat-put-MiB/s")
	b.ReportMetric(mibps(storeGet), "store-get-MiB/s")
	b.ReportMetric(mibps(rawGet), "raw-get-MiB/s")
	b.ReportMetric(ratio(rawPut, storePut), "put-ratio")
	b.ReportMetric(ratio(tunedPut, storePut), "put-ratio-crc")
	b.ReportMetric(ratio(raPut, storePut), "put-ratio-readerat")
	b.ReportMetric(ratio(rawGet, storeGet), "get-ratio")
}

// median returns the median of ds in seconds.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2].Seconds()
	}
	return (s[len(s)/2-1] + s[len(s)/2]).Seconds() / 2
}

func copyAll(r io.Reader, want int64) error {
	n, err := io.Copy(io.Discard, r)
	if err == nil && n != want {
		err = io.ErrUnexpectedEOF
	}
	return err
}
