package main

import (
	"encoding/binary"
	"testing"
	"time"
)

func TestDecodeV1(t *testing.T) {
	at := time.Unix(1, 0)
	tests := []struct {
		name    string
		msg     []byte
		want    recvd
		wantErr bool
	}{
		{
			name: "execute_reply",
			msg: encodeV1("shell", []byte(`{"msg_id":"r","msg_type":"execute_reply"}`), []byte(`{"msg_id":"q"}`),
				[]byte(`{}`), []byte(`{"status":"ok","execution_count":1}`)),
			want: recvd{at: at, channel: "shell", msgType: "execute_reply", parent: "q", status: "ok"},
		},
		{
			name: "status idle",
			msg: encodeV1("iopub", []byte(`{"msg_id":"s","msg_type":"status"}`), []byte(`{"msg_id":"q"}`),
				[]byte(`{}`), []byte(`{"execution_state":"idle"}`)),
			want: recvd{at: at, channel: "iopub", msgType: "status", parent: "q", state: "idle"},
		},
		{name: "too short", msg: []byte{1, 2}, wantErr: true},
		{name: "offset count too big", msg: binary.LittleEndian.AppendUint64(nil, 99), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeV1(at, tt.msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("decodeV1: err %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("decodeV1 = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeLegacy(t *testing.T) {
	at := time.Unix(1, 0)
	text := []byte(`{"channel":"shell","header":{"msg_id":"r","msg_type":"execute_reply"},` +
		`"parent_header":{"msg_id":"q"},"metadata":{},"content":{"status":"error"},"buffers":[]}`)
	// The binary form: uint32 BE count 2, offsets of the JSON and one buffer.
	bin := binary.BigEndian.AppendUint32(nil, 2)
	bin = binary.BigEndian.AppendUint32(bin, 12)
	bin = binary.BigEndian.AppendUint32(bin, uint32(12+len(text)))
	bin = append(append(bin, text...), "buffer"...)
	want := recvd{at: at, channel: "shell", msgType: "execute_reply", parent: "q", status: "error"}
	for _, tt := range []struct {
		name   string
		binary bool
		msg    []byte
	}{{"text", false, text}, {"binary", true, bin}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeLegacy(at, tt.binary, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("decodeLegacy = %+v, want %+v", got, want)
			}
		})
	}
}
