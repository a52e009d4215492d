package main

import (
	"io"
	"net"
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
		"NOTIFIER_POLL_SECONDS=1", "CURTAIN_NOTIFY__ADDR=" + addr, "DISCORD_WEBHOOK_URL=", "CURTAIN_HTTP__READ_TIMEOUT=1s"})
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
	slowBodyCutOff(t, addr)
	wantJSONServerError(t, addr)
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

// slowBodyCutOff sends notify at addr a POST /alert whose body never
// arrives whole, and fails the test unless notify ends the connection
// (http.read_timeout, 1 s in the test): its listener had only a header
// timeout, so a client could hold a connection open for ever.
func slowBodyCutOff(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /alert HTTP/1.1\r\nHost: notify\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"alerts\""); err != nil {
		t.Fatal(err)
	}
	// Far beyond the read timeout: only a server that never cuts the
	// body off reaches it.
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("notify kept a connection whose body never came: %v", err)
	}
}
