package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func goldenMessage() *Message {
	return &Message{
		Identities: [][]byte{[]byte("client-1")},
		Header:     Header{MsgID: "c0ffee00-0000-4000-8000-000000000001", Session: "s-1", Username: "kernel", Date: "2026-11-27T09:00:00.000000Z", MsgType: "execute_reply", Version: ProtocolVersion},
		Parent:     json.RawMessage(`{"msg_id":"p-1","session":"c-1","username":"u","date":"2026-11-27T08:59:59.000000Z","msg_type":"execute_request","version":"5.4"}`),
		Metadata:   json.RawMessage(`{}`),
		Content:    json.RawMessage(`{"status":"ok","execution_count":1,"user_expressions":{},"payload":[]}`),
		Buffers:    [][]byte{{0, 1, 2, 255}},
	}
}

func TestEncodeGolden(t *testing.T) {
	s, err := NewSigner("hmac-sha256", []byte("secret-key"))
	if err != nil {
		t.Fatal(err)
	}
	frames, err := s.Encode(goldenMessage())
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, f := range frames {
		got.WriteString(strings.ReplaceAll(string(f), "\n", `\n`))
		got.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "execute_reply.frames")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("encoded frames differ from %s:\ngot:\n%s\nwant:\n%s", golden, got.Bytes(), want)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", []byte("secret-key"))
	in := goldenMessage()
	frames, err := s.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Decode(frames)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if out.Header != in.Header {
		t.Errorf("header: got %+v, want %+v", out.Header, in.Header)
	}
	if got, want := string(out.Content), string(in.Content); got != want {
		t.Errorf("content: got %s, want %s", got, want)
	}
	if len(out.Identities) != 1 || string(out.Identities[0]) != "client-1" {
		t.Errorf("identities: got %q, want [client-1]", out.Identities)
	}
	if len(out.Buffers) != 1 || !bytes.Equal(out.Buffers[0], in.Buffers[0]) {
		t.Errorf("buffers: got %v, want %v", out.Buffers, in.Buffers)
	}
	if got := out.ParentHeader().MsgType; got != "execute_request" {
		t.Errorf("parent msg_type: got %q, want execute_request", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", []byte("secret-key"))
	other, _ := NewSigner("hmac-sha256", []byte("another-key"))
	good, _ := s.Encode(goldenMessage())
	forged, _ := other.Encode(goldenMessage())
	tampered := cloneFrames(good)
	tampered[len(tampered)-2] = []byte(`{"status":"ok","execution_count":2}`)
	unsigned := cloneFrames(good)
	unsigned[2] = []byte("")
	badJSON := cloneFrames(good)
	badJSON[4] = []byte("{nope")
	badJSONSigned := cloneFrames(badJSON)
	badJSONSigned[2] = s.sign(badJSON[3], badJSON[4], badJSON[5], badJSON[6])

	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   error
	}{
		{"other key", forged, ErrBadSignature},
		{"tampered content", tampered, ErrBadSignature},
		{"missing signature", unsigned, ErrBadSignature},
		{"no delimiter", [][]byte{[]byte("id"), []byte("x")}, ErrNoDelimiter},
		{"short", [][]byte{delimiter, []byte("sig"), []byte("{}")}, ErrShortMessage},
		{"empty", nil, ErrNoDelimiter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Decode(tc.frames)
			if !errors.Is(err, tc.want) {
				t.Errorf("Decode: got error %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("signed invalid JSON", func(t *testing.T) {
		if _, err := s.Decode(badJSONSigned); err == nil {
			t.Error("Decode accepted a parent header that is not JSON")
		}
	})
}

func TestUnsignedSession(t *testing.T) {
	s, _ := NewSigner("", nil)
	frames, _ := s.Encode(goldenMessage())
	if len(frames[2]) != 0 {
		t.Errorf("signature with empty key: got %q, want empty", frames[2])
	}
	if _, err := s.Decode(frames); err != nil {
		t.Errorf("Decode without key: %v", err)
	}
	if _, err := NewSigner("hmac-md5", []byte("k")); err == nil {
		t.Error("NewSigner accepted hmac-md5")
	}
}

func cloneFrames(f [][]byte) [][]byte {
	out := make([][]byte, len(f))
	for i := range f {
		out[i] = bytes.Clone(f[i])
	}
	return out
}

func FuzzDecode(f *testing.F) {
	s, _ := NewSigner("hmac-sha256", []byte("k"))
	good, _ := s.Encode(goldenMessage())
	f.Add(bytes.Join(good, []byte{0}), true)
	f.Add([]byte("<IDS|MSG>\x00\x00{}\x00{}\x00{}\x00{}"), false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		frames := bytes.Split(data, []byte{0})
		if signed && len(frames) >= 7 {
			// Give the fuzzer a valid signature so it reaches the JSON decoding.
			for i, fr := range frames {
				if bytes.Equal(fr, delimiter) && len(frames) >= i+6 {
					frames[i+1] = s.sign(frames[i+2], frames[i+3], frames[i+4], frames[i+5])
					break
				}
			}
		}
		m, err := s.Decode(frames)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode again to the same header.
		again, err := s.Encode(m)
		if err != nil {
			return
		}
		m2, err := s.Decode(again)
		if err != nil {
			t.Fatalf("re-decode of an encoded message failed: %v", err)
		}
		if m2.Header != m.Header {
			t.Fatalf("header changed across a round trip: %+v vs %+v", m2.Header, m.Header)
		}
	})
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || len(a) != 36 || a[14] != '4' {
		t.Errorf("NewID: got %q and %q, want two distinct v4 UUIDs", a, b)
	}
}

// Headers are encoded without reflection, to the bytes json.Marshal writes.
func TestHeaderJSONMatchesEncodingJSON(t *testing.T) {
	for _, h := range []Header{
		{},
		goldenMessage().Header,
		{MsgID: `q"uote`, Session: "s\\", Username: "ünï <&>", Date: "\x01", MsgType: "\u2028", Version: "5.4"},
	} {
		want, _ := json.Marshal(h)
		if got := h.appendJSON(nil); string(got) != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
