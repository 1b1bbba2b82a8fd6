package widgets_test

import (
	"fmt"

	"github.com/ferryml/ferry/widgets"
)

func Example() {
	n := widgets.NewIntSlider(5, widgets.Min(0), widgets.Max(10), widgets.Description("n"))
	n.OnChange(func(v int) { fmt.Println("n is now", v) })
	n.SetValue(7) // in a notebook, the browser's slider moves too
	widgets.Display(n)
	fmt.Println(n.Value())
	// Output:
	// n is now 7
	// 7
}

func ExampleInteract() {
	// In a notebook this shows a slider and a text field, and prints the
	// repeated text below them whenever one changes.
	widgets.Interact(func(n int, s string) {
		for range n {
			fmt.Print(s)
		}
		fmt.Println()
	}, widgets.Arg("n", []int{3, 10}), widgets.Arg("s", "ab"))
	// Output:
	// ababab
}

func ExampleButton_OnClick() {
	b := widgets.NewButton("Run", widgets.ButtonStyle("primary"))
	b.OnClick(func(*widgets.Button) { fmt.Println("clicked") })
	b.Click() // what a click in the browser does
	// Output: clicked
}

func ExampleNewProgress() {
	p := widgets.NewProgress(100, "load")
	for range 100 {
		p.Add(1)
	}
	p.Done()
	fmt.Println(p.N())
	// Output: 100
}

func ExampleNewJobMonitor() {
	job := widgets.NewJobMonitor("train-mnist")
	widgets.Display(job)
	job.SetStatus("Running")
	for epoch := 1; epoch <= 3; epoch++ { // in a job, from any goroutine
		job.Metric("loss", float64(epoch), 1/float64(epoch))
		job.SetProgress(float64(epoch), 3)
		job.Log(fmt.Sprintf("epoch %d done", epoch))
	}
	job.SetStatus("Succeeded")
	job.Flush() // send what the throttle holds back now
	fmt.Println(job.Children()[0].Core().Get("value"))
	// Output: <b>train-mnist</b> <span style="background:#388e3c;color:white;border-radius:4px;padding:1px 6px">Succeeded</span>
}

func ExampleOutput_Capture() {
	out := widgets.NewOutput()
	widgets.Display(out)
	// In a kernel, this goes to the widget instead of the cell.
	out.Capture(func() { fmt.Println("captured") })
	// Output: captured
}
