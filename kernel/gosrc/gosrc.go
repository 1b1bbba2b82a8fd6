package gosrc

import (
	"go/scanner"
	"go/token"
	"strings"
	"unicode"
	"unicode/utf8"
)

// indentUnit is the indentation added per open brace by IsComplete.
const indentUnit = "    "

// IsComplete reports whether code is a complete Go cell: "complete",
// "incomplete" (with the indent for the next line) or "invalid".
//
// The cell is "incomplete" when a bracket, brace or parenthesis is still open,
// when a raw string literal or a /* comment is unterminated, or when the last
// token is an operator, comma, period, colon or keyword that needs an operand
// or a body. The indent is indentUnit ("    ") repeated once per open brace,
// and at least once. The cell is "invalid" when more input cannot fix it: an
// unmatched closing bracket, an illegal character outside strings and
// comments, an unterminated interpreted string or rune literal, or any other
// lexical error. Otherwise (including for empty code) it is "complete".
func IsComplete(code string) (status, indent string) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(code))
	invalid, unterminated := false, false
	var s scanner.Scanner
	s.Init(file, []byte(code), func(_ token.Position, msg string) {
		switch msg {
		case "raw string literal not terminated", "comment not terminated":
			unterminated = true
		default:
			invalid = true
		}
	}, 0)

	var stack []token.Token // open brackets
	last := token.ILLEGAL   // last significant token; ILLEGAL when none
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		switch tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			stack = append(stack, tok)
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if len(stack) == 0 || stack[len(stack)-1] != opening(tok) {
				return "invalid", ""
			}
			stack = stack[:len(stack)-1]
		case token.SEMICOLON:
			if lit == "\n" {
				continue // automatically inserted: not significant
			}
		}
		last = tok
	}
	if invalid {
		return "invalid", ""
	}
	if unterminated || len(stack) > 0 || needsMore(last) {
		depth := 0
		for _, t := range stack {
			if t == token.LBRACE {
				depth++
			}
		}
		return "incomplete", strings.Repeat(indentUnit, max(depth, 1))
	}
	return "complete", ""
}

// opening returns the opening bracket matching the closing bracket tok.
func opening(tok token.Token) token.Token {
	switch tok {
	case token.RPAREN:
		return token.LPAREN
	case token.RBRACK:
		return token.LBRACK
	}
	return token.LBRACE
}

// needsMore reports whether a cell ending in tok needs more input.
func needsMore(tok token.Token) bool {
	switch tok {
	case token.ADD, token.SUB, token.MUL, token.QUO, token.REM,
		token.AND, token.OR, token.XOR, token.SHL, token.SHR, token.AND_NOT,
		token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.QUO_ASSIGN,
		token.REM_ASSIGN, token.AND_ASSIGN, token.OR_ASSIGN, token.XOR_ASSIGN,
		token.SHL_ASSIGN, token.SHR_ASSIGN, token.AND_NOT_ASSIGN,
		token.LAND, token.LOR, token.ARROW, token.EQL, token.LSS, token.GTR,
		token.ASSIGN, token.NOT, token.NEQ, token.LEQ, token.GEQ, token.DEFINE,
		token.COMMA, token.PERIOD, token.COLON, token.TILDE:
		return true
	case token.CHAN, token.CONST, token.DEFER, token.ELSE, token.FOR,
		token.FUNC, token.GO, token.GOTO, token.IF, token.IMPORT,
		token.INTERFACE, token.MAP, token.PACKAGE, token.RANGE, token.SELECT,
		token.STRUCT, token.SWITCH, token.TYPE, token.VAR, token.CASE,
		token.DEFAULT:
		return true
	}
	return false
}

// ExprAt returns the dotted selector chain of identifiers around cursor (a
// byte offset into code, clamped to [0, len(code)]) and its byte range, so
// that expr == code[start:end].
//
// The chain is the identifier under the cursor (which may be empty when the
// cursor follows a period) together with the identifiers and periods directly
// before it: end is the end of the identifier under the cursor, which may lie
// after cursor. Selectors after that identifier are not included. Examples
// ("|" marks the cursor):
//
//	x := strings.Spl|   → "strings.Spl"   (end == cursor)
//	fmt.|               → "fmt."
//	strings.Sp|lit(s)   → "strings.Split" (end > cursor)
//	str|ings.Split      → "strings"
//
// For completion the typed prefix is code[start:cursor]; for inspection the
// whole expr is the name. The chain stops at anything that is not an
// identifier, so "f().Na|" gives "Na". When the cursor is inside a string,
// rune literal or comment, or on a number, expr is "" and start == end ==
// cursor.
func ExprAt(code string, cursor int) (expr string, start, end int) {
	cursor = min(max(cursor, 0), len(code))
	if inLiteralOrComment(code, cursor) {
		return "", cursor, cursor
	}
	end = cursor
	for end < len(code) {
		r, n := utf8.DecodeRuneInString(code[end:])
		if !isIdentRune(r) {
			break
		}
		end += n
	}
	start = identStartBefore(code, cursor)
	if start < end && !isIdentStart(code[start:]) {
		return "", cursor, cursor // a number, not an identifier
	}
	for start > 0 && code[start-1] == '.' {
		p := identStartBefore(code, start-1)
		if p == start-1 || !isIdentStart(code[p:]) {
			break
		}
		start = p
	}
	return code[start:end], start, end
}

// identStartBefore returns the start of the run of identifier characters
// (letters, digits, '_') that ends at offset i of code.
func identStartBefore(code string, i int) int {
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(code[:i])
		if !isIdentRune(r) {
			break
		}
		i -= n
	}
	return i
}

func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isIdentStart reports whether s begins with a letter or '_'.
func isIdentStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return r == '_' || unicode.IsLetter(r)
}

// inLiteralOrComment reports whether cursor lies inside a string or rune
// literal or a comment of code (strictly after its first byte, and before its
// end; at the end of a line comment or of an unterminated literal counts as
// inside).
func inLiteralOrComment(code string, cursor int) bool {
	if !strings.ContainsAny(code, "\"'`/") {
		return false
	}
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(code))
	unterminated := map[int]bool{}
	var s scanner.Scanner
	s.Init(file, []byte(code), func(pos token.Position, msg string) {
		if strings.HasSuffix(msg, "not terminated") {
			unterminated[pos.Offset] = true
		}
	}, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return false
		}
		off := file.Offset(pos)
		if off >= cursor {
			return false
		}
		var end int
		lineComment := false
		switch tok {
		case token.STRING:
			if lit != "" && lit[0] == '`' {
				end = closeAfter(code, off+1, "`")
			} else {
				end = off + len(lit)
			}
		case token.CHAR:
			end = off + len(lit)
		case token.COMMENT:
			if strings.HasPrefix(code[off:], "//") {
				lineComment = true
				end = strings.IndexByte(code[off:], '\n')
				if end < 0 {
					end = len(code)
				} else {
					end += off
				}
			} else {
				end = closeAfter(code, off+2, "*/")
			}
		default:
			continue
		}
		if cursor < end || (cursor == end && (lineComment || unterminated[off])) {
			return true
		}
	}
}

// closeAfter returns the offset just past the first occurrence of delim in
// code at or after from, or len(code) when there is none.
func closeAfter(code string, from int, delim string) int {
	if from > len(code) {
		return len(code)
	}
	i := strings.Index(code[from:], delim)
	if i < 0 {
		return len(code)
	}
	return from + i + len(delim)
}

// Keywords are Go's keywords and predeclared identifiers, for completion.
var Keywords = []string{
	// keywords
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type",
	"var",
	// predeclared types
	"any", "bool", "byte", "comparable", "complex64", "complex128", "error",
	"float32", "float64", "int", "int8", "int16", "int32", "int64", "rune",
	"string", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
	// predeclared constants and the zero value nil
	"true", "false", "iota", "nil",
	// builtin functions
	"append", "cap", "clear", "close", "complex", "copy", "delete", "imag",
	"len", "make", "max", "min", "new", "panic", "print", "println", "real",
	"recover",
}

// Doc is the documentation of one symbol.
type Doc struct {
	Name      string // "strings.Split"
	Signature string // "func Split(s, sep string) []string"
	Text      string // doc comment text
	Source    string // declaration source, when known
}
