// Package templates holds the default rule templates. `rulegen generate --templates DIR`
// overrides any of them by file name (yara/report.tmpl, yara/_hashes.tmpl, ...).
package templates

import "embed"

// FS holds yara/*.tmpl and sigma/*.tmpl. Files whose name starts with "_" are partials that
// define named templates; the others are entry points rendered once per report.
//
//go:embed yara/*.tmpl sigma/*.tmpl
var FS embed.FS
