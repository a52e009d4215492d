package main

import (
	"strings"
	"testing"
	"time"
)

// TestNotifyWithoutSink runs `curtain notify` as a process with no alert
// sink configured and Prometheus unreachable: it starts, warns once,
// logs each undelivered batch as discord.webhook_missing, and logs failed
// polls and keeps polling.
func TestNotifyWithoutSink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs curtain notify")
	}
	addr := freeAddr(t)
	p := startProcess(t, t.TempDir(), []string{"notify"}, []string{"PROMETHEUS_URL=http://" + freeAddr(t),
		"NOTIFIER_POLL_SECONDS=1", "CURTAIN_NOTIFY__ADDR=" + addr, "DISCORD_WEBHOOK_URL="})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, _, err := request("GET", "http://"+addr+"/health", ""); err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notify did not become healthy\n%s", p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 2 {
		resp, body, err := request("POST", "http://"+addr+"/alert", `{"alerts":[{"status":"firing","labels":{"alertname":"CurtainServiceDown"}}]}`)
		if err != nil || resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("POST /alert = %v %q %v", resp, body, err)
		}
	}
	time.Sleep(2500 * time.Millisecond) // two polls or more
	p.stop(t)
	logs := p.logs.String()
	if n := strings.Count(logs, `"message":"discord.webhook_missing"`); n != 3 {
		t.Errorf("discord.webhook_missing logged %d times, want 3 (once at start, once per batch):\n%s", n, logs)
	}
	if n := strings.Count(logs, `"message":"poll.failed"`); n < 2 {
		t.Errorf("poll.failed logged %d times, want every failed poll (2 or more):\n%s", n, logs)
	}
	if strings.Contains(logs, `"level":"ERROR","logger":"curtain","message":"notify`) {
		t.Errorf("notify logged a shutdown error:\n%s", logs)
	}
}
