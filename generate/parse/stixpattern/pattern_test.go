package stixpattern

import (
	"errors"
	"strings"
	"testing"
)

// The patterns of the STIX 2.1 specification's examples (section 9.9 and the object
// sections), each with what the parse must show.
func TestSpecificationExamples(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    string // the tree, written by dump
	}{
		{`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
			`[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`},
		{`[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']`,
			`[AND(email-message:from_ref.value MATCHES '.+\\@example\\.com$', email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$')]`},
		{`[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']`,
			`AND([OR(file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c', file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f')], [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'])`},
		{`[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] WITHIN 300 SECONDS`,
			`FOLLOWEDBY([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'], {[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] WITHIN 300 SECONDS})`},
		{`[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS`,
			`{{[AND(network-traffic:dst_ref.type = 'domain-name', network-traffic:dst_ref.value = 'example.com')] REPEATS 5 TIMES} WITHIN 180 SECONDS}`},
		{`[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']`,
			`[AND(domain-name:value = 'www.5z8.info', domain-name:resolves_to_refs[*].value = '198.51.100.1/32')]`},
		{`[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]`,
			`[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]`},
		{`[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']`,
			`[AND(file:mime_type = 'image/bmp', file:magic_number_hex = h'ffd8')]`},
		{`[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']`,
			`[AND(OR(file:name = 'pdf.exe', file:size = '371712'), file:created = t'2014-01-13T07:03:17Z')]`},
		{`[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`,
			`[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']`},
		{`([file:name = 'foo.dll'] AND [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']`,
			`OR(AND([file:name = 'foo.dll'], [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']), [OR(process:name = 'fooproc', process:name = 'procfoo')])`},
		{`[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`,
			`{[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'}`},
		{`[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=' AND NOT EXISTS artifact:url]`,
			`[AND(artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=', NOT EXISTS artifact:url)]`},
		{`[ipv4-addr:value NOT IN ('198.51.100.1', '203.0.113.1') AND ipv4-addr:value != '10.0.0.1']`,
			`[AND(ipv4-addr:value NOT IN ('198.51.100.1', '203.0.113.1'), ipv4-addr:value != '10.0.0.1')]`},
		// Comments, == and <>, and a NOT before a comparison operator.
		{"/* c2 */ [x-example:flag == true // a line comment\n AND x-example:name NOT LIKE 'a%' AND x-example:n <> -3]",
			`[AND(x-example:flag = true, x-example:name NOT LIKE 'a%', x-example:n != -3)]`},
		// AND binds tighter than OR, on both levels.
		{`[a:x = 1 OR a:y = 2 AND a:z = 3] OR [b:x = 1] AND [c:x = 1] FOLLOWEDBY [d:x = 1]`,
			`FOLLOWEDBY(OR([OR(a:x = 1, AND(a:y = 2, a:z = 3))], AND([b:x = 1], [c:x = 1])), [d:x = 1])`},
	} {
		p, err := Parse(c.pattern)
		if err != nil {
			t.Errorf("Parse(%s): %v", c.pattern, err)
			continue
		}
		if got := dump(p.Observations); got != c.want {
			t.Errorf("Parse(%s)\n got %s\nwant %s", c.pattern, got, c.want)
		}
	}
}

// A string literal holds its decoded value; a quoted property key its name.
func TestLiteralsAndKeys(t *testing.T) {
	p, err := Parse(`[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Run' AND windows-registry-key:values[0].'na\'me' = 'it\'s']`)
	if err != nil {
		t.Fatal(err)
	}
	and := p.Observations.(Observation).Test.(TestJoin)
	key, value := and.Terms[0].(Comparison), and.Terms[1].(Comparison)
	if key.Values[0].Value != `HKEY_LOCAL_MACHINE\Run` || value.Values[0].Value != "it's" {
		t.Errorf("decoded strings: %q, %q", key.Values[0].Value, value.Values[0].Value)
	}
	if got := value.Path.Steps; len(got) != 3 || !got[1].IsIndex || got[1].Index != 0 || got[2].Key != "na'me" {
		t.Errorf("steps of %s: %+v", value.Path, got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct{ pattern, want string }{
		{``, "offset 0: want [ or (, got the end"},
		{`[file:name = 'x'`, "offset 16: want ] or AND or OR, got the end"},
		{`[file:name 'x']`, `offset 11: want a comparison operator`},
		{`[file:hashes.SHA-256 = 'x']`, `offset 13: want a property name (hyphens need quotes`},
		{`[file:name = 'x]`, "offset 13: string without its closing quote"},
		{`[file:name = 'a\d']`, `offset 15: invalid escape`},
		{`[file:size = 007]`, `offset 13: integer "007": no leading zeros`},
		{`[file:name = 'x'] WITHIN -5 SECONDS`, "offset 25: want a positive number"},
		{`[file:name = 'x'] START t'2016-13-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'`, "offset 24: timestamp literal"},
		{`[file:data = h'abc']`, "offset 13: hex literal h'abc'"},
		{`[file:data = b'abc']`, "offset 13: binary literal b'abc'"},
		{`[file:name > true]`, "offset 13: want a constant"},
		{`[file:name = 'x'] [file:name = 'y']`, "offset 18: want AND, OR, FOLLOWEDBY, a qualifier or the end"},
		{`[file:name = 'x'] and [file:name = 'y']`, `offset 18: want AND, OR, FOLLOWEDBY, a qualifier or the end, got "and"`},
		{`[file:name = 'x' ; ]`, `offset 17: unexpected character ';'`},
		{`[NOT file:name = 'x']`, "offset 5: want EXISTS after a leading NOT"},
		{`/* open`, "offset 0: comment without its closing */"},
		{strings.Repeat("(", MaxDepth+1) + `[a:b = 1]` + strings.Repeat(")", MaxDepth+1), "nested more than 100 deep"},
	} {
		_, err := Parse(c.pattern)
		var perr *Error
		if err == nil || !errors.As(err, &perr) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s) = %v, want an *Error with %q", c.pattern, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`[file:hashes.'SHA-256' = 'aec0' OR file:size IN (1, 2)] AND [a:b[*].c MATCHES 'x'] WITHIN 5 SECONDS`)
	f.Add(`([a:b = h'ff'] FOLLOWEDBY [c:d = t'2016-06-01T00:00:00Z']) REPEATS 2 TIMES`)
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Parse(pattern)
		if err == nil && p.Observations == nil {
			t.Fatal("a pattern without observations")
		}
		if err == nil {
			dump(p.Observations) // every node of the tree is of a known kind
		}
	})
}

// dump writes a tree compactly: [test] for an observation, OP(a, b) for joins,
// {expr qualifier} for qualified expressions.
func dump(node any) string {
	switch n := node.(type) {
	case Observation:
		return "[" + dump(n.Test) + "]"
	case Qualified:
		return "{" + dump(n.Expr) + " " + n.Qualifier + "}"
	case Join:
		return n.Op + "(" + dumpAll(n.Terms) + ")"
	case TestJoin:
		return n.Op + "(" + dumpAll(n.Terms) + ")"
	case Comparison:
		return n.String()
	case Exists:
		if n.Not {
			return "NOT EXISTS " + n.Path.String()
		}
		return "EXISTS " + n.Path.String()
	}
	panic("unknown node")
}

func dumpAll[T any](terms []T) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = dump(t)
	}
	return strings.Join(parts, ", ")
}
