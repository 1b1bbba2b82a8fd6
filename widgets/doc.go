// Package widgets is Ferry's implementation of Jupyter interactive widgets:
// kernel-side models of @jupyter-widgets/controls 2.0.0, @jupyter-widgets/base
// 2.0.0 and @jupyter-widgets/output 1.0.0 that JupyterLab's widget manager
// (@jupyter-widgets/jupyterlab-manager 5.x, widget protocol 2.1.0) renders,
// and the Go API that notebook cells use to build them. It is pre-imported in
// every Ferry Go kernel session as "widgets".
//
// # Building widgets
//
// Each widget has a constructor that takes its main value and options:
//
//	s := widgets.NewIntSlider(5, widgets.Min(0), widgets.Max(10), widgets.Description("n"))
//	s.Observe(func(c widgets.Change) { fmt.Println("n is now", c.New) })
//	widgets.Display(s)
//
// Typed getters and setters (Value, SetValue, ...) read and change a widget's
// state; a change made in a cell is sent to every frontend, and a change made
// in the browser arrives in the kernel, updates the Go value and calls the
// observers. Buttons have OnClick. Boxes (VBox, HBox, Tab, Accordion) hold
// other widgets, Layout and Style set CSS attributes, Output captures output.
// Interact builds one control per parameter of a function and calls it again
// whenever a control changes. Progress is a progress bar for long loops that
// sends a bounded number of updates, and JobMonitor shows a job's status,
// progress, log tail and live metrics.
//
// # Callbacks and their output
//
// Callbacks (observers, click handlers, Interact functions) run in the kernel
// when the frontend's message arrives, on the kernel's shell goroutine: never
// while a cell runs, so they do not race with cells. Their output (fmt.Print,
// display.Display) goes to the Output widget that Display placed under the
// widget in the cell that displayed it, or to an Output widget the callback
// captures with Output.Capture. A panic in a callback is reported in that
// output; the kernel goes on.
//
// # Protocol
//
// Every widget model is a comm of target "jupyter.widget": comm_open carries
// the full state and buffer_paths (metadata version 2.1.0); "update" messages
// go both ways, with "echo_update" back to all frontends for the frontend's
// updates; "request_state" is answered with the full state; "custom" carries
// widget events such as a button's click; binary values travel as buffers at
// their buffer_paths. The "jupyter.widget.control" comm answers
// "request_states" with "update_states" so that widgets come back after a page
// reload, and comm messages for model ids the frontend re-creates without a
// comm_open are adopted.
//
// # Without a frontend
//
// Without a kernel (SetKernel never called, as in a Go program or a test) or
// without a frontend (a notebook run headless with nbclient), widgets keep
// their state and callbacks work when called from Go, and nothing is sent.
package widgets
