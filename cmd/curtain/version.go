package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/curtainhq/curtain/host/app"
)

// runVersion prints the version, commit and Go version.
func runVersion(ctx context.Context, env *cmdEnv, args []string) error {
	if err := parseFlags(env, "version", newFlagSet("version"), args); err != nil {
		return err
	}
	b := app.ReadBuildInfo()
	commit := b.Commit
	if b.Time != "" {
		commit += " (" + b.Time + ")"
	}
	if b.Modified {
		commit += " with uncommitted changes"
	}
	fmt.Fprintf(env.stdout, "curtain %s\ncommit  %s\ngo      %s %s/%s\n", b.Version, commit, b.GoVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}
