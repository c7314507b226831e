package parse

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Spreadsheets (.xlsx, Office Open XML) as vendors attach their indicators: each sheet is a
// table read as a CSV file is, its first row the header. Cells are read as their text: shared
// strings, inline strings and numbers as written (a date cell is its serial number, and says
// nothing). A spreadsheet is a zip archive and untrusted: every part is read up to a limit, and
// one past it is an error, not an archive unpacked into memory.

// maxSheetPart is the most of one part of a spreadsheet read (a sheet, its shared strings).
const maxSheetPart = 64 << 20

// maxSheetColumns is the most columns a sheet's table may have: cells are placed by their
// column, and a sheet of rows with one cell at the format's last column (XFD) would make
// every row 16,384 cells.
const maxSheetColumns = 1024

// IsXLSX says whether data (a file's first bytes) is a zip archive holding a workbook.
func IsXLSX(data []byte) bool {
	return bytes.HasPrefix(data, []byte("PK\x03\x04")) && bytes.Contains(data[:min(len(data), 64<<10)], []byte("xl/"))
}

type xlsxBook struct {
	zip     *zip.Reader
	name    string
	strings []string
}

func readXLSX(name string, data []byte) (*part, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, inputError(report.Pos{File: name}, "not a spreadsheet (xlsx): %v", err)
	}
	b := &xlsxBook{zip: zr, name: name}
	sheets, err := b.sheets()
	if err != nil {
		return nil, err
	}
	if b.strings, err = b.sharedStrings(); err != nil {
		return nil, err
	}
	c := newCollector(name, FormatXLSX)
	p := &part{r: c.r}
	var text strings.Builder // what the cells say, for the dates they mention
	for _, sh := range sheets {
		rows := &sheetReader{c: c, p: p, sep: " | "}
		err := b.eachRow(sh.target, func(n int, cells []string) error {
			text.WriteString(strings.Join(cells, " ") + "\n")
			return rows.row(report.Pos{File: name, Line: n, Path: sh.name}, cells)
		})
		if err != nil && !errors.Is(err, ErrNoIndicators) {
			return nil, err // a sheet of notes beside the indicators' is passed over
		}
	}
	p.seen, p.mentioned = c.seen, datesIn(text.String())
	return p, nil
}

type xlsxSheet struct{ name, target string }

// sheets lists the workbook's sheets in order, each with its part's path.
func (b *xlsxBook) sheets() ([]xlsxSheet, error) {
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := b.decode("xl/workbook.xml", &wb); err != nil {
		return nil, err
	}
	if err := b.decode("xl/_rels/workbook.xml.rels", &rels); err != nil {
		return nil, err
	}
	targets := map[string]string{}
	for _, r := range rels.Rels {
		t := r.Target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(t, "/")
		} else {
			t = path.Join("xl", t)
		}
		targets[r.ID] = t
	}
	var out []xlsxSheet
	for _, s := range wb.Sheets {
		if t, ok := targets[s.ID]; ok {
			out = append(out, xlsxSheet{name: s.Name, target: t})
		}
	}
	return out, nil
}

// sharedStrings are the workbook's strings, which cells of type "s" name by index.
func (b *xlsxBook) sharedStrings() ([]string, error) {
	var sst struct {
		Items []struct {
			T    string `xml:"t"`
			Runs []struct {
				T string `xml:"t"`
			} `xml:"r"`
		} `xml:"si"`
	}
	if b.file("xl/sharedStrings.xml") == nil {
		return nil, nil
	}
	if err := b.decode("xl/sharedStrings.xml", &sst); err != nil {
		return nil, err
	}
	out := make([]string, len(sst.Items))
	for i, si := range sst.Items {
		text := si.T
		for _, r := range si.Runs {
			text += r.T
		}
		out[i] = text
	}
	return out, nil
}

// eachRow hands each row of a sheet to fn, its cells placed by their columns (a row that
// skips column B has an empty cell there).
func (b *xlsxBook) eachRow(part string, fn func(n int, cells []string) error) error {
	var sheet struct {
		Rows []struct {
			R     int `xml:"r,attr"`
			Cells []struct {
				Ref    string `xml:"r,attr"`
				Type   string `xml:"t,attr"`
				Value  string `xml:"v"`
				Inline string `xml:"is>t"`
			} `xml:"c"`
		} `xml:"sheetData>row"`
	}
	if err := b.decode(part, &sheet); err != nil {
		return err
	}
	for i, row := range sheet.Rows {
		n := row.R
		if n <= 0 {
			n = i + 1
		}
		var cells []string
		for j, c := range row.Cells {
			col := columnOf(c.Ref, j)
			if col >= maxSheetColumns {
				return inputError(report.Pos{File: b.name, Line: n}, "cell %q: past column %d, more than a table of indicators has", c.Ref, maxSheetColumns)
			}
			for len(cells) < col {
				cells = append(cells, "")
			}
			cells = append(cells, b.cellText(c.Type, c.Value, c.Inline))
		}
		if err := fn(n, cells); err != nil {
			return err
		}
	}
	return nil
}

func (b *xlsxBook) cellText(typ, value, inline string) string {
	switch typ {
	case "s":
		if i, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && i >= 0 && i < len(b.strings) {
			return b.strings[i]
		}
		return ""
	case "inlineStr":
		return inline
	}
	return value
}

// columnOf is the 0-based column of a cell reference (C7 is 2); the cell's index in its row
// when the reference gives none.
func columnOf(ref string, index int) int {
	col := 0
	letters := 0
	for _, r := range ref {
		if r < 'A' || r > 'Z' || letters == 3 {
			break
		}
		col = col*26 + int(r-'A'+1)
		letters++
	}
	if letters == 0 {
		return index
	}
	return col - 1
}

func (b *xlsxBook) file(name string) *zip.File {
	for _, f := range b.zip.File {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// decode reads one XML part of the spreadsheet into v, up to maxSheetPart bytes.
func (b *xlsxBook) decode(name string, v any) error {
	f := b.file(name)
	if f == nil {
		return inputError(report.Pos{File: b.name}, "not a spreadsheet (xlsx): no %s", name)
	}
	rc, err := f.Open()
	if err != nil {
		return inputError(report.Pos{File: b.name}, "%s: %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxSheetPart+1))
	if err != nil {
		return inputError(report.Pos{File: b.name}, "%s: %v", name, err)
	}
	if len(data) > maxSheetPart {
		return inputError(report.Pos{File: b.name}, "%s: more than %d MiB uncompressed", name, maxSheetPart>>20)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return inputError(report.Pos{File: b.name}, "%s: %v", name, fmt.Errorf("not XML: %w", err))
	}
	return nil
}
