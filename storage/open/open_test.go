package open_test

import (
	"strings"
	"testing"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/internal/testsrv"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/open"
	"github.com/ferryml/ferry/storage/s3"
)

func TestStore(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"file://" + dir, dir} {
		s, err := open.Store(t.Context(), u, open.Options{})
		if err != nil {
			t.Fatalf("Store(%q): %v", u, err)
		}
		if got, want := s.URL(), "file://"+dir; got != want {
			t.Errorf("Store(%q).URL() = %q, want %q", u, got, want)
		}
	}
	for _, u := range []string{"http://example.com/x", "relative/dir", "s3://B", "file://host/x", "gs://bucket"} {
		_, err := open.Store(t.Context(), u, open.Options{})
		if ferry.ErrorCode(err) != ferry.Invalid {
			t.Errorf("Store(%q): %v, want Invalid", u, err)
		}
	}
}

func TestStoreS3(t *testing.T) {
	g := testsrv.StartVersityGW(t)
	bucket := g.NewBucket(t)
	env := map[string]string{}
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	s, err := open.Store(t.Context(), "s3://"+bucket+"/runs", open.Options{S3: s3.Options{Getenv: getenv}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.URL(), "s3://"+bucket+"/runs"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if _, err := s.Put(t.Context(), "k", strings.NewReader("v"), storage.PutOptions{Size: 1}); err != nil {
		t.Fatal(err)
	}
	// Opening checks the credentials.
	env["AWS_SECRET_ACCESS_KEY"] = "wrong"
	_, err = open.Store(t.Context(), "s3://"+bucket, open.Options{S3: s3.Options{Getenv: getenv}})
	if ferry.ErrorCode(err) != ferry.Invalid || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("Store with a wrong secret: %v, want Invalid naming AWS_SECRET_ACCESS_KEY", err)
	}
	if _, err := open.Store(t.Context(), "s3://"+bucket, open.Options{S3: s3.Options{Getenv: getenv}, NoCheck: true}); err != nil {
		t.Errorf("Store with NoCheck: %v", err)
	}
}
