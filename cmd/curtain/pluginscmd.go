package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/host/app"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// pluginStatusPath is the server's route that reports its plugins.
const pluginStatusPath = "/health/plugins"

// runPlugins lists the plugins with kind, source, version, pid, state,
// health and the reason of a failing one. It asks the running server
// (GET /health/plugins at --server, by default the configured http.addr
// on loopback) what it sees; when no server answers, or when the server
// found at the default address runs other plugins than the configuration
// names, it starts the configured plugins itself and reports their first
// health checks.
func runPlugins(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("plugins", env)
	server := f.fs.String("server", "", "base URL of the running server to ask (default: http://<http.addr on loopback>)")
	f.check = func([]string) string {
		if *server == "" {
			return ""
		}
		if !config.WebURL(*server) {
			return fmt.Sprintf("--server %q is not an http:// or https:// base URL", *server)
		}
		return ""
	}
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	asked := *server != ""
	if !asked {
		*server = loopbackURL(cfg.HTTP.Addr)
	}
	statuses, err := serverPluginStatus(ctx, *server)
	diff := ""
	if err == nil && !asked {
		diff = pluginDifference(statuses, cfg.Config)
	}
	switch {
	case err != nil:
		fmt.Fprintf(env.stderr, "curtain plugins: no server answers at %s (%v): starting the configured plugins here\n", *server, err)
	case diff != "":
		fmt.Fprintf(env.stderr, "curtain plugins: the server at %s runs other plugins than this configuration names (%s): starting the configured plugins here; --server %s lists the server's\n", *server, diff, *server)
	default:
		fmt.Fprintf(env.stderr, "curtain plugins: as the server at %s sees them\n", *server)
		return printPluginStatus(env.stdout, statuses)
	}
	if statuses, err = localPluginStatus(ctx, cfg.Config, env); err != nil {
		return err
	}
	return printPluginStatus(env.stdout, statuses)
}

// pluginDifference says how the plugins a server reports differ from the
// ones cfg names for the kinds the server runs (name, kind and source);
// empty when they agree. A server runs the plugins of its role only (serve
// has no alert sink), so kinds it does not list are not compared.
func pluginDifference(statuses []host.PluginStatus, cfg config.Config) string {
	kinds := map[string]bool{}
	for _, s := range statuses {
		kinds[s.Kind] = true
	}
	want := map[string]host.PluginConfig{}
	var names []string
	for _, p := range app.HostConfig(cfg, sdk.Kinds()...).Plugins {
		if kinds[p.Kind] {
			want[p.Name] = p
			names = append(names, p.Name)
		}
	}
	for _, s := range statuses {
		p, ok := want[s.Name]
		switch {
		case !ok:
			return fmt.Sprintf("%s %s is not configured here", s.Kind, s.Name)
		case p.Kind != s.Kind || p.Source() != s.Source:
			return fmt.Sprintf("%s: %s %s there, %s %s here", s.Name, s.Kind, s.Source, p.Kind, p.Source())
		}
		delete(want, s.Name)
	}
	for _, n := range names {
		if p, ok := want[n]; ok {
			return fmt.Sprintf("%s %s is not on the server", p.Kind, n)
		}
	}
	return ""
}

// loopbackURL turns a listen address into the URL a local client uses.
func loopbackURL(addr string) string {
	h, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if h == "" || h == "0.0.0.0" || h == "::" {
		h = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(h, port)
}

// serverPluginStatus asks the server at base for its plugins' status.
func serverPluginStatus(ctx context.Context, base string) ([]host.PluginStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+pluginStatusPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", pluginStatusPath, resp.Status)
	}
	var body struct {
		Plugins []host.PluginStatus `json:"plugins"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", pluginStatusPath, err)
	}
	return body.Plugins, nil
}

// localPluginStatus starts the configured plugins, waits (up to 3s) for
// their first health checks and reports them.
func localPluginStatus(ctx context.Context, cfg config.Config, env *cmdEnv) ([]host.PluginStatus, error) {
	self, err := selfExec()
	if err != nil {
		return nil, err
	}
	h, err := app.StartHost(ctx, cfg, app.Options{Logger: newLogger(cfg.Log, cfg.InstanceID, env.stderr), SelfExec: self}, sdk.Kinds()...)
	if err != nil {
		return nil, err
	}
	defer h.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(3 * time.Second)
	for {
		all := true
		for _, s := range h.Status() {
			all = all && s.Healthy
		}
		if all || time.Now().After(deadline) {
			return h.Status(), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func printPluginStatus(out io.Writer, statuses []host.PluginStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tSOURCE\tVERSION\tPID\tSTATE\tHEALTH\tRESTARTS\tREASON")
	for _, s := range statuses {
		health := "healthy"
		if !s.Healthy {
			health = "unhealthy"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", s.Name, s.Kind, s.Source, s.Version, s.PID, s.State, health, s.Restarts, s.Reason)
	}
	return w.Flush()
}
