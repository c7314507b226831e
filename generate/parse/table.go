package parse

import (
	"slices"
	"strings"

	"github.com/rulegen/rulegen/generate/report"
)

// Tables in documents: AsciiDoc's |=== blocks (a cell starts at each "|"; a line without one
// continues the cell before it) and Markdown's pipe tables (a header, a |---| line, a row a
// line). A header that names its columns (SHA-1, Filename, IP address, First seen) makes each
// row one object; a table without one is read cell by cell as lines under its heading.

// asciiDocTable reads the |=== block whose delimiter is lines[at]: its rows, each row's line,
// and the index of its closing delimiter (or of the last line).
func asciiDocTable(lines []string, at int) (rows [][]string, rowLines []int, end int) {
	var cells []string
	var cellLine []int
	cols := 0
	i := at + 1
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if isTableDelimiter(line) {
			break
		}
		if line == "" {
			continue
		}
		parts := splitCells(strings.TrimPrefix(line, "|"))
		if !strings.HasPrefix(line, "|") {
			// The line continues the cell before it, up to its first "|".
			if n := len(cells); n > 0 {
				cells[n-1] += "\n" + parts[0]
			}
			parts = parts[1:]
		} else if cols == 0 {
			cols = len(parts)
		}
		for _, p := range parts {
			cells = append(cells, p)
			cellLine = append(cellLine, i+1)
		}
	}
	end = min(i, len(lines)-1)
	if cols == 0 {
		return nil, nil, end
	}
	for i := 0; i+cols <= len(cells); i += cols {
		rows = append(rows, cells[i:i+cols])
		rowLines = append(rowLines, cellLine[i])
	}
	return rows, rowLines, end
}

// pipeTable reads the Markdown table whose header is lines[at]: its rows, each row's line, and
// the index of its last line.
func pipeTable(lines []string, at int) (rows [][]string, rowLines []int, end int) {
	rows, rowLines = [][]string{pipeCells(lines[at])}, []int{at + 1}
	i := at + 2
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "|") {
			break // the line after the table is read as any line
		}
		rows = append(rows, pipeCells(line))
		rowLines = append(rowLines, i+1)
	}
	return rows, rowLines, i - 1
}

// table reads rows whose first may be a header; lines are each row's line number.
func (d *docReader) table(rows [][]string, lines []int) {
	if len(rows) == 0 {
		return
	}
	cols := headerMeanings(rows[0])
	if cols == nil {
		m, comment := d.context()
		if isHeader(rows[0]) {
			rows, lines = rows[1:], lines[1:] // names of columns that hold no kind of value
		}
		for i, row := range rows {
			d.line = lines[i]
			for _, cell := range row {
				if !absent(cell) {
					d.item(cell, m, comment)
				}
			}
		}
		return
	}
	for i, row := range rows[1:] {
		d.c.tableRow(report.Pos{File: d.c.r.Source, Line: lines[i+1]}, cols, row)
	}
}

// isHeader says whether a row names columns: no cell of it holds a value.
func isHeader(row []string) bool {
	for _, cell := range row {
		if _, _, ok := lineValues(cell); ok {
			return false
		}
	}
	return true
}

// headerMeanings reads a table's header row: nil when it names no column of values (it is no
// header, or the table holds no indicators).
func headerMeanings(row []string) []meaning {
	cols := make([]meaning, len(row))
	values := false
	for i, cell := range row {
		if _, isValue := valueOf(cell); isValue {
			return nil
		}
		cols[i] = meaningOf(cleanCell(cell))
		switch spacedWords(cleanCell(cell)) {
		case "", "file", "files", "sample", "samples":
			// A column without a name, or one that holds a file by its hash or its name: its
			// values' shapes type them.
			cols[i] = meaning{role: roleNetwork}
		}
		switch cols[i].role {
		case roleType, roleHash, roleNetwork, roleValue:
			values = true
		}
	}
	if !values {
		return nil
	}
	indicatorNamesKind(row, cols)
	return cols
}

// indicatorNamesKind reads SophosLabs' "Indicator,Data,Notes": beside a value column, and
// without a type column, the column called indicator names each value's kind.
func indicatorNamesKind(row []string, cols []meaning) {
	valueCols := 0
	for _, m := range cols {
		switch m.role {
		case roleKind:
			return
		case roleValue:
			valueCols++
		}
	}
	for i, cell := range row {
		if name := spacedWords(cell); valueCols > 1 && (name == "indicator" || name == "ioc") {
			cols[i] = meaning{role: roleKind}
			return
		}
	}
}

// tableRow reads a row of a table with a header: a value and a type column (as CSV files
// have), or a column for each kind of value.
func (c *collector) tableRow(pos report.Pos, cols []meaning, cells []string) {
	valueCol, kindCol := -1, -1
	for i, m := range cols {
		switch {
		case m.role == roleValue && valueCol < 0:
			valueCol = i
		case m.role == roleKind && kindCol < 0:
			kindCol = i
		}
	}
	if valueCol < 0 {
		c.row(pos, cols, cells)
		return
	}
	// One value a row, typed by the type column (or by its shape), described by the rest.
	row := slices.Clone(cols)
	row[valueCol] = meaning{}
	if kindCol >= 0 && kindCol < len(cells) {
		row[valueCol] = kindMeaning(cells[kindCol])
	}
	if row[valueCol].role == roleNone || row[valueCol].role == roleComment {
		row[valueCol] = meaning{role: roleNetwork} // typed by shape
	}
	c.row(pos, row, cells)
}

// kindMeaning reads a type column's word (sha256, FileHash-SHA256, ipaddress, hostname, file).
func kindMeaning(word string) meaning {
	m := meaningOf(cleanCell(word))
	if m.role == roleNone && strings.TrimSpace(word) != "" {
		return meaning{role: roleNetwork}
	}
	return m
}

// splitCells splits an AsciiDoc row after its first "|" at each unescaped "|".
func splitCells(line string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			b.WriteByte('|')
			i++
		case line[i] == '|':
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(line[i])
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

// isTableDelimiter says whether a line opens or closes an AsciiDoc table: |=== and longer.
func isTableDelimiter(line string) bool {
	return strings.HasPrefix(line, "|===") && strings.Trim(line[1:], "=") == ""
}

// pipeCells splits a Markdown table row.
func pipeCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	return splitCells(line)
}

// isPipeSeparator says whether a line is a Markdown table's |---|:--:| line.
func isPipeSeparator(line string) bool {
	line = strings.TrimSpace(line)
	return strings.HasPrefix(line, "|") && strings.Contains(line, "-") && strings.Trim(line, "|-: ") == ""
}
