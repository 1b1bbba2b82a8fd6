package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferryml/ferry"
	"github.com/ferryml/ferry/storage"
)

// metricKeyRE is the tracking store's (MLflow's) rule for metric keys.
var metricKeyRE = regexp.MustCompile(`^[/\w.\- :]+$`)

// ValidMetricKey reports whether the tracking store accepts key as a
// metric name: letters, digits, _ - . / : and spaces, at most 250 bytes, no
// leading '/', no "..". The parser drops other names (a Katib name may hold
// '|'; a JSON key anything), so one odd name cannot fail a batch.
func ValidMetricKey(key string) bool {
	return key != "" && len(key) <= 250 && metricKeyRE.MatchString(key) &&
		!strings.Contains(key, "..") && !strings.HasPrefix(key, "/")
}

// DefaultMetricsFilter is Katib's default StdOut metrics format: name=value
// pairs, several per line allowed, e.g. "epoch=3 loss=0.25 acc=9.1e-1".
const DefaultMetricsFilter = `([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`

// MetricParser turns lines of a job's output into metrics. It reads two
// formats:
//
//   - name=value pairs matched by the filters (Katib's StdOut collector),
//     e.g. "epoch=2 loss=0.25";
//   - JSON objects on a line of their own, e.g. {"loss": 0.25, "epoch": 2};
//     every number is a metric.
//
// A "step" (or else "epoch") on the same line is the step of the line's
// other metrics and no metric itself; a metric without one gets the step
// after its last (0 first). A MetricParser is not safe for concurrent use.
type MetricParser struct {
	filters []*regexp.Regexp
	names   map[string]bool
	// NextStep is the step of the next value of each metric that comes
	// without a step. Save it and give it to a new parser to continue a
	// parse where it stopped.
	NextStep map[string]int64
}

// NewMetricParser returns a parser for spec (Disabled is the caller's to
// honour). It returns an Invalid error for a filter that does not compile.
func NewMetricParser(spec MetricsSpec) (*MetricParser, error) {
	p := &MetricParser{NextStep: map[string]int64{}}
	filters := spec.Filters
	if len(filters) == 0 {
		filters = []string{DefaultMetricsFilter}
	}
	for _, f := range filters {
		re, err := regexp.Compile(f)
		if err != nil {
			return nil, ferry.Errorf(ferry.Invalid, "metrics filter %q: %w", f, err)
		}
		if re.NumSubexp() < 2 {
			return nil, ferry.Errorf(ferry.Invalid, "metrics filter %q: give a regular expression with two groups, the name and the value", f)
		}
		p.filters = append(p.filters, re)
	}
	if len(spec.Names) > 0 {
		p.names = map[string]bool{}
		for _, n := range spec.Names {
			p.names[n] = true
		}
	}
	return p, nil
}

type kv struct {
	key string
	val float64
}

// Parse returns the metrics of one line of output, without timestamps
// (zero: the tracking store's now), in the order they appear.
func (p *MetricParser) Parse(line string) []storage.Metric {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	var pairs []kv
	if line[0] == '{' {
		var ok bool
		if pairs, ok = parseJSONLine(line); !ok {
			pairs = p.parsePairs(line)
		}
	} else {
		pairs = p.parsePairs(line)
	}
	if len(pairs) == 0 {
		return nil
	}
	step, hasStep := int64(0), false
	for _, name := range []string{"step", "epoch"} {
		for _, pr := range pairs {
			if strings.EqualFold(pr.key, name) && !hasStep && pr.val >= math.MinInt64 && pr.val <= math.MaxInt64 {
				step, hasStep = int64(pr.val), true
			}
		}
	}
	var out []storage.Metric
	for _, pr := range pairs {
		if hasStep && (strings.EqualFold(pr.key, "step") || strings.EqualFold(pr.key, "epoch")) {
			continue
		}
		if (p.names != nil && !p.names[pr.key]) || !ValidMetricKey(pr.key) {
			continue
		}
		s := step
		if !hasStep {
			s = p.NextStep[pr.key]
		}
		if s >= p.NextStep[pr.key] && s < math.MaxInt64 {
			p.NextStep[pr.key] = s + 1
		}
		out = append(out, storage.Metric{Key: pr.key, Value: pr.val, Step: s})
	}
	return out
}

func (p *MetricParser) parsePairs(line string) []kv {
	var out []kv
	for _, re := range p.filters {
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			name, val := strings.TrimSpace(m[1]), strings.TrimSpace(m[2])
			if name == "" || val == "" {
				continue
			}
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				continue
			}
			out = append(out, kv{name, f})
		}
	}
	return out
}

// parseJSONLine reads a JSON object's numeric members in document order.
func parseJSONLine(line string) ([]kv, bool) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []kv
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		raw = bytes.TrimSpace(raw)
		var n json.Number
		if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
			continue // a string, bool, null, object or array
		}
		if err := json.Unmarshal(raw, &n); err != nil {
			continue
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || key == "" {
			continue
		}
		out = append(out, kv{key, f})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	return out, true
}

// String describes the parser's filters, for logs.
func (p *MetricParser) String() string {
	var s []string
	for _, re := range p.filters {
		s = append(s, re.String())
	}
	return fmt.Sprintf("metrics(%s)", strings.Join(s, " | "))
}
