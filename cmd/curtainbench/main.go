// Command curtainbench measures Curtain against a yardstick server (the
// limit server of ../shared/bench/limit, or another Curtain build) on the
// paths issue 12 names: redirects, cached URL reads and creates, plus
// clicks served versus clicks stored.
//
// Usage:
//
//	curtainbench prepare -db DSN [-n 1000]
//	curtainbench run -target NAME=BASEURL,db=DSN -target NAME=BASEURL,db=DSN [flags]
//
// prepare makes sure the reference tables exist in a database and holds n
// benchmark URLs (short codes bnch0001…, targets https://bench.example/u/N);
// run it on each target's database before the targets start (the limit
// server learns its codes at start). run drives wrk against every target
// in turn, interleaved (A B A B …), and prints one row per run and then, per
// scenario, the median of the per-pair ratios of the first target to the
// second. DSN is a postgres:// URL or an SQLite file path.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "curtainbench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: curtainbench prepare|run [flags]  (-h for the flags)")
		return flag.ErrHelp
	}
	switch args[0] {
	case "prepare":
		return runPrepare(ctx, args[1:], stdout, stderr)
	case "run":
		return runBench(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q: use prepare or run", args[0])
}
