package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConsumeMetricsAddr checks what `curtain consume --metrics-addr`
// serves: GET /metrics, GET /health as a liveness answer in JSON, and
// JSON 404 and 405 for anything else (it once answered every path with
// the metrics).
func TestConsumeMetricsAddr(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := newTopology(t, newDatabase(t), 1)
	addr := freeAddr(t)
	startProcess(t, t.TempDir(), []string{"consume", "--metrics-addr", addr}, append(tp.env(), "HOSTNAME=c1"))
	get := func(method, path string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _, _ := get("GET", "/health"); status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, h, body := get("GET", "/health"); status != http.StatusOK || body != "{\"status\":\"ok\"}\n" || h.Get("Content-Type") != "application/json" {
		t.Errorf("GET /health = %d %q (%s), want 200 {\"status\":\"ok\"} in JSON", status, body, h.Get("Content-Type"))
	}
	if status, _, body := get("GET", "/metrics"); status != http.StatusOK || !strings.Contains(body, "curtain_build_info") || !strings.Contains(body, "curtain_consumer_") {
		t.Errorf("GET /metrics = %d, want 200 with the consumer's metrics:\n%.300s", status, body)
	}
	if status, _, body := get("GET", "/urls"); status != http.StatusNotFound || body != "{\"error\":\"Not found\"}\n" {
		t.Errorf("GET /urls = %d %q, want a JSON 404", status, body)
	}
	if status, h, _ := get("POST", "/metrics"); status != http.StatusMethodNotAllowed || h.Get("Allow") != "GET" {
		t.Errorf("POST /metrics = %d Allow %q, want 405 Allow GET", status, h.Get("Allow"))
	}
	wantJSONServerError(t, addr)
}
