package gomod_test

import (
	"context"
	"fmt"
	"os"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/ferryml/ferry/kernel/gomod"
)

// A Loader gives an interpreter the symbols of a third-party package. (The
// kernel passes it to goeval as Options.Packages, which calls Load for the
// imports of a cell that it does not know.)
func Example() {
	l := gomod.New(gomod.Config{Log: os.Stderr})
	ex, err := l.Load(context.Background(), []string{"github.com/google/uuid"})
	if err != nil {
		fmt.Println(err)
		return
	}
	i := interp.New(interp.Options{})
	i.Use(stdlib.Symbols)
	i.Use(ex)
	i.Eval(`import "github.com/google/uuid"`)
	v, _ := i.Eval(`uuid.NewSHA1(uuid.NameSpaceDNS, []byte("go.dev")).Version().String()`)
	fmt.Println(v)
}
