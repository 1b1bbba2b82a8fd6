// Package magics runs IPython-style magics in Ferry's Go kernel: line magics
// (`%name args` on a line of their own, anywhere in a cell, between Go
// statements) and cell magics (`%%name args` on the first line; the rest of
// the cell is the magic's body).
//
// A Registry holds the magics; an Evaluator wraps the Go evaluator of a
// kernel session, runs the magic lines of each cell in order with the Go code
// between them, and keeps Go error positions on the cell's own lines.
// `%lsmagic` lists what is registered and `%name?` shows a magic's usage.
//
// Magics return a value that is displayed like a cell's trailing expression
// (see display.MIMEBundle): a display.Table, a Vega-Lite chart, text.
// Implementations live in their own packages (tracking's %experiment and
// %runs, %%sql, ...); cmd/ferry registers them.
package magics
