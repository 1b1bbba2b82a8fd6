package goeval

import (
	"go/scanner"
	"go/token"
)

// chunk is a run of top-level declarations or of statements in a cell,
// src[start:end] of the cell's source.
type chunk struct {
	decl       bool
	start, end int
}

type tokInfo struct {
	off int
	tok token.Token
	lit string
}

// scanTokens returns the tokens of src (without comments), with the scanner
// errors found.
func scanTokens(src string) ([]tokInfo, scanner.ErrorList) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var errs scanner.ErrorList
	var s scanner.Scanner
	s.Init(file, []byte(src), func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
	var toks []tokInfo
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		toks = append(toks, tokInfo{off: file.Offset(pos), tok: tok, lit: lit})
	}
	return toks, errs
}

// splitCell splits a cell into runs of declarations and runs of statements,
// cut at top-level statement boundaries. Whitespace and comments between two
// runs belong to the second. A cell without tokens gives no chunk.
func splitCell(src string) []chunk {
	toks, _ := scanTokens(src)
	var chunks []chunk
	depth := 0
	stmtStart := true
	boundary := 0
	for i, t := range toks {
		if stmtStart && depth == 0 && t.tok != token.SEMICOLON {
			decl := isDeclStart(toks, i)
			switch {
			case len(chunks) == 0:
				chunks = append(chunks, chunk{decl: decl, start: 0})
			case chunks[len(chunks)-1].decl != decl:
				chunks[len(chunks)-1].end = boundary
				chunks = append(chunks, chunk{decl: decl, start: boundary})
			}
			stmtStart = false
		}
		switch t.tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth > 0 {
				depth--
			}
		case token.SEMICOLON:
			if depth == 0 {
				stmtStart = true
				boundary = min(t.off+1, len(src))
			}
		}
	}
	if len(chunks) > 0 {
		chunks[len(chunks)-1].end = len(src)
	}
	return chunks
}

// isDeclStart reports whether the statement starting at toks[i] is a
// top-level declaration (as opposed to a statement such as a call of a func
// literal).
func isDeclStart(toks []tokInfo, i int) bool {
	switch toks[i].tok {
	case token.IMPORT, token.TYPE, token.VAR, token.CONST:
		return true
	case token.FUNC:
		if i+1 >= len(toks) {
			return false
		}
		switch toks[i+1].tok {
		case token.IDENT:
			return true
		case token.LPAREN: // method declaration or func literal?
			depth := 0
			for j := i + 1; j < len(toks); j++ {
				switch toks[j].tok {
				case token.LPAREN:
					depth++
				case token.RPAREN:
					depth--
					if depth == 0 {
						return j+2 < len(toks) && toks[j+1].tok == token.IDENT && toks[j+2].tok == token.LPAREN
					}
				}
			}
		}
	}
	return false
}
