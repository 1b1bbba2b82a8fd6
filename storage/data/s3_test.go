//go:build duckdb_arrow

package data_test

import (
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage/data"
)

// s3Env starts versitygw and points the AWS_* variables at it.
func s3Env(t *testing.T) *testsrv.VersityGW {
	t.Helper()
	g := testsrv.StartVersityGW(t)
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return g
}

func TestS3ReadWrite(t *testing.T) {
	g := s3Env(t)
	bucket := g.NewBucket(t)
	d := openDB(t)
	ctx := t.Context()
	src, err := d.Query(ctx, "SELECT range AS id, range * 1.5 AS x, 'n' || range AS s FROM range(5000)")
	if err != nil {
		t.Fatal(err)
	}
	pq := "s3://" + bucket + "/dir/gen.parquet"
	if err := src.WriteParquet(pq); err != nil {
		t.Fatal(err)
	}
	back, err := d.Read(ctx, pq)
	if err != nil {
		t.Fatal(err)
	}
	if back.NumRows() != 5000 || back.NumCols() != 3 {
		t.Fatalf("read back %d rows, %d columns", back.NumRows(), back.NumCols())
	}
	// s3:// in SQL: read, and COPY ... TO uploads.
	csv := "s3://" + bucket + "/out/agg.csv"
	if err := d.Exec(ctx, "COPY (SELECT id % 10 AS g, sum(x) AS sx FROM '"+pq+"' GROUP BY 1 ORDER BY 1) TO '"+csv+"' (HEADER)"); err != nil {
		t.Fatal(err)
	}
	agg, err := d.Query(ctx, "SELECT count(*) AS n, sum(sx) AS total FROM '"+csv+"'")
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := agg.Head(1)
	if rows[0][0] != int64(10) || rows[0][1] != 1.5*4999*5000/2 {
		t.Errorf("aggregate read back from S3 = %v", rows[0])
	}
	// A new version of the object is fetched again (the cache is keyed by
	// ETag), not served stale.
	small, err := d.Query(ctx, "SELECT 1 AS id")
	if err != nil {
		t.Fatal(err)
	}
	if err := small.WriteParquet(pq); err != nil {
		t.Fatal(err)
	}
	again, err := d.Read(ctx, pq)
	if err != nil {
		t.Fatal(err)
	}
	if again.NumRows() != 1 {
		t.Errorf("after overwrite: %d rows, want 1", again.NumRows())
	}
}

func TestS3Errors(t *testing.T) {
	g := s3Env(t)
	bucket := g.NewBucket(t)
	d := openDB(t)
	ctx := t.Context()

	_, err := d.Read(ctx, "s3://"+bucket+"/nope.parquet")
	if err == nil || !strings.Contains(err.Error(), "object not found: s3://"+bucket+"/nope.parquet") || !data.IsNotFound(err) {
		t.Errorf("missing object: %v", err)
	}
	t.Log(err)
	_, err = d.Query(ctx, "SELECT * FROM 's3://no-such-bucket-ferry/x.parquet'")
	if err == nil || !strings.Contains(err.Error(), "no-such-bucket-ferry") || ferry.ErrorCode(err) != ferry.NotFound {
		t.Errorf("missing bucket: %v (code %s)", err, ferry.ErrorCode(err))
	}
	t.Log(err)
	other := g.NewBucket(t) // not yet opened, so the new credentials are used
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	_, err = d.Read(ctx, "s3://"+other+"/x.parquet")
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("bad credentials: %v", err)
	}
}
