package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
)

// subcommand returns the subcommand of a command with subcommands (args[0]).
// With no arguments it prints fs's usage and returns flag.ErrHelp; with -h,
// --help or help it prints the usage to stdout and reports done.
func subcommand(fs *flag.FlagSet, args []string, stdout io.Writer) (cmd string, done bool, err error) {
	if len(args) == 0 {
		fs.Usage()
		return "", true, flag.ErrHelp
	}
	if cmd = args[0]; cmd == "-h" || cmd == "--help" || cmd == "help" {
		fs.SetOutput(stdout)
		fs.Usage()
		return cmd, true, nil
	}
	return cmd, false, nil
}

// parseInterspersed parses fs's flags wherever they stand among args and
// returns the positional arguments, in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// readSpec decodes the JSON spec in file (- for stdin) into v, refusing
// unknown fields; what names the kind of spec in errors.
func readSpec(file string, v any, what string) error {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: not a %s spec: %w", file, what, err)
	}
	return nil
}
