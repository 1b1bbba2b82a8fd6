package display

import "sync/atomic"

// Publisher sends display messages to the frontend. The kernel installs one
// with SetPublisher at start-up; without one (a program outside a kernel),
// display calls are no-ops and Input fails.
type Publisher interface {
	// Publish sends display_data, or update_display_data when update is true.
	// displayID is "" for an anonymous display.
	Publish(data, metadata map[string]any, displayID string, update bool)
	// Clear sends clear_output; with wait, the frontend clears on the next output.
	Clear(wait bool)
	// Input asks the user for a line of text over the stdin channel.
	Input(prompt string, password bool) (string, error)
}

var publisher atomic.Pointer[Publisher]

// SetPublisher installs p as the destination of display calls.
func SetPublisher(p Publisher) { publisher.Store(&p) }

func current() Publisher {
	if p := publisher.Load(); p != nil {
		return *p
	}
	return nil
}
