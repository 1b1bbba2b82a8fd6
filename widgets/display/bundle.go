package display

import "fmt"

// MIMEBundle returns the MIME bundle that renders v: its own bundle when v
// knows how to display itself, PNG for an image.Image, and text/plain always.
// STUB: being implemented.
func MIMEBundle(v any) (data, metadata map[string]any) {
	return map[string]any{"text/plain": fmt.Sprint(v)}, map[string]any{}
}
