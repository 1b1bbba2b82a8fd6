package notebookd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
)

// DefaultMaxBodyBytes is the largest contents request body (a save) that a
// Config with MaxBodyBytes 0 accepts: 100 MiB, as Tornado's default
// max_body_size. JupyterLab uploads files over 15 MB in chunks of 1 MiB,
// so only a notebook saved whole comes near it.
const DefaultMaxBodyBytes = 100 << 20

// maxSmallBody caps the bodies that carry a few fields (a contents POST or
// PATCH) or front-end settings (/api/config/<section>).
const maxSmallBody = 1 << 20

// Limits of a section of /api/config/<section> as stored.
const (
	maxConfigFile  = 4 << 20 // bytes
	maxConfigDepth = 32      // nesting of objects and arrays
)

// maxBodyBytes is the cap of a contents request body; negative: none.
func (s *Server) maxBodyBytes() int64 {
	if s.cfg.MaxBodyBytes == 0 {
		return DefaultMaxBodyBytes
	}
	return s.cfg.MaxBodyBytes
}

// decodeLimited decodes the JSON request body into v, reading at most
// limit bytes (no limit when negative): a larger body is answered 413,
// before it is read when its Content-Length says so. A body of white space
// only leaves v and returns empty.
//
// The body is held once besides what it decodes to: read into a buffer of
// its Content-Length (no copies as a buffer grows), or, without one,
// decoded as it is read.
func decodeLimited(w http.ResponseWriter, r *http.Request, v any, limit int64, fix string) (empty bool, err error) {
	body := r.Body
	if limit >= 0 {
		if r.ContentLength > limit {
			return false, bodyError(&http.MaxBytesError{Limit: limit}, limit, fix)
		}
		body = http.MaxBytesReader(w, r.Body, limit)
	}
	if r.ContentLength >= 0 && limit >= 0 { // no allocation beyond the limit
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return false, bodyError(err, limit, fix)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return true, nil
		}
		if err := json.Unmarshal(b, v); err != nil {
			return false, bodyError(err, limit, fix)
		}
		return false, nil
	}
	br := bufio.NewReader(body)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, bodyError(err, limit, fix)
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			_ = br.UnreadByte()
			break
		}
	}
	dec := json.NewDecoder(br)
	if err := dec.Decode(v); err != nil {
		return false, bodyError(err, limit, fix)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the JSON value")
		}
		return false, bodyError(err, limit, fix)
	}
	return false, nil
}

func bodyError(err error, limit int64, fix string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Errorf(http.StatusRequestEntityTooLarge, "the request body is over the limit of %d bytes (%s); %s", limit, byteSize(limit), fix)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || err == io.ErrUnexpectedEOF || err.Error() == "data after the JSON value" {
		return Errorf(http.StatusBadRequest, "invalid JSON in the request body: %v", err)
	}
	if errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, "invalid JSON in the request body: %v", io.ErrUnexpectedEOF)
	}
	return Errorf(http.StatusBadRequest, "reading the request body: %v", err)
}

// byteSize writes n bytes for people: "100 MiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// NestedDeeper reports whether the decoded JSON value v nests objects and
// arrays more than n deep.
func NestedDeeper(v any, n int) bool {
	switch v := v.(type) {
	case map[string]any:
		if n == 0 {
			return true
		}
		for _, x := range v {
			if NestedDeeper(x, n-1) {
				return true
			}
		}
	case []any:
		if n == 0 {
			return true
		}
		for _, x := range v {
			if NestedDeeper(x, n-1) {
				return true
			}
		}
	}
	return false
}

// WithoutPath is err without the OS path of an *fs.PathError or
// *os.LinkError, for error messages that clients see (an API answer never
// shows where the notebook root is).
func WithoutPath(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	case errors.As(err, &le):
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}
