package storage

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ferryml/ferry"
)

// Entity is what a filter or order-by clause refers to.
type Entity string

// Entities of the filter grammar.
const (
	EntityMetric    Entity = "metrics"
	EntityParam     Entity = "params"
	EntityTag       Entity = "tags"
	EntityAttribute Entity = "attributes"
	EntityDataset   Entity = "datasets"
)

// Run attributes that filters and orderings may name (attributes.<name> or
// just <name>). start_time and end_time are numbers (milliseconds since the
// Unix epoch); the others are strings.
const (
	AttrRunID          = "run_id"
	AttrRunName        = "run_name"
	AttrStatus         = "status"
	AttrStartTime      = "start_time"
	AttrEndTime        = "end_time"
	AttrArtifactURI    = "artifact_uri"
	AttrParentRunID    = "parent_run_id"
	AttrSourceNotebook = "source_notebook"
)

// attributeAliases maps accepted attribute names to canonical ones.
var attributeAliases = map[string]string{
	"run_id": AttrRunID, "id": AttrRunID,
	"run_name": AttrRunName, "name": AttrRunName,
	"status":     AttrStatus,
	"start_time": AttrStartTime, "created": AttrStartTime, "Created": AttrStartTime,
	"end_time":        AttrEndTime,
	"artifact_uri":    AttrArtifactURI,
	"parent_run_id":   AttrParentRunID,
	"source_notebook": AttrSourceNotebook,
}

// Dataset fields a filter may name as datasets.<field>.
var datasetFields = map[string]bool{"name": true, "digest": true, "context": true}

var entityAliases = map[string]Entity{
	"metrics": EntityMetric, "metric": EntityMetric, "m": EntityMetric,
	"params": EntityParam, "param": EntityParam, "parameters": EntityParam, "parameter": EntityParam, "p": EntityParam,
	"tags": EntityTag, "tag": EntityTag, "t": EntityTag,
	"attributes": EntityAttribute, "attribute": EntityAttribute, "attr": EntityAttribute, "run": EntityAttribute,
	"datasets": EntityDataset, "dataset": EntityDataset,
}

// IsNumericAttribute reports whether the canonical attribute name holds a
// number.
func IsNumericAttribute(name string) bool { return name == AttrStartTime || name == AttrEndTime }

// Comparison operators of the filter grammar.
const (
	OpEq    = "="
	OpNe    = "!="
	OpGt    = ">"
	OpGe    = ">="
	OpLt    = "<"
	OpLe    = "<="
	OpLike  = "LIKE"
	OpILike = "ILIKE"
	OpIn    = "IN"
	OpNotIn = "NOT IN"
)

// Filter is a parsed search filter: the conjunction of its clauses. The
// zero Filter matches every run.
type Filter struct {
	Clauses []Clause
}

// Clause is one comparison, e.g. metrics.accuracy > 0.9.
type Clause struct {
	Entity Entity
	// Key is the metric, param, tag or dataset field name, or the canonical
	// attribute name.
	Key string
	Op  string
	// Exactly one of the values is meaningful: Number when Numeric, List for
	// IN and NOT IN, String otherwise.
	Numeric bool
	Number  float64
	String  string
	List    []string
	// Pos is the byte offset of the clause in the filter text.
	Pos int
}

// OrderBy is a parsed ordering clause, e.g. metrics.accuracy DESC. Runs
// without the metric, param or tag come last either way.
type OrderBy struct {
	Entity Entity // EntityMetric, EntityParam, EntityTag or EntityAttribute
	Key    string
	Desc   bool
}

// ParseFilter parses a search filter in MLflow's grammar:
//
//	filter     = [ clause { "AND" clause } ]
//	clause     = identifier comparator value
//	identifier = entity "." key | attribute
//	entity     = "metrics" | "params" | "tags" | "attributes" | "datasets"
//	key        = name | "`" text "`" | '"' text '"'
//	value      = number | string | "(" string { "," string } ")"
//
// Metrics and numeric attributes take = != > >= < <= and a number; params,
// tags, string attributes and dataset fields take = != > >= < <= LIKE ILIKE
// and a quoted string, or IN and NOT IN and a list of strings. Keywords are
// case-insensitive. Errors are Invalid and give the byte offset of the
// problem.
func ParseFilter(s string) (Filter, error) {
	p := &parser{src: s}
	var f Filter
	p.skipSpace()
	if p.eof() {
		return f, nil
	}
	for {
		c, err := p.clause()
		if err != nil {
			return Filter{}, err
		}
		f.Clauses = append(f.Clauses, c)
		p.skipSpace()
		if p.eof() {
			return f, nil
		}
		start := p.pos
		w := p.word()
		switch strings.ToUpper(w) {
		case "AND":
			if !p.spaceOrEnd() {
				return Filter{}, p.errAt(start, "expected AND between clauses")
			}
		case "OR":
			return Filter{}, p.errAt(start, "OR is not supported: the filter grammar only joins clauses with AND")
		default:
			return Filter{}, p.errAt(start, "expected AND or the end of the filter, found %s", p.describe(start))
		}
	}
}

// ParseOrderBy parses one ordering clause: an identifier as in ParseFilter
// (not datasets), then optionally ASC or DESC.
func ParseOrderBy(s string) (OrderBy, error) {
	p := &parser{src: s, what: "order by"}
	p.skipSpace()
	ent, key, err := p.identifier()
	if err != nil {
		return OrderBy{}, err
	}
	if ent == EntityDataset {
		return OrderBy{}, p.errAt(0, "cannot order by a dataset field")
	}
	o := OrderBy{Entity: ent, Key: key}
	p.skipSpace()
	if !p.eof() {
		start := p.pos
		switch strings.ToUpper(p.word()) {
		case "ASC":
		case "DESC":
			o.Desc = true
		default:
			return OrderBy{}, p.errAt(start, "expected ASC or DESC, found %s", p.describe(start))
		}
		p.skipSpace()
		if !p.eof() {
			return OrderBy{}, p.errAt(p.pos, "unexpected %s after the ordering direction", p.describe(p.pos))
		}
	}
	return o, nil
}

type parser struct {
	src  string
	pos  int
	what string // "filter" or "order by"
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	what := p.what
	if what == "" {
		what = "filter"
	}
	return ferry.Errorf(ferry.Invalid, "%s %q: at position %d: %s", what, p.src, pos, fmt.Sprintf(format, args...))
}

// describe names what is at pos for an error message.
func (p *parser) describe(pos int) string {
	if pos >= len(p.src) {
		return "the end of the text"
	}
	rest := p.src[pos:]
	if len(rest) > 20 {
		rest = rest[:20] + "..."
	}
	return strconv.Quote(rest)
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func (p *parser) spaceOrEnd() bool {
	return p.pos >= len(p.src) || isSpace(p.src[p.pos]) || p.src[p.pos] == '(' || p.src[p.pos] == '\'' || p.src[p.pos] == '"'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isKeyByte reports whether c may appear in an unquoted key.
func isKeyByte(c byte) bool { return isWordByte(c) || c == '.' || c == '-' || c == '/' || c == ':' }

// word reads [A-Za-z0-9_]*.
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.src) && isWordByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *parser) identifier() (Entity, string, error) {
	start := p.pos
	if p.eof() {
		return "", "", p.errAt(start, "expected an identifier such as metrics.accuracy, found the end of the text")
	}
	w := p.word()
	if w == "" {
		return "", "", p.errAt(start, "expected an identifier such as metrics.accuracy, found %s", p.describe(start))
	}
	if p.eof() || p.src[p.pos] != '.' {
		attr, ok := attributeAliases[w]
		if !ok {
			return "", "", p.errAt(start, "unknown identifier %q: use metrics.<key>, params.<key>, tags.<key>, datasets.<field> or attributes.<name> (%s)", w, attributeList())
		}
		return EntityAttribute, attr, nil
	}
	ent, ok := entityAliases[strings.ToLower(w)]
	if !ok {
		return "", "", p.errAt(start, "unknown entity %q: use metrics, params, tags, attributes or datasets", w)
	}
	p.pos++ // '.'
	keyPos := p.pos
	var key string
	if !p.eof() && (p.src[p.pos] == '`' || p.src[p.pos] == '"') {
		k, err := p.quoted()
		if err != nil {
			return "", "", err
		}
		key = k
	} else {
		for p.pos < len(p.src) && isKeyByte(p.src[p.pos]) {
			p.pos++
		}
		key = p.src[keyPos:p.pos]
	}
	if key == "" {
		return "", "", p.errAt(keyPos, "expected a key after %q, found %s", w+".", p.describe(keyPos))
	}
	switch ent {
	case EntityAttribute:
		attr, ok := attributeAliases[key]
		if !ok {
			return "", "", p.errAt(keyPos, "unknown attribute %q: use one of %s", key, attributeList())
		}
		key = attr
	case EntityDataset:
		if !datasetFields[key] {
			return "", "", p.errAt(keyPos, "unknown dataset field %q: use name, digest or context", key)
		}
	}
	return ent, key, nil
}

func attributeList() string {
	return "run_id, run_name, status, start_time, end_time, artifact_uri, parent_run_id, source_notebook"
}

// quoted reads a string quoted by ', " or `; a doubled quote stands for one.
func (p *parser) quoted() (string, error) {
	start := p.pos
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == q {
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == q {
				b.WriteByte(q)
				p.pos += 2
				continue
			}
			p.pos++
			s := b.String()
			if !utf8.ValidString(s) {
				return "", p.errAt(start, "string is not valid UTF-8")
			}
			return s, nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.errAt(start, "unterminated string: missing closing %c", q)
}

func (p *parser) clause() (Clause, error) {
	p.skipSpace()
	c := Clause{Pos: p.pos}
	ent, key, err := p.identifier()
	if err != nil {
		return Clause{}, err
	}
	c.Entity, c.Key = ent, key
	ident := string(ent) + "." + key
	p.skipSpace()
	opPos := p.pos
	op, err := p.comparator()
	if err != nil {
		return Clause{}, err
	}
	c.Op = op
	numeric := ent == EntityMetric || ent == EntityAttribute && IsNumericAttribute(key)
	switch op {
	case OpLike, OpILike, OpIn, OpNotIn:
		if numeric {
			return Clause{}, p.errAt(opPos, "%s is a number: %s does not apply, use = != > >= < <=", ident, op)
		}
	}
	p.skipSpace()
	valPos := p.pos
	switch {
	case op == OpIn || op == OpNotIn:
		list, err := p.list()
		if err != nil {
			return Clause{}, err
		}
		c.List = list
	case p.eof():
		return Clause{}, p.errAt(valPos, "expected a value after %s, found the end of the text", op)
	case p.src[p.pos] == '\'' || p.src[p.pos] == '"':
		s, err := p.quoted()
		if err != nil {
			return Clause{}, err
		}
		if numeric {
			return Clause{}, p.errAt(valPos, "%s is a number: compare it with a number, not the string %q", ident, s)
		}
		c.String = s
	default:
		n, ok := p.number()
		if !ok {
			return Clause{}, p.errAt(valPos, "expected a number or a quoted string, found %s", p.describe(valPos))
		}
		if !numeric {
			return Clause{}, p.errAt(valPos, "%s is a string: quote the value, e.g. %s %s '%s'", ident, ident, op, p.src[valPos:p.pos])
		}
		c.Numeric, c.Number = true, n
	}
	return c, nil
}

func (p *parser) comparator() (string, error) {
	start := p.pos
	if p.eof() {
		return "", p.errAt(start, "expected a comparator (= != > >= < <= LIKE ILIKE IN NOT IN), found the end of the text")
	}
	two := ""
	if p.pos+2 <= len(p.src) {
		two = p.src[p.pos : p.pos+2]
	}
	switch two {
	case "!=", ">=", "<=":
		p.pos += 2
		return two, nil
	case "<>":
		p.pos += 2
		return OpNe, nil
	case "==":
		p.pos += 2
		return OpEq, nil
	}
	switch p.src[p.pos] {
	case '=', '>', '<':
		p.pos++
		return p.src[start:p.pos], nil
	}
	w := strings.ToUpper(p.word())
	switch w {
	case OpLike, OpILike, OpIn:
		return w, nil
	case "NOT":
		p.skipSpace()
		inPos := p.pos
		if strings.ToUpper(p.word()) != "IN" {
			return "", p.errAt(inPos, "expected IN after NOT, found %s", p.describe(inPos))
		}
		return OpNotIn, nil
	}
	return "", p.errAt(start, "expected a comparator (= != > >= < <= LIKE ILIKE IN NOT IN), found %s", p.describe(start))
}

func (p *parser) list() ([]string, error) {
	start := p.pos
	if p.eof() || p.src[p.pos] != '(' {
		return nil, p.errAt(start, "expected a parenthesized list of strings, e.g. ('a', 'b'), found %s", p.describe(start))
	}
	p.pos++
	var out []string
	for {
		p.skipSpace()
		vp := p.pos
		if p.eof() || p.src[p.pos] != '\'' && p.src[p.pos] != '"' {
			return nil, p.errAt(vp, "expected a quoted string in the list, found %s", p.describe(vp))
		}
		s, err := p.quoted()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.skipSpace()
		if p.eof() {
			return nil, p.errAt(p.pos, "unterminated list: missing )")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return out, nil
		default:
			return nil, p.errAt(p.pos, "expected , or ) in the list, found %s", p.describe(p.pos))
		}
	}
}

// number reads a decimal number with optional sign, fraction and exponent.
func (p *parser) number() (float64, bool) {
	start := p.pos
	i := p.pos
	if i < len(p.src) && (p.src[i] == '-' || p.src[i] == '+') {
		i++
	}
	digits := 0
	for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
		i++
		digits++
	}
	if i < len(p.src) && p.src[i] == '.' {
		i++
		for i < len(p.src) && p.src[i] >= '0' && p.src[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(p.src) && (p.src[i] == 'e' || p.src[i] == 'E') {
		j := i + 1
		if j < len(p.src) && (p.src[j] == '-' || p.src[j] == '+') {
			j++
		}
		k := j
		for k < len(p.src) && p.src[k] >= '0' && p.src[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	if i < len(p.src) && isWordByte(p.src[i]) {
		return 0, false
	}
	n, err := strconv.ParseFloat(p.src[start:i], 64)
	if err != nil {
		return 0, false
	}
	p.pos = i
	return n, true
}

// String renders the filter in the grammar ParseFilter reads, keys quoted.
func (f Filter) String() string {
	var b strings.Builder
	for i, c := range f.Clauses {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(string(c.Entity))
		b.WriteString(".`")
		b.WriteString(strings.ReplaceAll(c.Key, "`", "``"))
		b.WriteString("` ")
		b.WriteString(c.Op)
		b.WriteByte(' ')
		switch {
		case c.Op == OpIn || c.Op == OpNotIn:
			b.WriteByte('(')
			for j, s := range c.List {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(quoteString(s))
			}
			b.WriteByte(')')
		case c.Numeric:
			b.WriteString(strconv.FormatFloat(c.Number, 'g', -1, 64))
		default:
			b.WriteString(quoteString(c.String))
		}
	}
	return b.String()
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
