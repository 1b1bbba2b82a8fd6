package magics

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// Magic is one magic. Line, Cell or both are set.
type Magic struct {
	// Name without the % signs.
	Name string
	// Summary is one line for %lsmagic.
	Summary string
	// Usage is the text shown by `%name?` and with usage errors: synopsis
	// and flags.
	Usage string
	// Line runs `%name args`.
	Line func(ctx context.Context, args string) (any, error)
	// Cell runs `%%name args` with the rest of the cell as body.
	Cell func(ctx context.Context, args, body string) (any, error)
}

// Registry holds magics by name. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	magics map[string]*Magic
}

// NewRegistry returns a Registry with the built-in %lsmagic.
func NewRegistry() *Registry {
	r := &Registry{magics: map[string]*Magic{}}
	r.Register(&Magic{
		Name:    "lsmagic",
		Summary: "list the available magics",
		Usage:   "%lsmagic",
		Line: func(context.Context, string) (any, error) {
			return r.list(), nil
		},
	})
	return r
}

// Register adds m, replacing a magic of the same name. It panics on a magic
// without a valid name or without Line and Cell (a programming error).
func (r *Registry) Register(m *Magic) {
	if !validName(m.Name) || (m.Line == nil && m.Cell == nil) {
		panic(fmt.Sprintf("magics: invalid magic %q", m.Name))
	}
	r.mu.Lock()
	r.magics[m.Name] = m
	r.mu.Unlock()
}

// Lookup returns the magic called name.
func (r *Registry) Lookup(name string) (*Magic, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.magics[name]
	return m, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.magics))
	for n := range r.magics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Listing is the value of %lsmagic.
type Listing []*Magic

// String lists line and cell magics with their summaries.
func (l Listing) String() string {
	var b strings.Builder
	for _, m := range l {
		var forms []string
		if m.Line != nil {
			forms = append(forms, "%"+m.Name)
		}
		if m.Cell != nil {
			forms = append(forms, "%%"+m.Name)
		}
		fmt.Fprintf(&b, "%-24s %s\n", strings.Join(forms, " "), m.Summary)
	}
	return strings.TrimRight(b.String(), "\n")
}

// MIMEBundle renders the listing as text.
func (l Listing) MIMEBundle() (data, metadata map[string]any) {
	return map[string]any{"text/plain": l.String()}, map[string]any{}
}

func (r *Registry) list() Listing {
	var l Listing
	for _, n := range r.Names() {
		m, _ := r.Lookup(n)
		l = append(l, m)
	}
	return l
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || unicode.IsLetter(c) || unicode.IsDigit(c)) {
			return false
		}
	}
	return true
}

// UsageError is a mistake in how a magic was called: an unknown magic, flag
// or argument. Its message says what is wrong and shows the usage.
type UsageError struct {
	Magic string
	Msg   string
	Usage string
}

func (e *UsageError) Error() string {
	s := e.Msg
	if e.Magic != "" {
		s = "%" + e.Magic + ": " + s
	}
	if e.Usage != "" {
		s += "\n\nUsage:\n" + e.Usage
	}
	return s
}

// Usagef returns a *UsageError for magic m.
func Usagef(m *Magic, format string, args ...any) error {
	return &UsageError{Magic: m.Name, Msg: fmt.Sprintf(format, args...), Usage: m.Usage}
}

// SplitArgs splits a magic's argument string like a POSIX shell does words:
// on blanks, with '...' and "..." quoting and backslash escapes (outside
// single quotes).
func SplitArgs(s string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == '\\':
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			}
			inArg = true
		case unicode.IsSpace(c):
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// ParseFlags splits args and parses them with fs (whose flags the magic
// defined), returning the positional arguments. Flags may follow
// positional arguments. Errors are *UsageError with m's usage.
func ParseFlags(m *Magic, fs *flag.FlagSet, args string) ([]string, error) {
	words, err := SplitArgs(args)
	if err != nil {
		return nil, Usagef(m, "%v", err)
	}
	fs.Init(m.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var pos, rest []string
	for i, w := range words {
		if w == "--" {
			words, rest = words[:i], words[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(words); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &UsageError{Magic: m.Name, Msg: "help", Usage: m.Usage}
			}
			return nil, Usagef(m, "%v", err)
		}
		words = fs.Args()
		if len(words) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, words[0])
		words = words[1:]
	}
}
