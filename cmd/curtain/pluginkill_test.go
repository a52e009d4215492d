package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pluginPID returns the pid of the child of server that serves kind, or 0
// while there is none.
func pluginPID(s *server, kind string) int {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(s.cmd.Process.Pid)).Output()
	for _, f := range strings.Fields(string(out)) {
		cmdline, err := os.ReadFile("/proc/" + f + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) >= 3 && args[1] == pluginCommand && args[2] == kind {
			pid, _ := strconv.Atoi(f)
			return pid
		}
	}
	return 0
}

var upLine = regexp.MustCompile(`curtain_plugin_up\{kind="([a-z]+)",plugin="[a-z0-9]+"\} ([01])`)

// pluginUp reports curtain_plugin_up for kind from /metrics.
func pluginUp(t *testing.T, s *server, kind string) bool {
	t.Helper()
	_, body := s.do(t, "GET", "/metrics", "")
	for _, m := range upLine.FindAllStringSubmatch(body, -1) {
		if m[1] == kind {
			return m[2] == "1"
		}
	}
	return false
}

// TestPluginKilledUnderLoad kills each built-in plugin process of the
// embedded default with SIGKILL while clients keep sending requests that
// need it: every request still succeeds (the kind degrades as the spec
// says) and the host has the plugin back within 2 s.
func TestPluginKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startServer(t, t.TempDir())
	codes := createURLs(t, s, 5)
	tests := []struct {
		kind string
		// request is sent in a loop while the plugin is down and back.
		request func(i int) (status int, err error)
		want    int
	}{
		{"clickshard", func(i int) (int, error) {
			return status("GET", s.base+"/r/"+codes[i%len(codes)], "")
		}, 302},
		{"counter", func(i int) (int, error) {
			return status("POST", s.base+"/urls", fmt.Sprintf(`{"original_url":"https://example.com/kill/%d"}`, i))
		}, 201},
		{"cache", func(i int) (int, error) {
			return status("GET", s.base+"/urls/1", "")
		}, 200},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			pid := pluginPID(s, tt.kind)
			if pid == 0 {
				t.Fatalf("no %s plugin process", tt.kind)
			}
			done := make(chan struct{})
			fails := make(chan string, 1000)
			go func() {
				defer close(done)
				for i := 0; i < 400; i++ {
					if got, err := tt.request(i); err != nil || got != tt.want {
						fails <- fmt.Sprintf("request %d = %d, %v", i, got, err)
					}
				}
			}()
			time.Sleep(20 * time.Millisecond)
			killed := time.Now()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			back := time.Duration(0)
			for time.Since(killed) < 5*time.Second {
				if newPID := pluginPID(s, tt.kind); newPID != 0 && newPID != pid && pluginUp(t, s, tt.kind) {
					back = time.Since(killed)
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			<-done
			close(fails)
			for f := range fails {
				t.Errorf("while the %s plugin was down: %s, want %d", tt.kind, f, tt.want)
			}
			if back == 0 || back > 2*time.Second {
				t.Errorf("the %s plugin was back after %v, want within 2s", tt.kind, back)
			}
			t.Logf("%s plugin back after %v", tt.kind, back)
			seen[tt.kind] = true
		})
	}
	_, metrics := s.do(t, "GET", "/metrics", "")
	for kind := range seen {
		if !strings.Contains(metrics, `curtain_plugin_restarts_total{kind="`+kind+`"`) {
			t.Errorf("no restart counted for %s", kind)
		}
	}
}

// status sends one request and returns its status.
func status(method, url, body string) (int, error) {
	resp, _, err := request(method, url, body)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
