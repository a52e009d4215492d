package plugintest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/curtainhq/curtain/core"
)

// AlertSink runs the core.AlertSink conformance suite. newSink returns a
// sink and, when the test can observe what the sink delivered, a function
// returning every alert delivered so far in order (for a chat sink, what
// a test server received). With a nil received, the suite checks only
// that Send accepts every batch.
func AlertSink(t *testing.T, newSink func(t *testing.T) (sink core.AlertSink, received func() []core.Alert)) {
	t.Helper()
	for _, tc := range AlertSinkCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			s, received := newSink(t)
			tc.Run(t, SinkUnderTest{s, received})
		})
	}
}

// SinkUnderTest is an alert sink and, when the runner can observe what it
// delivered, a function returning every alert delivered so far (nil
// otherwise).
type SinkUnderTest struct {
	Sink     core.AlertSink
	Received func() []core.Alert
}

// AlertSinkCases returns the cases of the AlertSink suite, for runners
// other than go test (see Check).
func AlertSinkCases() []Case[SinkUnderTest] {
	return []Case[SinkUnderTest]{
		{"DeliversBatches", sinkCase(sinkBatches)},
		{"EmptyBatch", sinkCase(sinkEmpty)},
		{"SendIsRepeatable", sinkCase(sinkRepeat)},
	}
}

func sinkCase(run func(t T, s core.AlertSink, received func() []core.Alert)) func(T, SinkUnderTest) {
	return func(t T, s SinkUnderTest) { run(t, s.Sink, s.Received) }
}

// sampleAlerts returns alerts as Prometheus reports them, one of them
// without annotations or a start time.
func sampleAlerts() []core.Alert {
	at := time.Date(2026, 4, 4, 14, 0, 0, 0, time.UTC)
	return []core.Alert{
		{
			Status:      "firing",
			Labels:      map[string]string{"alertname": "HighErrorRate", "severity": "critical"},
			Annotations: map[string]string{"summary": "5xx above 5%", "description": "error ratio 0.07"},
			ActiveAt:    at,
			Value:       "7e-02",
			Fingerprint: "a1b2c3",
		},
		{
			Status:      "firing",
			Labels:      map[string]string{"alertname": "ServiceDown"},
			ActiveAt:    at.Add(time.Minute),
			Value:       "0e+00",
			Fingerprint: "d4e5f6",
		},
		{
			Status:      "resolved",
			Labels:      map[string]string{"alertname": "HighLatency"},
			Fingerprint: "0789ab",
		},
	}
}

func send(t T, s core.AlertSink, alerts []core.Alert) {
	t.Helper()
	if err := s.Send(callCtx(t), alerts); err != nil {
		t.Fatalf("Send(%d alerts) error: %v", len(alerts), err)
	}
}

// checkReceived waits until received reports want.
func checkReceived(t T, received func() []core.Alert, want []core.Alert) {
	t.Helper()
	if received == nil {
		return
	}
	var got []core.Alert
	deadline := time.Now().Add(waitLimit)
	for {
		got = received()
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(pollEvery)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("alerts received (-want +got):\n%s", diff)
	}
}

func sinkBatches(t T, s core.AlertSink, received func() []core.Alert) {
	alerts := sampleAlerts()
	send(t, s, alerts[:2])
	send(t, s, alerts[2:])
	checkReceived(t, received, alerts)
}

func sinkEmpty(t T, s core.AlertSink, received func() []core.Alert) {
	send(t, s, nil)
	checkReceived(t, received, nil)
}

func sinkRepeat(t T, s core.AlertSink, received func() []core.Alert) {
	alerts := sampleAlerts()[:1]
	send(t, s, alerts)
	send(t, s, alerts) // a retry after an error the sink did not see
	if received == nil {
		return
	}
	// A sink may deliver the retry or recognise its fingerprint.
	eventually(t, "alert delivered", func() bool { return len(received()) > 0 })
	for _, got := range received() {
		if diff := cmp.Diff(alerts[0], got); diff != "" {
			t.Errorf("alert received (-want +got):\n%s", diff)
		}
	}
}

// AlertWithLine maps a line a text sink delivered (a chat message line)
// back to the suite's alert that render turns into it, so that a sink
// whose destination keeps only text can still give the suite what it
// received. A line no alert of the suite renders to comes back as an
// alert holding just that line, which the suite reports as unexpected.
func AlertWithLine(line string, render func(core.Alert) string) core.Alert {
	for _, a := range sampleAlerts() {
		if render(a) == line {
			return a
		}
	}
	return core.Alert{Annotations: map[string]string{"line": line}}
}
