package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

var ErrNotFound = errors.New("not found")

type ValidationError struct {
	Field string
}

func (e *ValidationError) Error() string { return "invalid " + e.Field }

func lookup(k string) error {
	switch k {
	case "missing":
		return fmt.Errorf("lookup %q: %w", k, ErrNotFound)
	case "bad":
		return fmt.Errorf("lookup: %w", &ValidationError{Field: "name"})
	}
	return nil
}

func main() {
	for _, k := range []string{"missing", "bad", "ok"} {
		err := lookup(k)
		var ve *ValidationError
		fmt.Println(k, err, errors.Is(err, ErrNotFound), errors.As(err, &ve))
		if ve != nil {
			fmt.Println("field:", ve.Field)
		}
	}
	_, err := os.Open("/nonexistent/file")
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	var pe *fs.PathError
	if errors.As(err, &pe) {
		fmt.Println("op", pe.Op, "path", pe.Path)
	}
	fmt.Println(errors.Unwrap(lookup("missing")) == ErrNotFound)
}
