package s3_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/s3"
)

// A store rooted at a prefix of a bucket on a MinIO server. Empty options
// fall back to AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY.
func Example() {
	store, err := s3.New("s3://artifacts/team-a", s3.Options{
		Endpoint:        "http://127.0.0.1:9000",
		AccessKeyID:     "minioadmin",
		SecretAccessKey: "minioadmin",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// Check finds out whether the endpoint, credentials and bucket work;
	// its error says which to fix.
	if err := store.Check(ctx); err != nil {
		var se *ferry.Error
		if errors.As(err, &se) {
			fmt.Println(se.Code, err)
		}
		return
	}
	info, err := store.Put(ctx, "runs/r1/model.onnx", strings.NewReader("..."), storage.PutOptions{Size: -1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Key, info.SHA256)
}
