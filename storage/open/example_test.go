package open_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/open"
)

func Example() {
	dir, err := os.MkdirTemp("", "ferry-objects")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// "s3://bucket/prefix" works the same, with AWS_ENDPOINT_URL,
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.
	store, err := open.Store(ctx, "file://"+dir, open.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range []string{"runs/r1/model.bin", "runs/r1/metrics.csv", "runs/r2/model.bin"} {
		if _, err := store.Put(ctx, k, strings.NewReader(k), storage.PutOptions{Size: -1}); err != nil {
			log.Fatal(err)
		}
	}
	page, err := store.List(ctx, storage.ListOptions{Prefix: "runs/", Delimiter: "/"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.CommonPrefixes)

	_, err = store.Stat(ctx, "runs/r3/model.bin")
	fmt.Println(ferry.IsNotFound(err))
	// Output:
	// [runs/r1/ runs/r2/]
	// true
}
