package gosrc

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// DeclDoc finds the declaration of name (a func, type, var or const, or a
// method "T.M") in Go source src (the concatenated cells of a session) and
// returns its signature, doc comment and source.
//
// src need not be a valid Go file: it may hold statements outside functions.
// DeclDoc scans src with go/scanner for top-level declarations (a func, type,
// var or const keyword at the start of a statement outside any bracket) and
// parses each one on its own, with the comment lines directly above it as its
// doc comment. When name is declared several times the last declaration wins.
// Methods may also be written "(*T).M" or "*T.M".
func DeclDoc(src, name string) (Doc, bool) {
	name = normalizeName(name)
	if name == "" {
		return Doc{}, false
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" || !strings.Contains(src, last) {
		return Doc{}, false
	}
	var (
		best  Doc
		found bool
	)
	for _, r := range declRegions(src) {
		if !strings.Contains(src[r.start:r.end], last) {
			continue
		}
		if d, ok := regionDoc(src[r.docStart:r.end], name); ok {
			best, found = d, true
		}
	}
	return best, found
}

// region is the byte range of one top-level declaration in a session's
// source: its doc comment starts at docStart, its keyword at start.
type region struct{ docStart, start, end int }

// comment is one comment token seen by declRegions.
type comment struct{ off, line, endLine int }

// declRegions returns the top-level func, type, var and const declarations of
// src, in order.
func declRegions(src string) []region {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, scanner.ScanComments)

	var (
		regions  []region
		cur      *region
		comments []comment // comments since the last significant token
		depth    int
		stmt     = true // at the start of a statement
		prevLine int    // line of the last significant token
	)
	for {
		pos, tok, lit := s.Scan()
		off := file.Offset(pos)
		if tok == token.EOF {
			if cur != nil {
				cur.end = len(src)
				regions = append(regions, *cur)
			}
			return regions
		}
		line := file.Line(pos)
		if tok == token.COMMENT {
			endLine := line + strings.Count(lit, "\n")
			if strings.HasPrefix(lit, "//") {
				endLine = line
			}
			if line != prevLine || len(comments) > 0 {
				comments = append(comments, comment{off, line, endLine})
			}
			continue
		}
		if cur != nil && depth == 0 && tok == token.SEMICOLON {
			cur.end = off
			regions = append(regions, *cur)
			cur = nil
		}
		if cur == nil && depth == 0 && stmt &&
			(tok == token.FUNC || tok == token.TYPE || tok == token.VAR || tok == token.CONST) {
			docStart, next := off, line
			for i := len(comments) - 1; i >= 0; i-- {
				c := comments[i]
				if c.endLine != next-1 && !(c.endLine == next && i < len(comments)-1) {
					break
				}
				docStart, next = c.off, c.line
			}
			cur = &region{docStart: docStart, start: off}
		}
		switch tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth = max(depth-1, 0)
		}
		stmt = tok == token.SEMICOLON
		comments = comments[:0]
		if !(tok == token.SEMICOLON && lit == "\n") {
			prevLine = line
		}
	}
}

// regionDoc parses text, the source of one declaration with its doc comment,
// and returns the documentation of name if the declaration declares it.
func regionDoc(text, name string) (Doc, bool) {
	const prefix = "package p\n"
	full := prefix + text
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, "", full, parser.ParseComments|parser.SkipObjectResolution)
	if f == nil {
		return Doc{}, false
	}
	tf := fset.File(f.Pos())
	src := []byte(full)
	var (
		d     Doc
		found bool
	)
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			n := decl.Name.Name
			if r := RecvTypeName(decl); r != "" {
				n = r + "." + n
			} else if decl.Recv != nil {
				continue
			}
			if n != name {
				continue
			}
			d = Doc{
				Name:      name,
				Signature: funcSignature(fset, decl),
				Text:      decl.Doc.Text(),
				Source:    sourceText(tf, src, decl.Pos(), decl.End()),
			}
			found = true
		case *ast.GenDecl:
			if decl.Tok == token.IMPORT || strings.Contains(name, ".") {
				continue
			}
			for _, spec := range decl.Specs {
				if !specHasName(spec, name) {
					continue
				}
				d = Doc{
					Name:      name,
					Signature: specSignature(fset, decl, spec),
					Text:      specDoc(decl, spec),
					Source:    declSource(tf, src, decl, spec),
				}
				found = true
			}
		}
	}
	return d, found
}
