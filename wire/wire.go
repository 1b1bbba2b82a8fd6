package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/ferryml/ferry/internal/jsonenc"
)

// ProtocolVersion is the Jupyter messaging protocol version Ferry speaks.
const ProtocolVersion = "5.4"

// delimiter separates routing identities from the signed message frames.
var delimiter = []byte("<IDS|MSG>")

// Header is a Jupyter message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one Jupyter message as it travels on a ZeroMQ socket.
// Parent, Metadata and Content stay raw JSON so that nothing the sender wrote
// is lost when a message is relayed or answered.
type Message struct {
	Identities [][]byte
	Header     Header
	Parent     json.RawMessage // the parent header, "{}" when none
	Metadata   json.RawMessage
	Content    json.RawMessage
	Buffers    [][]byte

	// rawHeader is the header as received (Decode), which replies and
	// outputs carry as their parent header.
	rawHeader []byte
}

// RawHeader returns the header as received (Decode), which replies and
// outputs carry as their parent header, or else the Header as JSON.
func (m *Message) RawHeader() []byte {
	if m.rawHeader != nil {
		return m.rawHeader
	}
	return m.Header.appendJSON(nil)
}

// ParentHeader decodes the parent header; the zero Header when it is empty.
func (m *Message) ParentHeader() Header {
	var h Header
	_ = json.Unmarshal(m.Parent, &h)
	return h
}

// Errors returned by Signer.Decode.
var (
	ErrNoDelimiter  = errors.New("kernel: message has no <IDS|MSG> delimiter")
	ErrShortMessage = errors.New("kernel: message has fewer than 5 frames after the delimiter")
	ErrBadSignature = errors.New("kernel: message signature does not match")
)

// Signer signs and verifies messages with HMAC-SHA256 over the four JSON
// frames, as the connection file's key and signature_scheme say. An empty key
// disables signing (as Jupyter allows); Ferry always writes a key.
type Signer struct {
	key  []byte
	pool sync.Pool
}

// NewSigner returns a Signer for key and scheme; only "hmac-sha256" (or an
// empty scheme) is supported.
func NewSigner(scheme string, key []byte) (*Signer, error) {
	if scheme != "" && scheme != "hmac-sha256" {
		return nil, fmt.Errorf("kernel: signature scheme %q is not supported; use hmac-sha256", scheme)
	}
	s := &Signer{key: bytes.Clone(key)}
	s.pool.New = func() any { return hmac.New(sha256.New, s.key) }
	return s, nil
}

func (s *Signer) sign(frames ...[]byte) []byte {
	if len(s.key) == 0 {
		return nil
	}
	h := s.pool.Get().(hash.Hash)
	defer s.pool.Put(h)
	h.Reset()
	for _, f := range frames {
		h.Write(f)
	}
	var sum [sha256.Size]byte
	return hex.AppendEncode(nil, h.Sum(sum[:0]))
}

// Verify finds the delimiter in frames and checks the signature. It returns
// the routing identities before the delimiter and the signed parts after the
// signature: header, parent header, metadata, content, then any buffers, as
// raw bytes (for relays that must pass every field through). It never
// panics on malformed input.
func (s *Signer) Verify(frames [][]byte) (idents, parts [][]byte, err error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], delimiter) {
		i++
	}
	if i == len(frames) {
		return nil, nil, ErrNoDelimiter
	}
	rest := frames[i+1:]
	if len(rest) < 5 {
		return nil, nil, ErrShortMessage
	}
	if len(s.key) > 0 {
		want := s.sign(rest[1], rest[2], rest[3], rest[4])
		if !hmac.Equal(want, rest[0]) {
			return nil, nil, ErrBadSignature
		}
	}
	return frames[:i], rest[1:], nil
}

// Frames returns the frames of a message made of raw parts (header, parent
// header, metadata, content, then any buffers), signed, after the routing
// identities.
func (s *Signer) Frames(idents [][]byte, parts ...[]byte) [][]byte {
	frames := make([][]byte, 0, len(idents)+2+len(parts))
	frames = append(frames, idents...)
	frames = append(frames, delimiter, s.sign(parts[0], parts[1], parts[2], parts[3]))
	return append(frames, parts...)
}

// Decode parses the frames of a received message and verifies its
// signature. It never panics on malformed input.
func (s *Signer) Decode(frames [][]byte) (*Message, error) {
	idents, rest, err := s.Verify(frames)
	if err != nil {
		return nil, err
	}
	m := &Message{Identities: idents, rawHeader: rest[0]}
	if err := json.Unmarshal(rest[0], &m.Header); err != nil {
		return nil, fmt.Errorf("kernel: bad header: %w", err)
	}
	for _, f := range []struct {
		dst *json.RawMessage
		src []byte
		nm  string
	}{{&m.Parent, rest[1], "parent header"}, {&m.Metadata, rest[2], "metadata"}, {&m.Content, rest[3], "content"}} {
		if !json.Valid(f.src) {
			return nil, fmt.Errorf("kernel: %s is not valid JSON", f.nm)
		}
		*f.dst = json.RawMessage(f.src)
	}
	if len(rest) > 4 {
		m.Buffers = rest[4:]
	}
	return m, nil
}

// Encode returns the frames of m, signed.
func (s *Signer) Encode(m *Message) ([][]byte, error) {
	header := m.Header.appendJSON(make([]byte, 0, 256))
	parent, meta, content := orEmpty(m.Parent), orEmpty(m.Metadata), orEmpty(m.Content)
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, delimiter, s.sign(header, parent, meta, content), header, parent, meta, content)
	return append(frames, m.Buffers...), nil
}

// appendJSON appends h as JSON, as json.Marshal writes it.
func (h *Header) appendJSON(b []byte) []byte {
	b = append(b, `{"msg_id":`...)
	b = jsonenc.AppendString(b, h.MsgID)
	b = append(b, `,"session":`...)
	b = jsonenc.AppendString(b, h.Session)
	b = append(b, `,"username":`...)
	b = jsonenc.AppendString(b, h.Username)
	b = append(b, `,"date":`...)
	b = jsonenc.AppendString(b, h.Date)
	b = append(b, `,"msg_type":`...)
	b = jsonenc.AppendString(b, h.MsgType)
	b = append(b, `,"version":`...)
	b = jsonenc.AppendString(b, h.Version)
	return append(b, '}')
}

func orEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// NewID returns a fresh random identifier in the UUID v4 text form.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// Now returns the current time in the ISO 8601 form Jupyter uses.
func Now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
