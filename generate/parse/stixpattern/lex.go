// Package stixpattern parses the STIX 2.x patterning language (STIX 2.1 section 9, the OASIS
// ANTLR grammar STIXPattern.g4) into a syntax tree. It reads every pattern the grammar allows;
// what a pattern means for detection is for its caller to decide.
package stixpattern

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind is the lexical class of a token.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokKeyword
	tokString
	tokInt
	tokFloat
	tokBool
	tokHex
	tokBinary
	tokTimestamp
	tokOp // = == != <> < <= > >=
	tokLBrack
	tokRBrack
	tokLParen
	tokRParen
	tokColon
	tokDot
	tokComma
	tokAsterisk
)

// keywords are reserved words: upper case only, as the grammar spells them.
var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUPERSET": true, "ISSUBSET": true, "EXISTS": true, "LAST": true, "IN": true, "START": true,
	"STOP": true, "SECONDS": true, "WITHIN": true, "REPEATS": true, "TIMES": true,
}

type token struct {
	kind tokenKind
	text string // the source text; a string literal's decoded value
	pos  int    // byte offset in the pattern
}

// lexer splits a pattern into tokens.
type lexer struct {
	src  string
	pos  int
	prev tokenKind
}

// Error is a syntax error at a byte offset of the pattern.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

func (l *lexer) errorf(at int, format string, args ...any) error {
	return &Error{Offset: at, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) next() (token, error) {
	if err := l.skipSpaceAndComments(); err != nil {
		return token{}, err
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	t, err := l.scan()
	if err != nil {
		return token{}, err
	}
	t.pos = start
	l.prev = t.kind
	return t, nil
}

func (l *lexer) scan() (token, error) {
	c := l.src[l.pos]
	rest := l.src[l.pos:]
	if kind, ok := map[byte]tokenKind{'[': tokLBrack, ']': tokRBrack, '(': tokLParen, ')': tokRParen,
		':': tokColon, ',': tokComma, '*': tokAsterisk}[c]; ok {
		l.pos++
		return token{kind: kind, text: string(c)}, nil
	}
	for _, op := range []string{"==", "!=", "<>", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			l.pos += len(op)
			return token{kind: tokOp, text: op}, nil
		}
	}
	switch {
	case c == '\'':
		return l.stringLiteral()
	case len(rest) > 1 && rest[1] == '\'' && (c == 'h' || c == 'b' || c == 't'):
		return l.typedLiteral(c)
	case isDigit(c) || (c == '+' || c == '-') && len(rest) > 1 && (isDigit(rest[1]) || rest[1] == '.'):
		return l.number()
	case c == '.' && len(rest) > 1 && isDigit(rest[1]) && !l.afterPathPart():
		return l.number()
	case c == '.':
		l.pos++
		return token{kind: tokDot, text: "."}, nil
	case isIdentStart(c):
		end := l.pos + 1
		for end < len(l.src) && (isIdentStart(l.src[end]) || isDigit(l.src[end]) || l.src[end] == '-') {
			end++
		}
		word := l.src[l.pos:end]
		l.pos = end
		switch {
		case keywords[word]:
			return token{kind: tokKeyword, text: word}, nil
		case word == "true" || word == "false":
			return token{kind: tokBool, text: word}, nil
		}
		return token{kind: tokIdent, text: word}, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return token{}, l.errorf(l.pos, "unexpected character %q", r)
}

// afterPathPart says whether a dot here steps into an object path (file:hashes.MD5) rather
// than starting a number (.5).
func (l *lexer) afterPathPart() bool {
	return l.prev == tokIdent || l.prev == tokString || l.prev == tokRBrack
}

func (l *lexer) skipSpaceAndComments() error {
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		switch {
		case unicode.IsSpace(r) || r == '\u200b':
			l.pos += size
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errorf(l.pos, "comment without its closing */")
			}
			l.pos += end + 4
		case strings.HasPrefix(l.src[l.pos:], "//"):
			end := strings.IndexAny(l.src[l.pos:], "\r\n")
			if end < 0 {
				end = len(l.src) - l.pos
			}
			l.pos += end
		default:
			return nil
		}
	}
	return nil
}

// stringLiteral reads '…' where only \' and \\ are escapes.
func (l *lexer) stringLiteral() (token, error) {
	start := l.pos
	var b strings.Builder
	for i := l.pos + 1; i < len(l.src); i++ {
		switch c := l.src[i]; c {
		case '\'':
			l.pos = i + 1
			return token{kind: tokString, text: b.String()}, nil
		case '\\':
			if i+1 >= len(l.src) || (l.src[i+1] != '\'' && l.src[i+1] != '\\') {
				return token{}, l.errorf(i, `invalid escape in a string: only \' and \\ are allowed`)
			}
			b.WriteByte(l.src[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return token{}, l.errorf(start, "string without its closing quote")
}

// typedLiteral reads h'hex', b'base64' and t'timestamp'.
func (l *lexer) typedLiteral(prefix byte) (token, error) {
	start := l.pos
	end := strings.IndexByte(l.src[l.pos+2:], '\'')
	if end < 0 {
		return token{}, l.errorf(start, "%c'…' literal without its closing quote", prefix)
	}
	body := l.src[l.pos+2 : l.pos+2+end]
	l.pos += end + 3
	switch prefix {
	case 'h':
		if len(body)%2 != 0 || strings.IndexFunc(body, func(r rune) bool { return !isHexDigit(r) }) >= 0 {
			return token{}, l.errorf(start, "hex literal h'%s': want pairs of hex digits", body)
		}
		return token{kind: tokHex, text: body}, nil
	case 'b':
		if !validBase64(body) {
			return token{}, l.errorf(start, "binary literal b'%s': want base64", body)
		}
		return token{kind: tokBinary, text: body}, nil
	}
	if !timestampLiteral.MatchString(body) {
		return token{}, l.errorf(start, "timestamp literal t'%s': want YYYY-MM-DDTHH:MM:SS[.s]Z", body)
	}
	return token{kind: tokTimestamp, text: body}, nil
}

func (l *lexer) number() (token, error) {
	start := l.pos
	end := l.pos
	if l.src[end] == '+' || l.src[end] == '-' {
		end++
	}
	digits := func() int {
		n := 0
		for end < len(l.src) && isDigit(l.src[end]) {
			end++
			n++
		}
		return n
	}
	intDigits := digits()
	kind := tokInt
	if end < len(l.src) && l.src[end] == '.' {
		end++
		if digits() == 0 {
			return token{}, l.errorf(start, "number %q: want digits after the point", l.src[start:end])
		}
		kind = tokFloat
	} else if intDigits > 1 && l.src[start+len(l.src[start:end])-intDigits] == '0' {
		return token{}, l.errorf(start, "integer %q: no leading zeros", l.src[start:end])
	}
	l.pos = end
	return token{kind: kind, text: l.src[start:end]}, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHexDigit(r rune) bool   { return r < 128 && strings.ContainsRune("0123456789abcdefABCDEF", r) }

func validBase64(s string) bool {
	if len(s) == 0 || len(s)%4 != 0 {
		return false
	}
	body := strings.TrimRight(s, "=")
	if len(s)-len(body) > 2 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(isIdentStart(c) && c != '_' || isDigit(c) || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
