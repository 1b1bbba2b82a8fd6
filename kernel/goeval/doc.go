// Package goeval evaluates the cells of a Ferry Go notebook and implements
// kernel.Evaluator.
//
// Every chunk of a cell is first type-checked with go/types against a model
// of the session (check.go), so errors are the Go compiler's, at cell lines.
// Declaration chunks that need nothing of the session but constants and
// standard packages are compiled by the Go toolchain into plugins
// (compile.go, native.go): native speed, the whole language, real Go types.
// The rest runs in the yaegi interpreter, which reaches compiled
// declarations through the plugins' symbols.
//
// Each cell is split into runs of top-level declarations (import, func, type,
// var, const) and runs of statements, which are evaluated in order, so a cell
// may mix them freely. State persists between cells: variables defined with
// := at the top level of a cell are session globals, and functions, variables
// and constants may be redefined by re-running a cell.
//
// Before interpretation the source is rewritten, keeping every line in place and
// marking the user's positions with /*line*/ directives, to add what yaegi
// lacks from Go 1.22+: range over integers, per-iteration loop variables
// captured by closures, and the min, max and clear builtins. Errors name the
// user's cell line and column. Interrupting a cell (cancelling the context
// given to Eval) stops interpreted code at once; a blocking call into compiled
// code cannot be stopped and is abandoned in the background.
//
// What still does not work is listed in Limitations.
package goeval

// Limitations lists what the Go kernel cannot do, for the README.
const Limitations = `Known limitations of the Ferry Go kernel:

- Only declaration cells (functions, methods, types) that use nothing of the
  session but constants and standard packages are compiled. A declaration
  cell that uses a variable, function or type of another cell, or a
  third-party package, is interpreted: put declarations that belong
  together in one cell. Compiling needs the Go toolchain the kernel was
  built with on PATH; without it every cell is interpreted.
- Re-running a compiled declaration cell makes new types: values made
  before from the old ones no longer fit its functions ("cannot use ...");
  re-run the cells that made them.
- A generic function or type compiled in a cell cannot be instantiated by
  interpreted statements ("Map is a generic function compiled in an
  earlier cell"): call it from a function declared in a cell.
- The generic functions and types of the standard library (slices, maps,
  cmp, iter, unique, sync.OnceValue, atomic.Pointer[T], strings.SplitSeq,
  ...) and of imported modules work in compiled declarations, not in
  interpreted statements ("undefined selector slices.Sort").
- Range over function iterators (Go 1.23) works in compiled declarations;
  interpreted statements refuse it: call the iterator with a yield function,
  seq(func(x T) bool { ...; return true }).
- defer at the top level of a cell and recover in interpreted code are
  refused (the interpreter runs deferred calls at another time, and its
  panics are not Go's run-time errors): put them in a function of a
  declaration cell, func run() { defer ...; ... }; run().
- Interpreted statements may fail with "yaegi internal error: nil type",
  "variable definition loop" (var i Iface = &v), a reflect panic (method
  values and method expressions, errors.As into an interpreted type,
  shadowing a variable with another type) or "undefined type for T"
  (interpreted generics): the same code in a function of a declaration cell
  runs compiled.
- In interpreted code a type cannot be redefined with a different
  definition ("TypeRedefinition"): restart the kernel or use a new name.
  Range over an integer works when the operand is visibly an integer (a
  constant, len/cap, a conversion, a variable of integer type); min(1, 2.5)
  fails (write min(1.0, 2.5)).
- A trailing call of a function that returns several values shows nothing:
  assign the values to see them.
- Interrupting a cell stops interpreted code, but compiled code (a compiled
  cell's loop, time.Sleep, a network read) keeps running in the background
  until it returns.
- A panic in a goroutine started by interpreted code is reported on the
  cell's stderr and the kernel goes on; one in a goroutine of compiled code
  ends the kernel, as in a Go program (it is reported; restart the kernel).
- What compiled code writes to standard error is also copied to the
  kernel's own log.
- A value of an interpreted type with a MIMEBundle method is rendered when
  it is a cell's trailing expression, not when passed to display.Display
  (assign it to a display.Renderer first); a compiled type's method works
  both ways.
- A package name cannot be re-bound: after import "math/rand", import rand
  "crypto/rand" is refused; use another name.
- Third-party packages: generic functions of an imported module cannot be
  called from interpreted statements; a module the kernel links (gonum,
  google/uuid, ...) is used at the kernel's version; after a package is
  loaded, one that needs another version of it fails until a restart;
  packages with cgo need a C compiler.
`
