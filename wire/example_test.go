package wire_test

import (
	"encoding/json"
	"fmt"

	"github.com/ferryml/ferry/wire"
)

// A Signer signs outgoing messages and refuses incoming ones whose HMAC does
// not match the connection file's key.
func ExampleSigner() {
	s, _ := wire.NewSigner("hmac-sha256", []byte("key-from-the-connection-file"))
	msg := &wire.Message{
		Header:  wire.Header{MsgID: wire.NewID(), MsgType: "kernel_info_request", Version: wire.ProtocolVersion},
		Content: json.RawMessage(`{}`),
	}
	frames, _ := s.Encode(msg)
	got, err := s.Decode(frames)
	fmt.Println(got.Header.MsgType, err)

	frames[len(frames)-1] = []byte(`{"tampered":true}`)
	_, err = s.Decode(frames)
	fmt.Println(err)
	// Output:
	// kernel_info_request <nil>
	// kernel: message signature does not match
}
