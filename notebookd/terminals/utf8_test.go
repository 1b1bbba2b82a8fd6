package terminals

import (
	"strings"
	"testing"
)

func TestUTF8Decoder(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // decode's result per chunk, then flush's
	}{
		{"ascii", []string{"ab", "c"}, []string{"ab", "c", ""}},
		{"euro split 1+2", []string{"x\xe2", "\x82\xacy"}, []string{"x", "€y", ""}},
		{"euro split 2+1", []string{"\xe2\x82", "\xac"}, []string{"", "€", ""}},
		{"euro in three reads", []string{"\xe2", "\x82", "\xac"}, []string{"", "", "€", ""}},
		{"four bytes split", []string{"a\xf0\x9f\x98", "\x80b"}, []string{"a", "😀b", ""}},
		{"invalid byte", []string{"a\xffb"}, []string{"a\uFFFDb", ""}},
		{"stray continuation", []string{"\x82\xac"}, []string{"\uFFFD", ""}},
		{"cut by the end of output", []string{"a\xe2\x82"}, []string{"a", "\uFFFD"}},
		{"start then invalid", []string{"\xe2", "z"}, []string{"", "\uFFFDz", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d utf8Decoder
			var got []string
			for _, c := range tt.chunks {
				got = append(got, d.decode([]byte(c)))
			}
			got = append(got, d.flush())
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAppendHistory(t *testing.T) {
	tests := []struct {
		name, h, s string
		limit      int
		want       string
	}{
		{"fits", "ab", "cd", 8, "abcd"},
		{"drops the oldest", "abcd", "ef", 4, "cdef"},
		{"whole characters kept", "a€", "b", 4, "€b"},
		{"never half a character", "€", "€", 4, "€"},
		{"all of a long output", "", "abcdef", 2, "ef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendHistory([]byte(tt.h), tt.s, tt.limit))
			if got != tt.want {
				t.Errorf("appendHistory(%q, %q, %d) = %q, want %q", tt.h, tt.s, tt.limit, got, tt.want)
			}
		})
	}
}
