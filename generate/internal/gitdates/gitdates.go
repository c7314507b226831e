// Package gitdates reads when each file of a git work tree was first committed: a vendor's
// repository of publications dates many of them only by that (a file added on 2023-03-01 was
// published then, or before). Without git, or outside a work tree, it knows nothing.
package gitdates

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// timeout bounds the one git command a tree costs.
const timeout = time.Minute

// Added maps each file under root (its path joined to root as given) to the day (YYYY-MM-DD)
// of the oldest commit that added it. It is empty when root is in no git work tree, git is not
// installed, or git fails: dates from history are a hint, never a requirement.
func Added(root string) map[string]string {
	out := map[string]string{}
	git, err := exec.LookPath("git")
	if err != nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Newest commits first: a path seen again is older, and the oldest add wins. --relative
	// gives paths below root, as root names them.
	cmd := exec.CommandContext(ctx, git, "-C", root, "log", "--diff-filter=A", "--no-renames", "--relative",
		"--format=%x00%as", "--name-only", "-z", "--", ".")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if cmd.Run() != nil {
		return out
	}
	day := ""
	for _, field := range strings.Split(stdout.String(), "\x00") {
		field = strings.Trim(field, "\n")
		switch {
		case field == "":
		case isDay(field):
			day = field
		case day != "":
			out[filepath.Join(root, filepath.FromSlash(field))] = day
		}
	}
	return out
}

func isDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && len(s) == 10
}
