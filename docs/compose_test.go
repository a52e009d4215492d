package docs

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/internal/testenv"

	"go.yaml.in/yaml/v3"

	"github.com/curtainhq/curtain/cmd/curtain/config"
)

// composeValue is a value of docker-compose.yml as compose passes it on
// when the operator's shell sets nothing: ${VAR:-default} becomes its
// default.
func composeValue(v any) string {
	return regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAllString(fmt.Sprint(v), "$1")
}

// TestComposeMatchesCurtain checks docker-compose.yml against the program
// it runs: every service built from the repository runs a curtain command
// with flags that command has, on an environment Curtain's configuration
// accepts without a warning; and the ports nginx and Prometheus use are
// the ones those processes listen on (serve on http.addr, notify on
// notify.addr, consume on --metrics-addr).
func TestComposeMatchesCurtain(t *testing.T) {
	services := composeServices(t)
	nginx, err := os.ReadFile("../deploy/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	promData, err := os.ReadFile("../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(promData, &prom); err != nil {
		t.Fatal(err)
	}
	// scraped is every host:port Prometheus scrapes.
	scraped := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			for _, target := range s.Targets {
				scraped[target] = true
			}
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				scraped[fmt.Sprintf("%s:%d", n, d.Port)] = true
			}
		}
	}
	ran := 0
	for _, name := range sortedNames(services) {
		svc := services[name]
		if svc["build"] == nil {
			continue
		}
		ran++
		args := []string{"serve"} // deploy/Dockerfile's CMD
		if cmd, ok := svc["command"].([]any); ok {
			args = nil
			for _, a := range cmd {
				args = append(args, fmt.Sprint(a))
			}
		}
		help, ok := exec1(t, curtainBin, "help", args[0])
		if !ok {
			t.Errorf("%s: curtain has no command %q", name, args[0])
			continue
		}
		for _, a := range args[1:] {
			flag, _, _ := strings.Cut(a, "=")
			if strings.HasPrefix(flag, "--") && !strings.Contains(help, flag+" ") {
				t.Errorf("%s: curtain %s has no flag %s", name, args[0], flag)
			}
		}
		var environ []string
		env, _ := svc["environment"].(map[string]any)
		for k, v := range env {
			environ = append(environ, k+"="+composeValue(v))
		}
		cfg, err := config.Load(config.Sources{Environ: environ})
		if err != nil {
			t.Errorf("%s: Curtain refuses the environment: %v", name, err)
			continue
		}
		for _, w := range cfg.Warnings {
			t.Errorf("%s: %s", name, w)
		}
		var addr string
		switch args[0] {
		case "serve":
			addr = testenv.FlagValue(args, "addr", cfg.HTTP.Addr)
		case "notify":
			addr = testenv.FlagValue(args, "addr", cfg.Notify.Addr)
		case "consume":
			addr = testenv.FlagValue(args, "metrics-addr", "")
		}
		if addr == "" {
			t.Errorf("%s: curtain %s serves no metrics for Prometheus", name, args[0])
			continue
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("%s: listen address %q: %v", name, addr, err)
			continue
		}
		if !scraped[name+":"+port] {
			t.Errorf("%s listens on %s, which deploy/prometheus/prometheus.yml does not scrape", name, addr)
		}
		if args[0] == "serve" && !strings.Contains(string(nginx), "server "+name+":"+port+";") {
			t.Errorf("%s serves on %s, which deploy/nginx/nginx.conf does not send to", name, addr)
		}
		if ports, ok := svc["ports"].([]any); ok {
			published := slices.ContainsFunc(ports, func(p any) bool { return strings.HasSuffix(fmt.Sprint(p), ":"+port) })
			if !published {
				t.Errorf("%s publishes %v, not the port %s it listens on", name, ports, port)
			}
		}
	}
	if ran == 0 {
		t.Fatal("no service of docker-compose.yml is built from the repository")
	}
}

// exec1 runs a program and returns its combined output and whether it
// exited 0.
func exec1(t *testing.T, name string, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err == nil
}
