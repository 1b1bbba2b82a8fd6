package gosrc

import (
	"bytes"
	"go/ast"
	"go/printer"
	"go/token"
	"strings"
)

// printConfig formats like gofmt.
var printConfig = printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}

// nodeString prints node; it returns "" when node cannot be printed.
func nodeString(fset *token.FileSet, node any) string {
	var buf bytes.Buffer
	if err := printConfig.Fprint(&buf, fset, node); err != nil {
		return ""
	}
	return buf.String()
}

// funcSignature prints the declaration of fd without its body or doc comment.
func funcSignature(fset *token.FileSet, fd *ast.FuncDecl) string {
	c := *fd
	c.Body = nil
	c.Doc = nil
	return nodeString(fset, &c)
}

// specSignature prints one spec of decl, preceded by its keyword, without its
// doc and line comments. A constant spec that only repeats the previous
// expression (as in iota groups) is shown with its whole group.
func specSignature(fset *token.FileSet, decl *ast.GenDecl, spec ast.Spec) string {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		c := *s
		c.Doc, c.Comment = nil, nil
		return "type " + nodeString(fset, &c)
	case *ast.ValueSpec:
		if decl.Tok == token.CONST && len(s.Values) == 0 && len(decl.Specs) > 1 {
			return genDeclSignature(fset, decl)
		}
		c := *s
		c.Doc, c.Comment = nil, nil
		return decl.Tok.String() + " " + nodeString(fset, &c)
	}
	return ""
}

// genDeclSignature prints decl without doc and line comments.
func genDeclSignature(fset *token.FileSet, decl *ast.GenDecl) string {
	c := *decl
	c.Doc = nil
	c.Specs = make([]ast.Spec, len(decl.Specs))
	for i, spec := range decl.Specs {
		switch s := spec.(type) {
		case *ast.ValueSpec:
			cs := *s
			cs.Doc, cs.Comment = nil, nil
			c.Specs[i] = &cs
		case *ast.TypeSpec:
			cs := *s
			cs.Doc, cs.Comment = nil, nil
			c.Specs[i] = &cs
		default:
			c.Specs[i] = spec
		}
	}
	return nodeString(fset, &c)
}

// specDoc returns the doc comment of spec, or of its declaration when the
// spec has none.
func specDoc(decl *ast.GenDecl, spec ast.Spec) string {
	var cg *ast.CommentGroup
	switch s := spec.(type) {
	case *ast.TypeSpec:
		cg = s.Doc
	case *ast.ValueSpec:
		cg = s.Doc
	}
	if cg == nil {
		cg = decl.Doc
	}
	return cg.Text()
}

// sourceText returns the text between positions pos and end of file tf, whose
// content is src ("" when out of range).
func sourceText(tf *token.File, src []byte, pos, end token.Pos) string {
	if tf == nil || !pos.IsValid() || !end.IsValid() {
		return ""
	}
	b, e := tf.Offset(pos), tf.Offset(end)
	if b < 0 || e > len(src) || b > e {
		return ""
	}
	return string(src[b:e])
}

// declSource returns the source of the declaration of spec in decl: the
// whole declaration, except that a type from a grouped declaration is shown
// alone with its keyword.
func declSource(tf *token.File, src []byte, decl *ast.GenDecl, spec ast.Spec) string {
	if ts, ok := spec.(*ast.TypeSpec); ok && decl.Lparen.IsValid() {
		return "type " + sourceText(tf, src, ts.Pos(), ts.End())
	}
	return sourceText(tf, src, decl.Pos(), decl.End())
}

// specHasName reports whether spec declares name.
func specHasName(spec ast.Spec, name string) bool {
	switch s := spec.(type) {
	case *ast.TypeSpec:
		return s.Name.Name == name
	case *ast.ValueSpec:
		for _, id := range s.Names {
			if id.Name == name {
				return true
			}
		}
	}
	return false
}

// RecvTypeName returns the base type name of the receiver of method fd ("T"
// for "func (t *T[K]) M()"), or "" when fd is not a method or its receiver
// type is malformed. "T.M" is the name DeclDoc and PackageDoc accept for the
// method.
func RecvTypeName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// normalizeName turns the method spellings "(*T).M", "(T).M" and "*T.M" into
// "T.M" and trims spaces.
func normalizeName(name string) string {
	name = strings.TrimSpace(name)
	name = strings.TrimPrefix(name, "(")
	name = strings.TrimPrefix(name, "*")
	name = strings.Replace(name, ").", ".", 1)
	return name
}
