package display

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
)

// ErrNoFrontend is returned by Input and Password when no frontend is
// connected (no Publisher installed, as in a program outside a kernel).
var ErrNoFrontend = errors.New("display: no frontend connected: input needs a running kernel")

// Display publishes each value as a display_data message, rendered by
// MIMEBundle. Without a Publisher it does nothing.
func Display(vs ...any) {
	p := current()
	if p == nil {
		return
	}
	for _, v := range vs {
		data, md := MIMEBundle(v)
		p.Publish(data, md, "", false)
	}
}

// Handle is a display that can be replaced in place: it keeps the display
// id of the output made by NewDisplay.
type Handle struct {
	id string
}

// NewDisplay publishes v with a fresh display id and returns the handle that
// updates it. Without a Publisher it publishes nothing, but the handle still
// works (its updates are no-ops too).
func NewDisplay(v any) *Handle {
	h := &Handle{id: newID()}
	if p := current(); p != nil {
		data, md := MIMEBundle(v)
		p.Publish(data, md, h.id, false)
	}
	return h
}

// ID returns the display id (the transient display_id of the messages).
func (h *Handle) ID() string { return h.id }

// Update replaces what the display shows with v, by an update_display_data
// message; every output with this display id changes.
func (h *Handle) Update(v any) {
	if p := current(); p != nil {
		data, md := MIMEBundle(v)
		p.Publish(data, md, h.id, true)
	}
}

// Display shows v as one more output with this handle's display id, so that
// later updates change it too.
func (h *Handle) Display(v any) {
	if p := current(); p != nil {
		data, md := MIMEBundle(v)
		p.Publish(data, md, h.id, false)
	}
}

// Clear clears the cell's output now (clear_output with wait=false).
func Clear() {
	if p := current(); p != nil {
		p.Clear(false)
	}
}

// ClearWait clears the cell's output when the next output arrives
// (clear_output with wait=true), which avoids flicker in animations.
func ClearWait() {
	if p := current(); p != nil {
		p.Clear(true)
	}
}

// Input asks the user for a line of text, showing prompt, and returns it
// without the newline. It fails with ErrNoFrontend outside a kernel, and
// with the kernel's error when the frontend does not allow input.
func Input(prompt string) (string, error) {
	p := current()
	if p == nil {
		return "", ErrNoFrontend
	}
	return p.Input(prompt, false)
}

// Password is Input with the typed text hidden.
func Password(prompt string) (string, error) {
	p := current()
	if p == nil {
		return "", ErrNoFrontend
	}
	return p.Input(prompt, true)
}

// newID returns a random display id: 32 hex digits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
