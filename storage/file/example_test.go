package file_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/ferryml/ferry/storage"
	"github.com/ferryml/ferry/storage/file"
)

func Example() {
	dir, err := os.MkdirTemp("", "ferry-objects")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := file.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	info, err := store.Put(ctx, "runs/r1/metrics.csv", strings.NewReader("step,loss\n1,0.5\n"),
		storage.PutOptions{Size: -1, ContentType: "text/csv"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Size, info.SHA256[:12])

	rc, _, err := store.Get(ctx, "runs/r1/metrics.csv", storage.GetOptions{Offset: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	rest, _ := io.ReadAll(rc)
	fmt.Printf("%q\n", rest)

	fmt.Println(storage.Verify(ctx, store, "runs/r1/metrics.csv"))
	// Output:
	// 16 321dbd57fed5
	// "1,0.5\n"
	// <nil>
}
