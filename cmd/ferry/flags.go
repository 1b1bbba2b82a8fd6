package main

import (
	"flag"
	"io"
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
