package parse

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rulegen/rulegen/generate/internal/safefs"
	"github.com/rulegen/rulegen/generate/report"
)

// CSV and TSV files with a header row, as vendors export indicators: a value column and a type
// column found by name (value, indicator, ioc, data; type, entity_type, indicator_type), the
// other columns description (note, comment), dates (first seen) or values of their own kind
// (a SHA256 and a file name column: one row is one sample). A row typed "description" or
// "reference" holds the report's link and title rather than an indicator.

// readCSV reads a CSV strictly, and again with bare quotes allowed (5" floppy) when those are
// its only flaw; an unterminated quoted field is an error naming its line.
func readCSV(name string, data []byte) (*part, error) {
	p, err := readCSVQuotes(name, data, false)
	if errors.Is(err, csv.ErrBareQuote) {
		return readCSVQuotes(name, data, true)
	}
	return p, err
}

func readCSVQuotes(name string, data []byte, lazy bool) (*part, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	rd := csv.NewReader(bytes.NewReader(data))
	rd.Comma = delimiter(name, data)
	rd.FieldsPerRecord = -1
	rd.LazyQuotes = lazy
	c := newCollector(name, FormatCSV)
	p := &part{r: c.r}
	rows := &sheetReader{c: c, p: p, sep: string(rd.Comma)}
	for {
		record, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return nil, &InputError{Pos: report.Pos{File: name, Line: perr.StartLine}, Msg: perr.Err.Error(), err: perr.Err}
			}
			return nil, inputError(report.Pos{File: name}, "%v", err)
		}
		line, _ := rd.FieldPos(0)
		if err := rows.row(report.Pos{File: name, Line: line}, record); err != nil {
			return nil, err
		}
	}
	if !rows.started() {
		return nil, inputError(report.Pos{File: name, Line: 1}, "empty CSV: no header row")
	}
	p.seen, p.mentioned = c.seen, datesIn(string(data))
	return p, nil
}

// sheetReader reads the rows of a table a row at a time, a CSV file's or a spreadsheet's
// sheet's: the first that is not blank is its header, or its first row of values when it
// names no column.
type sheetReader struct {
	c          *collector
	p          *part
	sep        string // what joins a row's cells when an error quotes it
	cols       []meaning
	headerless bool
	titles     int // rows of one cell above the header (a spreadsheet's title), passed over
}

// maxTitleRows is how many rows of one cell may stand above a table's header.
const maxTitleRows = 3

func (s *sheetReader) started() bool { return s.cols != nil || s.headerless }

func (s *sheetReader) row(pos report.Pos, record []string) error {
	switch {
	case blankRecord(record):
	case s.headerless:
		headerlessRow(s.c, pos, record)
	case s.cols == nil:
		if s.cols = headerMeanings(record); s.cols == nil {
			if !rowHasValues(record) && filledCells(record) == 1 && s.titles < maxTitleRows {
				s.titles++ // "Kite campaign IOCs" above the header
				return nil
			}
			if !rowHasValues(record) {
				return &InputError{Pos: pos, err: ErrNoIndicators, Msg: fmt.Sprintf("no header naming a value column (value, indicator, ioc, data, observable, or a kind such as sha256, domain, url), and no value in its first row: %q", safefs.Prefix(strings.Join(record, s.sep), quotedBytes))}
			}
			s.headerless = true // values from the first row: a list without a header
			headerlessRow(s.c, pos, record)
		}
	default:
		if title, ok := describes(s.cols, record, s.c, pos); ok {
			if s.p.title == "" {
				s.p.title = title
			}
			return nil
		}
		s.c.tableRow(pos, s.cols, record)
	}
	return nil
}

// describes reads a row whose type is "description" or "reference" (Description,<url>,<text>):
// the link is the report's reference, the text its title. ok is false for other rows.
func describes(cols []meaning, record []string, c *collector, pos report.Pos) (string, bool) {
	for i, m := range cols {
		if m.role != roleKind || i >= len(record) {
			continue
		}
		switch meaningOf(record[i]).role {
		case roleComment, roleReference:
		default:
			return "", false
		}
		var text []string
		for j, cell := range record {
			if j == i {
				continue
			}
			if links := referenceLinks(cell); len(links) > 0 {
				for _, l := range links {
					c.reference(pos, l)
				}
			} else if strings.TrimSpace(cell) != "" {
				text = append(text, strings.TrimSpace(cell))
			}
		}
		return strings.Join(text, " "), true
	}
	return "", false
}

// delimiter is a tab for .tsv files and for a header holding more tabs than commas; ";" for
// a header with semicolons and no commas (a European spreadsheet's export).
func delimiter(name string, data []byte) rune {
	header, _, _ := bytes.Cut(data, []byte("\n"))
	tabs, commas, semis := bytes.Count(header, []byte("\t")), bytes.Count(header, []byte(",")), bytes.Count(header, []byte(";"))
	switch {
	case strings.EqualFold(extOf(name), ".tsv") || tabs > commas:
		return '\t'
	case commas == 0 && semis > 0:
		return ';'
	}
	return ','
}

// filledCells counts the cells of a row that hold something.
func filledCells(record []string) int {
	n := 0
	for _, f := range record {
		if strings.TrimSpace(f) != "" {
			n++
		}
	}
	return n
}

func blankRecord(record []string) bool {
	for _, f := range record {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// rowHasValues says whether a row states a value in any cell (a CSV without a header).
func rowHasValues(record []string) bool {
	for _, cell := range record {
		if _, ok := valueOf(cell); ok {
			return true
		}
	}
	return false
}

// headerlessRow reads a row of a CSV without a header: each cell that is a value is one, typed
// by its shape; the other cells describe them.
func headerlessRow(c *collector, pos report.Pos, record []string) {
	var vals []typed
	var comments []string
	for _, cell := range record {
		if v, ok := valueOf(cell); ok {
			vals = append(vals, v)
		} else if cell = strings.TrimSpace(cell); cell != "" {
			comments = append(comments, cell)
		}
	}
	for _, v := range vals {
		c.value(pos, v, strings.Join(comments, "; "), report.Seen{})
	}
}
