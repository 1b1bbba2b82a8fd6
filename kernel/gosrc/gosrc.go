// Package gosrc analyses Go source text for the kernel without running it:
// whether a cell is complete, the expression under the cursor, keywords, and
// documentation of standard-library and cell-declared symbols.
package gosrc

// IsComplete reports whether code is a complete Go cell: "complete",
// "incomplete" (with the indent for the next line) or "invalid".
// STUB: being implemented.
func IsComplete(code string) (status, indent string) { return "complete", "" }

// ExprAt returns the dotted selector expression ending at or around cursor
// (a byte offset), e.g. "strings.Spl" for "x := strings.Spl|", and its byte
// range in code. Used for completion (prefix) and inspection (whole name).
// STUB: being implemented.
func ExprAt(code string, cursor int) (expr string, start, end int) { return "", cursor, cursor }

// Keywords are Go's keywords and predeclared identifiers, for completion.
var Keywords = []string{}

// Doc is the documentation of one symbol.
type Doc struct {
	Name      string // "strings.Split"
	Signature string // "func Split(s, sep string) []string"
	Text      string // doc comment text
	Source    string // declaration source, when known
}

// PackageDoc returns the documentation of name (an exported symbol, or "" for
// the package itself) in the package importPath, read from GOROOT sources
// (or the module cache for module paths) when present.
// STUB: being implemented.
func PackageDoc(importPath, name string) (Doc, bool) { return Doc{}, false }

// DeclDoc finds the declaration of name (a func, type, var or const, or a
// method "T.M") in Go source src (the concatenated cells of a session) and
// returns its signature, doc comment and source.
// STUB: being implemented.
func DeclDoc(src, name string) (Doc, bool) { return Doc{}, false }
