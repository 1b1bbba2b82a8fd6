package contents_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/ferryml/ferry/notebookd"
	"github.com/ferryml/ferry/notebookd/contents"
)

func Example() {
	root, err := os.MkdirTemp("", "contents-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	m, err := contents.New(root, contents.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// A new notebook and a copy of it, as JupyterLab's launcher and file
	// browser make them.
	nb, err := m.NewUntitled(ctx, "", "notebook", "")
	if err != nil {
		log.Fatal(err)
	}
	cp, err := m.Copy(ctx, nb.Path, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(nb.Path, cp.Path)

	// Save a text file, then read it back.
	text := "text"
	if _, err := m.Save(ctx, "notes.md", &notebookd.Model{Type: "file", Format: &text, Content: "# Notes\n"}); err != nil {
		log.Fatal(err)
	}
	f, err := m.Get(ctx, "notes.md", notebookd.GetOptions{Content: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %s %q\n", f.Name, *f.Mimetype, *f.Format, f.Content)

	// Nothing outside the root is reachable.
	_, err = m.Get(ctx, "../etc/passwd", notebookd.GetOptions{})
	fmt.Println(notebookd.StatusOf(err))

	// The listing of the root.
	dir, err := m.Get(ctx, "", notebookd.GetOptions{Content: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range dir.Content.([]*notebookd.Model) {
		fmt.Println(c.Type, c.Path)
	}
	// Output:
	// Untitled.ipynb Untitled-Copy1.ipynb
	// notes.md text/markdown text "# Notes\n"
	// 404
	// notebook Untitled-Copy1.ipynb
	// notebook Untitled.ipynb
	// file notes.md
}
