// Package gosrc analyses Go source text for the kernel without running it.
//
// It answers the questions a Jupyter front end asks while the user types:
//
//   - [IsComplete] tells whether a cell is "complete", "incomplete" (needs more
//     lines, with the indent to use for the next one) or "invalid", using only
//     go/scanner, so it is cheap and never evaluates anything.
//   - [ExprAt] finds the dotted selector chain of identifiers around a cursor
//     (such as "strings.Spl" or "fmt."), for completion and inspection.
//   - [Keywords] lists Go's keywords and predeclared identifiers.
//   - [PackageDoc] returns the signature, documentation and source of a symbol
//     of a standard-library package (read from GOROOT) or of a module in the
//     module cache, parsing each package once and caching the result.
//   - [DeclDoc] does the same for declarations made in the session's own cells,
//     whose concatenation need not be a valid Go file.
//
// All functions are safe for concurrent use.
package gosrc
