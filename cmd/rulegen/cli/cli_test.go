package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rulegen/rulegen/cmd/rulegen/cli"
	"github.com/rulegen/rulegen/generate/synthfeed"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rulegen": func() { os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr)) },
		// synthfeed EVENTS DIR writes a synthetic MISP feed of EVENTS events, 100 attributes each.
		"synthfeed": func() {
			events, err := strconv.Atoi(os.Args[1])
			if err == nil {
				_, err = synthfeed.Write(os.Args[2], synthfeed.Size{Events: events, Attributes: 100 * events, Seed: 1})
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		},
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: exit codes, messages and the
// files each command writes. UPDATE_GOLDEN=1 rewrites the expected output inside the scripts.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "..")) // the repository, from cmd/rulegen/cli
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") != "",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", root)
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache")) // each script its own cache
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"waitfor": waitFor},
	})
}

// waitFor GLOB waits up to a minute until a path matches GLOB (relative to the script's
// directory), so that a script can act on a background run at a known point of it.
func waitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfor GLOB")
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(ts.MkAbs(args[0])); len(m) > 0 {
			return
		}
	}
	ts.Fatalf("nothing matched %s within a minute", args[0])
}
