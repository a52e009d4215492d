package plugintest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// CheckConfig says what Check runs.
type CheckConfig struct {
	// Kind is the kind the plugin must serve.
	Kind string
	// Command returns a fresh command that starts the plugin; every case
	// starts its own process.
	Command func() *exec.Cmd
	// Settings are passed to Configure in every case (nil for none).
	Settings []byte
	// DownSettings, when set, are settings that point the plugin at a
	// backing service that cannot be reached; the BackendDown case runs
	// with them. Without them it is skipped.
	DownSettings []byte
	// Parallel is how many cases run at once (default 4).
	Parallel int
	// CaseTimeout bounds each case (default 60s).
	CaseTimeout time.Duration
}

// The outcomes of a Result.
const (
	Pass = "PASS"
	Fail = "FAIL"
	Skip = "SKIP"
)

// Result is the outcome of one case run by Check.
type Result struct {
	// Name is "Contract/…", "<Kind suite>/…" or "BackendDown".
	Name string
	// Outcome is Pass, Fail or Skip.
	Outcome string
	// Reason holds the failure messages, or why the case was skipped.
	Reason string
	// Log holds what the case and the plugin logged.
	Log      []string
	Duration time.Duration
}

// Check runs the conformance suite of cfg.Kind against the executable
// cfg.Command starts, outside go test: first the contract cases (the
// handshake, Info, the health service, settings errors, SIGTERM), then
// the kind's suite, each case against a fresh process, then BackendDown.
// If the plugin cannot even start, the rest is skipped with that reason.
// Results come in that order; report, if not nil, gets each as soon as it
// and all before it are known.
func Check(ctx context.Context, cfg CheckConfig, report func(Result)) []Result {
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.CaseTimeout <= 0 {
		cfg.CaseTimeout = time.Minute
	}
	start := func(t T, settings []byte) (sdk.Client, *plugin.Client) {
		return Start(t, cfg.Kind, cfg.Command(), settings)
	}
	type job struct {
		name string
		run  func(t T)
		skip string
	}
	var jobs []job
	for _, c := range contractCases() {
		jobs = append(jobs, job{name: "Contract/" + c.Name, run: func(t T) {
			client, pc := start(t, cfg.Settings)
			c.Run(t, Started{Client: client, Process: pc})
		}})
	}
	add := func(suite, name string, run func(t T)) {
		jobs = append(jobs, job{name: suite + "/" + name, run: run})
	}
	switch cfg.Kind {
	case sdk.KindCounter:
		for _, c := range CounterCases() {
			add("Counter", c.Name, func(t T) { cl, _ := start(t, cfg.Settings); c.Run(t, cl.(core.Counter)) })
		}
	case sdk.KindCache:
		for _, c := range CacheCases() {
			add("Cache", c.Name, func(t T) { cl, _ := start(t, cfg.Settings); c.Run(t, cl.(core.Cache)) })
		}
	case sdk.KindClickShard:
		for _, c := range ClickShardCases() {
			add("ClickShard", c.Name, func(t T) { cl, _ := start(t, cfg.Settings); c.Run(t, cl.(core.ClickShard)) })
		}
	case sdk.KindAlertSink:
		for _, c := range AlertSinkCases() {
			add("AlertSink", c.Name, func(t T) { cl, _ := start(t, cfg.Settings); c.Run(t, SinkUnderTest{Sink: cl.(core.AlertSink)}) })
		}
	default:
		r := Result{Name: "Contract/Kind", Outcome: Fail, Reason: fmt.Sprintf("kind %q is unknown, use one of %v", cfg.Kind, sdk.Kinds())}
		if report != nil {
			report(r)
		}
		return []Result{r}
	}
	down := job{name: "BackendDown", skip: "no down settings given (settings that point the plugin at an unreachable backing service)"}
	if cfg.DownSettings != nil {
		down = job{name: down.name, run: func(t T) {
			cl, _ := start(t, cfg.DownSettings)
			BackendDown(t, cfg.Kind, cl)
		}}
	}
	jobs = append(jobs, down)

	// The first case starts the plugin: if that fails, so would the rest.
	results := make([]Result, len(jobs))
	results[0] = runCase(ctx, jobs[0].name, cfg.CaseTimeout, jobs[0].run)
	if report != nil {
		report(results[0])
	}
	if results[0].Outcome == Fail {
		for i := 1; i < len(jobs); i++ {
			results[i] = Result{Name: jobs[i].name, Outcome: Skip, Reason: "the plugin did not start"}
			if report != nil {
				report(results[i])
			}
		}
		return results
	}
	done := make([]chan struct{}, len(jobs))
	sem := make(chan struct{}, cfg.Parallel)
	for i := 1; i < len(jobs); i++ {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i])
			if jobs[i].skip != "" {
				results[i] = Result{Name: jobs[i].name, Outcome: Skip, Reason: jobs[i].skip}
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runCase(ctx, jobs[i].name, cfg.CaseTimeout, jobs[i].run)
		}()
	}
	for i := 1; i < len(jobs); i++ {
		<-done[i]
		if report != nil {
			report(results[i])
		}
	}
	return results
}

// Started is a plugin process started for a contract case.
type Started struct {
	Client  sdk.Client
	Process *plugin.Client
}

// contractCases check what every plugin owes the host, whatever its
// kind. Each gets a plugin process that Start started (handshake, Info,
// health service and settings already checked).
func contractCases() []Case[Started] {
	return []Case[Started]{
		{"StartsAndAnswersInfo", func(t T, s Started) {
			info, err := s.Client.Info(callCtx(t))
			if err != nil {
				t.Fatalf("Info: %v", err)
			}
			t.Logf("plugin %q version %q, capabilities %v", info.Name, info.Version, info.Capabilities)
		}},
		{"HealthServing", func(t T, s Started) {
			rpc, err := s.Process.Client()
			if err != nil {
				t.Fatal(err)
			}
			switch h, err := sdk.CheckHealth(callCtx(t), rpc.(*plugin.GRPCClient).Conn); {
			case err != nil:
				t.Errorf("%v; want SERVING", err)
			case h != sdk.Serving:
				t.Errorf("health check = %v; want SERVING", h)
			}
		}},
		{"UnknownSettingIsInvalidArgument", func(t T, s Started) {
			const key = "curtain_check_no_such_setting"
			err := s.Client.Configure(callCtx(t), []byte(`{"`+key+`": true}`))
			if ve, ok := errors.AsType[*core.ValidationError](err); !ok || ve.Field != key {
				t.Errorf("Configure with an unknown key = %v; want INVALID_ARGUMENT with a google.rpc.BadRequest field violation naming %q", err, key)
			}
		}},
		{"StopsOnSIGTERM", func(t T, s Started) {
			rc := s.Process.ReattachConfig()
			if rc == nil || rc.Pid == 0 {
				t.Fatal("no process id")
			}
			if err := syscall.Kill(rc.Pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(sdk.StopTimeout + time.Second)
			for !s.Process.Exited() {
				if time.Now().After(deadline) {
					t.Fatalf("the plugin still runs %v after SIGTERM", sdk.StopTimeout+time.Second)
				}
				time.Sleep(pollEvery)
			}
		}},
	}
}

// runCase runs one case on its own goroutine, as go test would, and
// returns its result once it and its cleanups are done.
func runCase(ctx context.Context, name string, timeout time.Duration, run func(t T)) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t := &checkT{name: name, ctx: ctx}
	began := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("panic: %v", r)
			}
		}()
		run(t)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Errorf("did not finish within %v", timeout)
	}
	cancel()
	t.cleanup()
	r := Result{Name: name, Outcome: Pass, Duration: time.Since(began)}
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Log = t.logs
	if t.failed {
		r.Outcome, r.Reason = Fail, strings.Join(t.errs, "; ")
	}
	return r
}

// checkT is the T of runCase.
type checkT struct {
	name string
	ctx  context.Context

	mu       sync.Mutex
	failed   bool
	errs     []string
	logs     []string
	cleanups []func()
}

func (t *checkT) Helper()                  {}
func (t *checkT) Name() string             { return t.name }
func (t *checkT) Context() context.Context { return t.ctx }
func (t *checkT) Log(args ...any)          { t.log(fmt.Sprintln(args...)) }
func (t *checkT) Logf(f string, args ...any) {
	t.log(fmt.Sprintf(f, args...))
}
func (t *checkT) Error(args ...any)            { t.fail(fmt.Sprintln(args...)) }
func (t *checkT) Errorf(f string, args ...any) { t.fail(fmt.Sprintf(f, args...)) }
func (t *checkT) Fatal(args ...any)            { t.fail(fmt.Sprintln(args...)); runtime.Goexit() }
func (t *checkT) Fatalf(f string, args ...any) { t.fail(fmt.Sprintf(f, args...)); runtime.Goexit() }

func (t *checkT) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *checkT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *checkT) log(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logs = append(t.logs, strings.TrimRight(s, "\n"))
}

func (t *checkT) fail(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
	t.errs = append(t.errs, strings.TrimRight(s, "\n"))
}

// cleanup runs the registered cleanups, last first.
func (t *checkT) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
