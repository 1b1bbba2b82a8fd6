package terminals_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"

	"github.com/ferryml/ferry/notebookd/terminals"
)

// A Manager runs shells on pseudo-terminals; notebookd serves them to
// JupyterLab when it is set as notebookd.Config.Terminals.
func Example() {
	ctx := context.Background()
	m, err := terminals.New(terminals.Options{
		Shell:  []string{"/bin/sh"},
		Env:    []string{"FERRY_EXAMPLE=1"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(ctx) // kills every terminal left

	dir, err := os.MkdirTemp("", "terminals-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for range 2 {
		if _, err := m.Create(ctx, "", dir); err != nil {
			log.Fatal(err)
		}
	}
	for _, t := range m.List() {
		fmt.Println("terminal", t.Name)
	}
	if err := m.Delete(ctx, "1"); err != nil {
		log.Fatal(err)
	}
	_, err = m.Get("1")
	fmt.Println(err)
	// Output:
	// terminal 1
	// terminal 2
	// Terminal not found: 1
}
