//go:build !linux

package goeval

import "errors"

type stdio struct{}

func (s *stdio) sync() {}

func (e *Evaluator) captureStdio() error {
	return errors.New("capturing standard output is implemented on Linux only")
}
