package tuning

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryml/ferry"
)

// ParamType is Katib's parameterType.
type ParamType string

// Parameter types.
const (
	// Double is a real number in [Min, Max].
	Double ParamType = "double"
	// Int is a whole number in [Min, Max], by Step (1 if unset).
	Int ParamType = "int"
	// Discrete is one number of a list (ordered: algorithms may use the
	// order).
	Discrete ParamType = "discrete"
	// Categorical is one string of a list (unordered).
	Categorical ParamType = "categorical"
)

// Distribution is Katib's feasibleSpace.distribution: how values of a
// double or int parameter are spread.
type Distribution string

// Distributions. Normal and LogNormal are centred on the middle of [Min,
// Max] (of its logs) with a standard deviation of a sixth of the range, and
// truncated to it, as Katib's suggestion services do.
const (
	Uniform    Distribution = "uniform"
	LogUniform Distribution = "logUniform"
	Normal     Distribution = "normal"
	LogNormal  Distribution = "logNormal"
)

// Param is one dimension of a search space: Katib's ParameterSpec.
type Param struct {
	Name string    `json:"name"`
	Type ParamType `json:"type"`
	// Min and Max bound double and int parameters (both included).
	Min float64 `json:"min,omitempty"`
	Max float64 `json:"max,omitempty"`
	// Step is the spacing of int values (default 1) and of the grid that
	// grid search lays over a double parameter.
	Step float64 `json:"step,omitempty"`
	// Values lists the choices of discrete (numbers) and categorical
	// parameters.
	Values []string `json:"values,omitempty"`
	// Distribution of a double or int parameter; default Uniform.
	Distribution Distribution `json:"distribution,omitempty"`
}

// Float returns a double parameter in [lo, hi].
func Float(name string, lo, hi float64) Param {
	return Param{Name: name, Type: Double, Min: lo, Max: hi}
}

// IntRange returns an int parameter in [lo, hi] with step 1.
func IntRange(name string, lo, hi int) Param {
	return Param{Name: name, Type: Int, Min: float64(lo), Max: float64(hi)}
}

// Choice returns a categorical parameter.
func Choice(name string, values ...string) Param {
	return Param{Name: name, Type: Categorical, Values: values}
}

// Numbers returns a discrete parameter with the given values.
func Numbers(name string, values ...float64) Param {
	p := Param{Name: name, Type: Discrete}
	for _, v := range values {
		p.Values = append(p.Values, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return p
}

// Log returns p on a log scale (Distribution LogUniform).
func (p Param) Log() Param { p.Distribution = LogUniform; return p }

// By returns p with Step step.
func (p Param) By(step float64) Param { p.Step = step; return p }

// Numeric reports whether the parameter's values are numbers (every type
// but Categorical).
func (p Param) Numeric() bool { return p.Type != Categorical }

// logScale reports whether the parameter's distribution is over logs.
func (p Param) logScale() bool {
	return p.Distribution == LogUniform || p.Distribution == LogNormal
}

func (p Param) step() float64 {
	if p.Step > 0 {
		return p.Step
	}
	if p.Type == Int {
		return 1
	}
	return 0
}

// Count returns how many values the parameter has: the length of its list,
// the number of int values, or for a double the number of grid points its
// Step lays (0 without a step: a continuum).
func (p Param) Count() int {
	switch p.Type {
	case Discrete, Categorical:
		return len(p.Values)
	}
	s := p.step()
	if s == 0 {
		return 0
	}
	return int(math.Floor((p.Max-p.Min)/s+1e-9)) + 1
}

// numbers returns the values of a discrete parameter, sorted.
func (p Param) numbers() []float64 {
	xs := make([]float64, 0, len(p.Values))
	for _, v := range p.Values {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err == nil {
			xs = append(xs, x)
		}
	}
	slices.Sort(xs)
	return xs
}

// Validate applies Katib's rules for a ParameterSpec and a few more of
// Ferry's (an empty or inverted range, a log scale over non-positive
// numbers, duplicate choices).
func (p Param) Validate() error {
	bad := func(format string, args ...any) error {
		return ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	if p.Name == "" {
		return ferry.Errorf(ferry.Invalid, "tuning: a parameter has no name: give each parameter a name")
	}
	switch p.Type {
	case Double, Int:
		if len(p.Values) > 0 {
			return bad("a %s parameter takes min and max, not a list of values: use type discrete or categorical for a list", p.Type)
		}
		if math.IsNaN(p.Min) || math.IsNaN(p.Max) || math.IsInf(p.Min, 0) || math.IsInf(p.Max, 0) {
			return bad("min and max must be finite numbers, got [%v, %v]", p.Min, p.Max)
		}
		if p.Min >= p.Max {
			if p.Min == p.Max {
				return bad("the range [%v, %v] is empty: make max greater than min (for a fixed value, leave the parameter out)", p.Min, p.Max)
			}
			return bad("the range is inverted (min %v > max %v): swap min and max", p.Min, p.Max)
		}
		if p.Step < 0 || math.IsNaN(p.Step) {
			return bad("step must be positive, got %v", p.Step)
		}
		if p.Step > p.Max-p.Min {
			return bad("step %v is larger than the range [%v, %v]: use a smaller step", p.Step, p.Min, p.Max)
		}
		if p.Type == Int {
			for _, x := range []float64{p.Min, p.Max, p.Step} {
				if x != math.Trunc(x) {
					return bad("an int parameter needs whole min, max and step, got min %v, max %v, step %v: round them or use type double", p.Min, p.Max, p.Step)
				}
			}
		}
		switch p.Distribution {
		case "", Uniform, Normal:
		case LogUniform, LogNormal:
			if p.Min <= 0 {
				return bad("a %s distribution needs min > 0, got %v: raise min or use distribution uniform", p.Distribution, p.Min)
			}
		default:
			return bad("unknown distribution %q: use one of uniform, logUniform, normal, logNormal", p.Distribution)
		}
	case Discrete, Categorical:
		if len(p.Values) == 0 {
			return bad("a %s parameter needs a list of values", p.Type)
		}
		if p.Min != 0 || p.Max != 0 || p.Step != 0 {
			return bad("a %s parameter takes a list of values, not min, max or step", p.Type)
		}
		if p.Distribution != "" && p.Distribution != Uniform {
			return bad("a distribution applies to double and int parameters only, not to %s", p.Type)
		}
		seen := map[string]bool{}
		nums := map[float64]string{}
		for _, v := range p.Values {
			if seen[v] {
				return bad("value %q is listed twice", v)
			}
			seen[v] = true
			if p.Type == Discrete {
				x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
					return bad("discrete value %q is not a number: use type categorical for strings", v)
				}
				if w, dup := nums[x]; dup {
					return bad("discrete values %q and %q are the same number", w, v)
				}
				nums[x] = v
			}
		}
	case "":
		return bad("no type: use one of double, int, discrete, categorical")
	default:
		return bad("unknown type %q: use one of double, int, discrete, categorical", p.Type)
	}
	return nil
}

// Space is a search space: the parameters of a study, in order.
type Space []Param

// Validate validates every parameter and refuses an empty space and
// duplicate names.
func (s Space) Validate() error {
	if len(s) == 0 {
		return ferry.Errorf(ferry.Invalid, "tuning: the search space has no parameters: add at least one")
	}
	seen := map[string]bool{}
	for _, p := range s {
		if err := p.Validate(); err != nil {
			return err
		}
		if seen[p.Name] {
			return ferry.Errorf(ferry.Invalid, "tuning: parameter %q is defined twice: give each parameter its own name", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// Index returns the position of the parameter named name, or -1.
func (s Space) Index(name string) int {
	for i, p := range s {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// Point is one value of every parameter of a space, in the space's order:
// the value of a double, int or discrete parameter, the index into Values
// of a categorical one.
type Point []float64

// Assignment is one parameter's value as Katib passes it: a string.
type Assignment struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Assignments formats p as Katib's parameter assignments.
func (s Space) Assignments(p Point) []Assignment {
	out := make([]Assignment, len(s))
	for i, prm := range s {
		out[i] = Assignment{Name: prm.Name, Value: prm.Format(p[i])}
	}
	return out
}

// Format formats one value of the parameter as its assignment: the list
// entry of a discrete or categorical parameter, a whole number for an int.
func (p Param) Format(x float64) string {
	switch p.Type {
	case Categorical:
		i := int(x)
		if i < 0 || i >= len(p.Values) {
			return ""
		}
		return p.Values[i]
	case Discrete:
		for _, v := range p.Values {
			if y, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && y == x {
				return v
			}
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case Int:
		return strconv.FormatInt(int64(math.Round(x)), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// ParseAssignments turns assignments back into a point. Every parameter of
// s must be assigned a value it can take; names s lacks are refused.
func (s Space) ParseAssignments(as []Assignment) (Point, error) {
	p := make(Point, len(s))
	set := make([]bool, len(s))
	for _, a := range as {
		i := s.Index(a.Name)
		if i < 0 {
			return nil, ferry.Errorf(ferry.Invalid, "tuning: assignment to %q, which is not a parameter of the search space", a.Name)
		}
		x, err := s[i].Parse(a.Value)
		if err != nil {
			return nil, err
		}
		p[i], set[i] = x, true
	}
	for i, ok := range set {
		if !ok {
			return nil, ferry.Errorf(ferry.Invalid, "tuning: no assignment to parameter %q", s[i].Name)
		}
	}
	return p, nil
}

// Parse parses one assignment's value; it must be a value the parameter can
// take.
func (p Param) Parse(v string) (float64, error) {
	switch p.Type {
	case Categorical:
		if i := slices.Index(p.Values, v); i >= 0 {
			return float64(i), nil
		}
		return 0, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %q is not one of %s", p.Name, v, strings.Join(p.Values, ", "))
	case Discrete:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err == nil && slices.Contains(p.numbers(), x) {
			return x, nil
		}
		return 0, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %q is not one of %s", p.Name, v, strings.Join(p.Values, ", "))
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %q is not a number", p.Name, v)
	}
	if x < p.Min || x > p.Max {
		return 0, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %v is outside [%v, %v]", p.Name, x, p.Min, p.Max)
	}
	if p.Type == Int && x != math.Trunc(x) {
		return 0, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %v is not a whole number", p.Name, x)
	}
	return x, nil
}

// ToUnit maps a value of the parameter to [0, 1]: linearly, through its
// log, or through the distribution's CDF; an int, discrete or categorical
// value to the middle of its cell (the values split [0, 1] into equal
// cells). FromUnit(ToUnit(x)) == x for every value the parameter takes.
func (p Param) ToUnit(x float64) float64 {
	switch p.Type {
	case Categorical:
		return (x + 0.5) / float64(len(p.Values))
	case Discrete:
		xs := p.numbers()
		i, _ := slices.BinarySearch(xs, x)
		return (float64(i) + 0.5) / float64(len(xs))
	case Int:
		if !p.logScale() && p.Distribution != Normal {
			n := p.Count()
			i := math.Round((x - p.Min) / p.step())
			return (i + 0.5) / float64(n)
		}
	}
	lo, hi, v := p.Min, p.Max, x
	if p.logScale() {
		lo, hi, v = math.Log(lo), math.Log(hi), math.Log(v)
	}
	switch p.Distribution {
	case Normal, LogNormal:
		return truncNormalCDF(v, lo, hi)
	}
	return clamp01((v - lo) / (hi - lo))
}

// FromUnit maps u in [0, 1] to a value of the parameter (the inverse of
// ToUnit): an int is rounded to its step, a discrete or categorical
// parameter takes the value of the cell u falls in.
func (p Param) FromUnit(u float64) float64 {
	u = clamp01(u)
	switch p.Type {
	case Categorical:
		return float64(cell(u, len(p.Values)))
	case Discrete:
		return p.numbers()[cell(u, len(p.Values))]
	case Int:
		if !p.logScale() && p.Distribution != Normal {
			return p.Min + float64(cell(u, p.Count()))*p.step()
		}
	}
	lo, hi := p.Min, p.Max
	if p.logScale() {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	var v float64
	switch p.Distribution {
	case Normal, LogNormal:
		v = truncNormalQuantile(u, lo, hi)
	default:
		v = lo + u*(hi-lo)
	}
	if p.logScale() {
		v = math.Exp(v)
	}
	v = math.Min(math.Max(v, p.Min), p.Max)
	if p.Type == Int {
		s := p.step()
		v = p.Min + math.Round((v-p.Min)/s)*s
		if v > p.Max {
			v -= s
		}
	}
	return v
}

// cell returns the index of the cell of [0,1] split into n that u falls in.
func cell(u float64, n int) int {
	return min(int(u*float64(n)), n-1)
}

func clamp01(u float64) float64 {
	if math.IsNaN(u) {
		return 0.5
	}
	return math.Min(math.Max(u, 0), 1)
}

// The normal distributions: mean the middle of [lo, hi], standard
// deviation a sixth of its width, truncated to it.
func truncNormalCDF(x, lo, hi float64) float64 {
	mu, sd := (lo+hi)/2, (hi-lo)/6
	phi := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	a, b := phi((lo-mu)/sd), phi((hi-mu)/sd)
	return clamp01((phi((x-mu)/sd) - a) / (b - a))
}

func truncNormalQuantile(u, lo, hi float64) float64 {
	mu, sd := (lo+hi)/2, (hi-lo)/6
	phi := func(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
	a, b := phi((lo-mu)/sd), phi((hi-mu)/sd)
	q := a + u*(b-a)
	z := -math.Sqrt2 * math.Erfcinv(2*q)
	return math.Min(math.Max(mu+sd*z, lo), hi)
}

// ToUnit maps a point to the unit cube, parameter by parameter.
func (s Space) ToUnit(p Point) []float64 {
	u := make([]float64, len(s))
	for i, prm := range s {
		u[i] = prm.ToUnit(p[i])
	}
	return u
}

// FromUnit maps a point of the unit cube to the space.
func (s Space) FromUnit(u []float64) Point {
	p := make(Point, len(s))
	for i, prm := range s {
		p[i] = prm.FromUnit(u[i])
	}
	return p
}

// Sample draws a point from the space's distributions (uniform over the
// cube, mapped by FromUnit).
func (s Space) Sample(rng *rand.Rand) Point {
	u := make([]float64, len(s))
	for i := range u {
		u[i] = rng.Float64()
	}
	return s.FromUnit(u)
}

// Key returns a string that identifies p's values in s (two points with
// the same key are the same trial): the assignments joined.
func (s Space) Key(p Point) string {
	var b strings.Builder
	for i, a := range s.Assignments(p) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Name)
		b.WriteByte('=')
		b.WriteString(a.Value)
	}
	return b.String()
}

// ParseParam parses a parameter written as NAME=TYPE:SPEC, the syntax of
// %%tune and `ferry tune`:
//
//	lr=double:0.0001:0.1:log     a double in [0.0001, 0.1] on a log scale
//	depth=int:2:10               an int in [2, 10]
//	trees=int:50:500:50          an int in [50, 500] by 50 (a 4th field :log for a log scale)
//	booster=categorical:gbtree,dart
//	batch=discrete:16,32,64
//
// The result is validated.
func ParseParam(s string) (Param, error) {
	name, rest, ok := strings.Cut(s, "=")
	typ, spec, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || name == "" {
		return Param{}, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: write NAME=TYPE:SPEC, e.g. lr=double:0.0001:0.1:log, depth=int:2:10, booster=categorical:gbtree,dart", s)
	}
	p := Param{Name: strings.TrimSpace(name), Type: ParamType(strings.ToLower(strings.TrimSpace(typ)))}
	switch p.Type {
	case Double, Int:
		fields := strings.Split(spec, ":")
		if n := len(fields); n > 0 && strings.EqualFold(fields[n-1], "log") {
			p.Distribution = LogUniform
			fields = fields[:n-1]
		}
		if len(fields) < 2 || len(fields) > 3 {
			return Param{}, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: a %s takes MIN:MAX[:STEP][:log], e.g. %s=%s:1:10", s, p.Type, p.Name, p.Type)
		}
		var nums [3]float64
		for i, f := range fields {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return Param{}, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: %q is not a number", s, f)
			}
			nums[i] = x
		}
		p.Min, p.Max, p.Step = nums[0], nums[1], nums[2]
	case Categorical, Discrete:
		for v := range strings.SplitSeq(spec, ",") {
			p.Values = append(p.Values, strings.TrimSpace(v))
		}
	default:
		return Param{}, ferry.Errorf(ferry.Invalid, "tuning: parameter %q: unknown type %q: use double, int, categorical or discrete", s, typ)
	}
	return p, p.Validate()
}
