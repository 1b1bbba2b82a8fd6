package kernel

import (
	"encoding/json"
	"testing"

	"github.com/ferryml/ferry/wire"
)

// A received header is the parent header of what answers it, byte for byte.
func TestParentIsTheReceivedHeader(t *testing.T) {
	s, _ := wire.NewSigner("hmac-sha256", []byte("k"))
	raw := []byte(`{"msg_id": "a", "session": "s", "username": "u", "date": "d", "msg_type": "execute_request", "version": "5.3", "extra": 1}`)
	frames := s.Frames(nil, raw, []byte("{}"), []byte("{}"), []byte("{}"))
	m, err := s.Decode(frames)
	if err != nil {
		t.Fatal(err)
	}
	if got := parentOf(m); string(got) != string(raw) {
		t.Errorf("parent %s, want %s", got, raw)
	}
	want, _ := json.Marshal(m.Header)
	if got := parentOf(&wire.Message{Header: m.Header}); string(got) != string(want) {
		t.Errorf("parent of a message made here %s, want %s", got, want)
	}
}
