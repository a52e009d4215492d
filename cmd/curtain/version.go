package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildInfo is what `curtain version` prints.
type buildInfo struct {
	Version, Commit, Time, GoVersion string
	Modified                         bool
}

// readBuildInfo reads the version, commit and Go version from the
// binary's build information (the module version for `go install`, the
// VCS stamp for a build in a checkout).
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(devel)", Commit: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	b.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// runVersion prints the version, commit and Go version.
func runVersion(ctx context.Context, env *cmdEnv, args []string) error {
	if err := parseFlags(env, "version", newFlagSet("version"), args); err != nil {
		return err
	}
	b := readBuildInfo()
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
