// Package goeval evaluates the cells of a Ferry Go notebook with the yaegi
// interpreter and implements kernel.Evaluator.
//
// Each cell is split into runs of top-level declarations (import, func, type,
// var, const) and runs of statements, which are evaluated in order, so a cell
// may mix them freely. State persists between cells: variables defined with
// := at the top level of a cell are session globals, and functions, variables
// and constants may be redefined by re-running a cell.
//
// Before evaluation the source is rewritten, keeping every line in place and
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
const Limitations = `Known limitations of the Ferry Go kernel (yaegi interpreter):

- A type cannot be redefined with a different definition in the same session:
  re-running "type T struct{...}" with other fields is refused with a
  TypeRedefinition error. Restart the kernel or use a new name.
- Range over function iterators (Go 1.23 "for x := range seq") is not
  supported: call the iterator with a yield function instead,
  seq(func(x T) bool { ...; return true }).
- Range over an integer works when the operand is visibly an integer: a
  constant, len/cap, a conversion like int64(x), or a variable of integer type
  declared in the cell or session. Other operands (a struct field, a method
  result) must be written as a three-clause loop.
- Per-iteration loop variables (Go 1.22) are emulated only where a loop body
  contains a closure, a go statement or takes an address, and, for
  three-clause loops, does not assign the loop variable itself.
- min and max are generic functions over ordered types: all arguments must
  have one type, so min(1, 2.5) fails (write min(1.0, 2.5)).
- A trailing call of a function that returns several values shows nothing:
  assign the values to see them.
- Interrupting a cell stops interpreted code, but a call into compiled code
  that blocks (time.Sleep, a network read) keeps running in the background;
  when it returns, the rest of that cell may still run. Interrupting also
  stops goroutines started by earlier cells.
- A panic in a goroutine started by a cell is recovered and reported on the
  cell's stderr; the kernel goes on. For "go f(x)" with a builtin f, a
  spread slice (f(xs...)) or a single call argument (f(g())), the
  arguments are evaluated in the new goroutine rather than at the go
  statement.
- A value of a notebook type with a MIMEBundle method is rendered by it when
  it is a cell's trailing expression and Ferry can see its type: a composite
  literal T{...} or &T{...}, a call of a notebook function returning T or *T,
  or a variable declared with one of these or with an explicit type. It is not
  rendered when passed to display.Display (yaegi passes interpreted values to
  compiled code without their methods): assign it to a display.Renderer
  variable first, var r display.Renderer = &T{...}; display.Display(r).
- Re-running an import is fine, but a package name cannot be re-bound: after
  import "math/rand", import rand "crypto/rand" is refused; use another name
  (import cryptorand "crypto/rand").
- A multi-value definition (v, err := f()) inside a block of a top-level
  loop, if or switch works because Ferry runs that statement in a function
  literal; when the statement also holds a return, defer or goto, it is left
  as it is and yaegi reports "undefined: v": declare the variables first
  (var v T; var err error) and assign with =.
- errors.As into an interpreted error type panics in yaegi; some generic code
  (type inference of nested generic calls) is not supported.
`
