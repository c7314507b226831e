package stixpattern

import (
	"regexp"
	"strconv"
	"strings"
)

// Pattern is a parsed STIX pattern.
type Pattern struct {
	Observations Expr
}

// Expr is an observation expression: an Observation, a Join of them, or a Qualified one.
type Expr interface{ isExpr() }

// Observation is one [comparison expression]: what a single observed object must show.
type Observation struct {
	Test Test
}

// Join combines observation expressions with AND, OR or FOLLOWEDBY, in order.
type Join struct {
	Op    string
	Terms []Expr
}

// Qualified is an observation expression with a qualifier: START t'…' STOP t'…',
// WITHIN n SECONDS or REPEATS n TIMES, written as the pattern writes it.
type Qualified struct {
	Expr      Expr
	Qualifier string
}

func (Observation) isExpr() {}
func (Join) isExpr()        {}
func (Qualified) isExpr()   {}

// Test is a comparison expression inside an observation: a Comparison, an Exists or a
// TestJoin of them.
type Test interface{ isTest() }

// TestJoin combines comparison expressions with AND or OR.
type TestJoin struct {
	Op    string
	Terms []Test
}

// Comparison tests an object's property: Op is one of = != < <= > >= IN LIKE MATCHES
// ISSUBSET ISSUPERSET (== and <> are read as = and !=). Values holds one literal, or the set
// of an IN.
type Comparison struct {
	Path   Path
	Not    bool
	Op     string
	Values []Literal
}

// Exists tests that an object has a property.
type Exists struct {
	Path Path
	Not  bool
}

func (TestJoin) isTest()   {}
func (Comparison) isTest() {}
func (Exists) isTest()     {}

// Path is an object path: an object type and the steps into its properties, such as
// file:hashes.'SHA-256' or windows-registry-key:values[*].name.
type Path struct {
	Type  string
	Steps []Step
}

// Step is one step of a path: a property key, or a list index (Any for [*]).
type Step struct {
	Key     string
	IsIndex bool
	Index   int
	Any     bool
}

// Property is the path without its object type, written canonically: keys that are not
// plain identifiers are quoted (hashes.'SHA-256'), indexes in brackets (values[*].name).
func (p Path) Property() string {
	var b strings.Builder
	for i, s := range p.Steps {
		switch {
		case s.IsIndex && s.Any:
			b.WriteString("[*]")
		case s.IsIndex:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			if plainKey.MatchString(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString("'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s.Key) + "'")
			}
		}
	}
	return b.String()
}

func (p Path) String() string { return p.Type + ":" + p.Property() }

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// LiteralKind is the type of a literal.
type LiteralKind int

// Literal kinds.
const (
	String LiteralKind = iota
	Int
	Float
	Bool
	Hex
	Binary
	Timestamp
)

// Literal is a constant of a comparison. Value is a string's decoded text, or the literal as
// written for the other kinds (a hex literal's digits, a timestamp's time).
type Literal struct {
	Kind  LiteralKind
	Value string
}

var timestampLiteral = regexp.MustCompile(`^\d{4}-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$`)

// String writes the literal as a pattern writes it.
func (l Literal) String() string {
	switch l.Kind {
	case String:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(l.Value) + "'"
	case Hex:
		return "h'" + l.Value + "'"
	case Binary:
		return "b'" + l.Value + "'"
	case Timestamp:
		return "t'" + l.Value + "'"
	}
	return l.Value
}

// String writes the comparison as a pattern writes it.
func (c Comparison) String() string {
	op := c.Op
	if c.Not {
		op = "NOT " + op
	}
	if c.Op != "IN" {
		return c.Path.String() + " " + op + " " + c.Values[0].String()
	}
	values := make([]string, len(c.Values))
	for i, v := range c.Values {
		values[i] = v.String()
	}
	return c.Path.String() + " " + op + " (" + strings.Join(values, ", ") + ")"
}
