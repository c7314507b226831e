package stixpattern

import (
	"strconv"
	"strings"
)

// MaxDepth bounds the nesting of brackets and parentheses, so that a hostile pattern fails
// with an error instead of exhausting the stack.
const MaxDepth = 100

// Parse reads a STIX pattern. Precedence follows the grammar: in an observation, AND binds
// tighter than OR; between observations, AND than OR, and OR than FOLLOWEDBY; qualifiers bind
// to the observation expression they follow.
func Parse(pattern string) (*Pattern, error) {
	p := &parser{lex: lexer{src: pattern}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	expr, err := p.observations()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("AND, OR, FOLLOWEDBY, a qualifier or the end")
	}
	return &Pattern{Observations: expr}, nil
}

type parser struct {
	lex   lexer
	tok   token
	depth int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) unexpected(want string) error {
	got := strconv.Quote(p.tok.text)
	if p.tok.kind == tokEOF {
		got = "the end"
	}
	return p.lex.errorf(p.tok.pos, "want %s, got %s", want, got)
}

func (p *parser) isKeyword(word string) bool { return p.tok.kind == tokKeyword && p.tok.text == word }

// expect consumes a token of kind (and text, if given).
func (p *parser) expect(kind tokenKind, text, want string) (token, error) {
	t := p.tok
	if t.kind != kind || text != "" && t.text != text {
		return t, p.unexpected(want)
	}
	return t, p.advance()
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.lex.errorf(p.tok.pos, "nested more than %d deep", MaxDepth)
	}
	return nil
}

// joined parses operands separated by the keyword op, left to right.
func joined[T any](p *parser, op string, operand func() (T, error), join func([]T) T) (T, error) {
	first, err := operand()
	if err != nil || !p.isKeyword(op) {
		return first, err
	}
	terms := []T{first}
	for p.isKeyword(op) {
		if err := p.advance(); err != nil {
			return first, err
		}
		next, err := operand()
		if err != nil {
			return first, err
		}
		terms = append(terms, next)
	}
	return join(terms), nil
}

func (p *parser) observations() (Expr, error) {
	return joined(p, "FOLLOWEDBY", p.observationOr, func(t []Expr) Expr { return Join{Op: "FOLLOWEDBY", Terms: t} })
}

func (p *parser) observationOr() (Expr, error) {
	return joined(p, "OR", p.observationAnd, func(t []Expr) Expr { return Join{Op: "OR", Terms: t} })
}

func (p *parser) observationAnd() (Expr, error) {
	return joined(p, "AND", p.qualified, func(t []Expr) Expr { return Join{Op: "AND", Terms: t} })
}

func (p *parser) qualified() (Expr, error) {
	expr, err := p.observation()
	for err == nil && p.tok.kind == tokKeyword {
		var q string
		switch p.tok.text {
		case "START":
			q, err = p.qualifier("START", tokTimestamp, "STOP", tokTimestamp)
		case "WITHIN":
			q, err = p.qualifier("WITHIN", tokInt, "SECONDS", tokEOF)
		case "REPEATS":
			q, err = p.qualifier("REPEATS", tokInt, "TIMES", tokEOF)
		default:
			return expr, nil
		}
		expr = Qualified{Expr: expr, Qualifier: q}
	}
	return expr, err
}

// qualifier reads KEYWORD value KEYWORD [value] and writes it back as text.
func (p *parser) qualifier(first string, value tokenKind, second string, last tokenKind) (string, error) {
	parts := []string{first}
	if err := p.advance(); err != nil {
		return "", err
	}
	read := func(kind tokenKind) error {
		t := p.tok
		ok := t.kind == kind || kind == tokInt && t.kind == tokFloat && first == "WITHIN"
		if !ok || strings.HasPrefix(t.text, "-") {
			return p.unexpected("a positive number or a t'…' timestamp after " + first)
		}
		if kind == tokTimestamp {
			parts = append(parts, "t'"+t.text+"'")
		} else {
			parts = append(parts, t.text)
		}
		return p.advance()
	}
	if err := read(value); err != nil {
		return "", err
	}
	if _, err := p.expect(tokKeyword, second, second); err != nil {
		return "", err
	}
	parts = append(parts, second)
	if last != tokEOF {
		if err := read(last); err != nil {
			return "", err
		}
	}
	return strings.Join(parts, " "), nil
}

func (p *parser) observation() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch p.tok.kind {
	case tokLBrack:
		if err := p.advance(); err != nil {
			return nil, err
		}
		test, err := p.tests()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRBrack, "", "] or AND or OR"); err != nil {
			return nil, err
		}
		return Observation{Test: test}, nil
	case tokLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		expr, err := p.observations()
		if err != nil {
			return nil, err
		}
		_, err = p.expect(tokRParen, "", ")")
		return expr, err
	}
	return nil, p.unexpected("[ or (")
}

func (p *parser) tests() (Test, error) {
	return joined(p, "OR", p.testAnd, func(t []Test) Test { return TestJoin{Op: "OR", Terms: t} })
}

func (p *parser) testAnd() (Test, error) {
	return joined(p, "AND", p.propTest, func(t []Test) Test { return TestJoin{Op: "AND", Terms: t} })
}

func (p *parser) propTest() (Test, error) {
	if p.tok.kind == tokLParen {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.tests()
		if err != nil {
			return nil, err
		}
		_, err = p.expect(tokRParen, "", ")")
		return t, err
	}
	not := p.isKeyword("NOT")
	if not {
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.isKeyword("EXISTS") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		path, err := p.path()
		return Exists{Path: path, Not: not}, err
	}
	if not {
		return nil, p.unexpected("EXISTS after a leading NOT")
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	if p.isKeyword("NOT") {
		not = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return p.comparison(path, not)
}

func (p *parser) comparison(path Path, not bool) (Test, error) {
	c := Comparison{Path: path, Not: not, Op: p.tok.text}
	switch {
	case p.tok.kind == tokOp:
		c.Op = map[string]string{"==": "=", "<>": "!="}[p.tok.text]
		if c.Op == "" {
			c.Op = p.tok.text
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		lit, err := p.literal(c.Op == "=" || c.Op == "!=")
		c.Values = []Literal{lit}
		return c, err
	case p.isKeyword("IN"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		set, err := p.set()
		c.Values = set
		return c, err
	case p.isKeyword("LIKE"), p.isKeyword("MATCHES"), p.isKeyword("ISSUBSET"), p.isKeyword("ISSUPERSET"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		t, err := p.expect(tokString, "", "a string after "+c.Op)
		c.Values = []Literal{{Kind: String, Value: t.text}}
		return c, err
	}
	return nil, p.unexpected("a comparison operator (=, !=, <, >, IN, LIKE, MATCHES, …) after " + path.String())
}

var literalKinds = map[tokenKind]LiteralKind{tokString: String, tokInt: Int, tokFloat: Float, tokBool: Bool,
	tokHex: Hex, tokBinary: Binary, tokTimestamp: Timestamp}

// literal reads a constant; only = and != compare with a boolean.
func (p *parser) literal(boolOK bool) (Literal, error) {
	kind, ok := literalKinds[p.tok.kind]
	if !ok || kind == Bool && !boolOK {
		return Literal{}, p.unexpected("a constant")
	}
	lit := Literal{Kind: kind, Value: p.tok.text}
	return lit, p.advance()
}

func (p *parser) set() ([]Literal, error) {
	if _, err := p.expect(tokLParen, "", "( after IN"); err != nil {
		return nil, err
	}
	var set []Literal
	for p.tok.kind != tokRParen {
		if len(set) > 0 {
			if _, err := p.expect(tokComma, "", ", or )"); err != nil {
				return nil, err
			}
		}
		lit, err := p.literal(true)
		if err != nil {
			return nil, err
		}
		set = append(set, lit)
	}
	return set, p.advance()
}

// path reads type:first(.key|[index])*.
func (p *parser) path() (Path, error) {
	typ, err := p.expect(tokIdent, "", "an object path such as file:name")
	if err != nil {
		return Path{}, err
	}
	if _, err := p.expect(tokColon, "", ": after the object type "+typ.text); err != nil {
		return Path{}, err
	}
	path := Path{Type: typ.text}
	first, err := p.key()
	if err != nil {
		return path, err
	}
	path.Steps = append(path.Steps, first)
	for {
		switch p.tok.kind {
		case tokDot:
			if err := p.advance(); err != nil {
				return path, err
			}
			step, err := p.key()
			if err != nil {
				return path, err
			}
			path.Steps = append(path.Steps, step)
		case tokLBrack:
			step, err := p.index()
			if err != nil {
				return path, err
			}
			path.Steps = append(path.Steps, step)
		default:
			return path, nil
		}
	}
}

// key reads a property name: an identifier without hyphens, or a quoted string.
func (p *parser) key() (Step, error) {
	t := p.tok
	if t.kind == tokString || t.kind == tokIdent && !strings.Contains(t.text, "-") {
		return Step{Key: t.text}, p.advance()
	}
	return Step{}, p.unexpected("a property name (hyphens need quotes: hashes.'SHA-256')")
}

func (p *parser) index() (Step, error) {
	if err := p.advance(); err != nil {
		return Step{}, err
	}
	step := Step{IsIndex: true}
	switch p.tok.kind {
	case tokAsterisk:
		step.Any = true
	case tokInt:
		n, err := strconv.Atoi(strings.TrimPrefix(p.tok.text, "+"))
		if err != nil {
			return step, p.unexpected("a list index")
		}
		step.Index = n
	default:
		return step, p.unexpected("a list index or *")
	}
	if err := p.advance(); err != nil {
		return step, err
	}
	_, err := p.expect(tokRBrack, "", "]")
	return step, err
}
