package kernels

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ferryml/ferry/wire"
)

// msg is one Jupyter message as relayed between the kernel and websocket
// clients. The JSON parts stay as raw bytes so that nothing is lost
// (extra header fields such as subshell_id included).
type msg struct {
	channel  string
	header   []byte
	parent   []byte
	metadata []byte
	content  []byte
	buffers  [][]byte

	// parsed from header and parent
	msgID, msgType, session string
	parentID, parentSession string
}

type hdrFields struct {
	MsgID   string `json:"msg_id"`
	MsgType string `json:"msg_type"`
	Session string `json:"session"`
}

// parse fills the parsed fields from the JSON parts.
func (m *msg) parse() error { return m.parseHeaders(true) }

// parseHeaders reads the header fields; with checkBody it also checks that
// metadata and content are JSON (messages from clients; a kernel's signed
// messages are relayed as they are).
func (m *msg) parseHeaders(checkBody bool) error {
	var h hdrFields
	if err := json.Unmarshal(m.header, &h); err != nil {
		return fmt.Errorf("bad header: %w", err)
	}
	m.msgID, m.msgType, m.session = h.MsgID, h.MsgType, h.Session
	if len(m.parent) == 0 {
		m.parent = []byte("{}")
	}
	if len(m.metadata) == 0 {
		m.metadata = []byte("{}")
	}
	if len(m.content) == 0 {
		m.content = []byte("{}")
	}
	var p hdrFields
	if err := json.Unmarshal(m.parent, &p); err != nil {
		return fmt.Errorf("bad parent header: %w", err)
	}
	m.parentID, m.parentSession = p.MsgID, p.Session
	for _, part := range [][]byte{m.metadata, m.content} {
		if checkBody && !json.Valid(part) {
			return errors.New("metadata or content is not valid JSON")
		}
	}
	return nil
}

// signer signs and verifies messages with the kernel's key; the wire format
// is package kernel's.
type signer struct{ s *wire.Signer }

func newSigner(key string) signer {
	s, _ := wire.NewSigner("hmac-sha256", []byte(key)) // only fails for another scheme
	return signer{s}
}

// encode returns the ZeroMQ frames of m, signed (no routing identities: the
// sockets are DEALERs).
func (s signer) encode(m *msg) [][]byte {
	return s.s.Frames(nil, append([][]byte{m.header, m.parent, m.metadata, m.content}, m.buffers...)...)
}

// decode parses and verifies frames received on channel.
func (s signer) decode(channel string, frames [][]byte) (*msg, error) {
	_, parts, err := s.s.Verify(frames)
	if err != nil {
		return nil, err
	}
	m := &msg{channel: channel, header: parts[0], parent: parts[1], metadata: parts[2], content: parts[3]}
	if len(parts) > 4 {
		m.buffers = parts[4:]
	}
	if err := m.parseHeaders(false); err != nil {
		return nil, err
	}
	return m, nil
}

// The websocket protocols.

// V1Subprotocol is the binary kernel websocket protocol of Jupyter Server 2.
const V1Subprotocol = "v1.kernel.websocket.jupyter.org"

// encodeV1 serializes m as jupyter_server's serialize_msg_to_ws_v1: a
// little-endian uint64 count n, n uint64 offsets, then the channel name,
// header, parent header, metadata, content and buffers.
func encodeV1(m *msg) []byte {
	parts := append([][]byte{[]byte(m.channel), m.header, m.parent, m.metadata, m.content}, m.buffers...)
	n := len(parts) + 1
	size := 8 * (1 + n)
	for _, p := range parts {
		size += len(p)
	}
	out := make([]byte, 8*(1+n), size)
	binary.LittleEndian.PutUint64(out, uint64(n))
	off := uint64(8 * (1 + n))
	binary.LittleEndian.PutUint64(out[8:], off)
	for i, p := range parts {
		off += uint64(len(p))
		binary.LittleEndian.PutUint64(out[8*(i+2):], off)
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// decodeV1 parses a v1 binary websocket message (deserialize_msg_from_ws_v1).
func decodeV1(b []byte) (*msg, error) {
	if len(b) < 8 {
		return nil, errors.New("v1 message shorter than its offset count")
	}
	n := binary.LittleEndian.Uint64(b)
	if n < 6 || n > uint64(len(b))/8 {
		return nil, fmt.Errorf("v1 message has a bad offset count %d", n)
	}
	offs := make([]uint64, n)
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint64(b[8*(i+1):])
		if offs[i] > uint64(len(b)) || i > 0 && offs[i] < offs[i-1] {
			return nil, errors.New("v1 message has bad offsets")
		}
	}
	if offs[0] < 8*(n+1) {
		return nil, errors.New("v1 message has bad offsets")
	}
	parts := make([][]byte, 0, n-1)
	for i := 0; i+1 < len(offs); i++ {
		parts = append(parts, b[offs[i]:offs[i+1]])
	}
	// parts: channel, header, parent, metadata, content, buffers...
	m := &msg{channel: string(parts[0]), header: parts[1], parent: parts[2], metadata: parts[3], content: parts[4]}
	if len(parts) > 5 {
		m.buffers = parts[5:]
	}
	return m, m.parse()
}

// legacyJSON is the legacy (no subprotocol) websocket message.
type legacyJSON struct {
	Header   json.RawMessage `json:"header"`
	Parent   json.RawMessage `json:"parent_header"`
	Metadata json.RawMessage `json:"metadata"`
	Content  json.RawMessage `json:"content"`
	Channel  string          `json:"channel"`
	MsgID    string          `json:"msg_id,omitempty"`
	MsgType  string          `json:"msg_type,omitempty"`
	Buffers  []any           `json:"buffers"`
}

// encodeLegacy returns the legacy websocket frame of m: text JSON without
// buffers, else jupyter_server's serialize_binary_message (uint32 BE count,
// uint32 BE offsets, the JSON, the buffers).
func encodeLegacy(m *msg) (binaryFrame bool, b []byte) {
	j, _ := json.Marshal(legacyJSON{Header: m.header, Parent: m.parent, Metadata: m.metadata, Content: m.content,
		Channel: m.channel, MsgID: m.msgID, MsgType: m.msgType, Buffers: []any{}})
	if len(m.buffers) == 0 {
		return false, j
	}
	bufs := append([][]byte{j}, m.buffers...)
	nb := len(bufs)
	out := make([]byte, 4*(nb+1))
	binary.BigEndian.PutUint32(out, uint32(nb))
	off := uint32(4 * (nb + 1))
	for i, p := range bufs {
		binary.BigEndian.PutUint32(out[4*(i+1):], off)
		off += uint32(len(p))
	}
	for _, p := range bufs {
		out = append(out, p...)
	}
	return true, out
}

// decodeLegacy parses a legacy text (JSON) or binary websocket message.
func decodeLegacy(binaryFrame bool, b []byte) (*msg, error) {
	var bufs [][]byte
	if binaryFrame {
		if len(b) < 4 {
			return nil, errors.New("binary message too short")
		}
		nb := binary.BigEndian.Uint32(b)
		if nb < 1 || uint64(nb) > uint64(len(b))/4 {
			return nil, errors.New("binary message has a bad buffer count")
		}
		offs := make([]int, nb+1)
		for i := 0; i < int(nb); i++ {
			offs[i] = int(binary.BigEndian.Uint32(b[4*(i+1):]))
		}
		offs[nb] = len(b)
		for i := 0; i < int(nb); i++ {
			if offs[i] < 4*(int(nb)+1) || offs[i] > offs[i+1] || offs[i+1] > len(b) {
				return nil, errors.New("binary message has bad offsets")
			}
			bufs = append(bufs, b[offs[i]:offs[i+1]])
		}
		b = bufs[0]
		bufs = bufs[1:]
	}
	var l legacyJSON
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("message is not valid JSON: %w", err)
	}
	m := &msg{channel: l.Channel, header: l.Header, parent: l.Parent, metadata: l.Metadata, content: l.Content, buffers: bufs}
	if len(m.header) == 0 {
		return nil, errors.New("message has no header")
	}
	return m, m.parse()
}
