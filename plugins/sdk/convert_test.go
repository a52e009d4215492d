package sdk

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/curtainhq/curtain/core"
	alertsinkv1 "github.com/curtainhq/curtain/plugins/proto/alertsink/v1"
	cachev1 "github.com/curtainhq/curtain/plugins/proto/cache/v1"
	clickshardv1 "github.com/curtainhq/curtain/plugins/proto/clickshard/v1"
)

var at = time.Date(2026, 4, 4, 14, 30, 15, 123456789, time.UTC)

func TestTimeConversion(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"utc", at, at},
		{"zero", time.Time{}, time.Time{}},
		{"other zone comes back utc", at.In(time.FixedZone("CEST", 2*3600)), at},
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 5, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := timeFromProto(timeToProto(tt.in))
			if got != tt.want {
				t.Errorf("round trip of %v = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	if timeToProto(time.Time{}) != nil {
		t.Error("timeToProto(zero) is set, want nil")
	}
	if got := timeFromProto(nil); !got.IsZero() {
		t.Errorf("timeFromProto(nil) = %v, want zero", got)
	}
}

func TestDurationConversion(t *testing.T) {
	for _, d := range []time.Duration{0, time.Nanosecond, 1500 * time.Millisecond, -time.Second, 72 * time.Hour} {
		if got := durationFromProto(durationToProto(d)); got != d {
			t.Errorf("round trip of %v = %v", d, got)
		}
	}
	if durationToProto(0) != nil {
		t.Error("durationToProto(0) is set, want nil")
	}
}

func TestClickShardConversion(t *testing.T) {
	clicks := []core.Click{
		{ID: "c1", Code: "abc123", Visitor: "10.0.0.1", At: at},
		{ID: "c2", Code: "abc123", Visitor: "", At: at.Add(time.Hour), Stored: true},
		{ID: "c3", Code: "abc123", Visitor: "10.0.0.2", At: at, Referrer: "https://x.example/",
			Agent: core.AgentClass{Device: "unknown", Browser: "Googlebot", OS: "unknown", Bot: "Googlebot"}},
	}
	if diff := cmp.Diff(clicks, clicksFromProto(clicksToProto(clicks))); diff != "" {
		t.Errorf("clicks round trip (-want +got):\n%s", diff)
	}
	if got := clicksFromProto(clicksToProto(nil)); got != nil {
		t.Errorf("nil clicks round trip = %#v", got)
	}

	wire := []*clickshardv1.Click{{Id: "x", Code: "c", Visitor: "v", At: timestamppb.New(at)}, {Id: "y", Code: "c", At: timestamppb.New(at), Stored: true}}
	if diff := cmp.Diff(wire, clicksToProto(clicksFromProto(wire)), protocmp.Transform()); diff != "" {
		t.Errorf("proto clicks round trip (-want +got):\n%s", diff)
	}

	sr := core.StatsRequest{Code: "abc", Now: at, Hours: 72, Parts: core.StatsTotals | core.StatsPending}
	if diff := cmp.Diff(sr, statsRequestFromProto(statsRequestToProto(sr))); diff != "" {
		t.Errorf("stats request round trip (-want +got):\n%s", diff)
	}

	tests := []struct {
		name     string
		in, want core.ShardStats
	}{
		{"full", core.ShardStats{Total: 7, Hourly: []int64{3, 0, 4}, Visitors: []byte{1, 0, 2}, Pending: 2},
			core.ShardStats{Total: 7, Hourly: []int64{3, 0, 4}, Visitors: []byte{1, 0, 2}, Pending: 2}},
		{"empty visitors become nil", core.ShardStats{Visitors: []byte{}}, core.ShardStats{}},
		{"zero", core.ShardStats{}, core.ShardStats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, statsFromProto(statsToProto(tt.in))); diff != "" {
				t.Errorf("stats round trip (-want +got):\n%s", diff)
			}
		})
	}

	rr := core.ReadRequest{Group: "g", Consumer: "c", Count: 100, Block: 5 * time.Second, MinIdle: time.Minute}
	if diff := cmp.Diff(rr, readRequestFromProto(readRequestToProto(rr))); diff != "" {
		t.Errorf("read request round trip (-want +got):\n%s", diff)
	}
	wireRead := &clickshardv1.ReadRequest{Group: "g", Count: 1, Block: durationpb.New(time.Second)}
	if diff := cmp.Diff(wireRead, readRequestToProto(readRequestFromProto(wireRead)), protocmp.Transform()); diff != "" {
		t.Errorf("proto read request round trip (-want +got):\n%s", diff)
	}
	if got := readRequestToProto(core.ReadRequest{Count: math.MaxInt64}).GetCount(); got != math.MaxInt32 {
		t.Errorf("huge count on the wire = %d, want %d", got, math.MaxInt32)
	}

	ds := []core.Delivery{{ID: "1-0", Click: clicks[0]}, {ID: "1-1", Click: clicks[1]}, {ID: "1-2", Click: clicks[2]}}
	if diff := cmp.Diff(ds, deliveriesFromProto(deliveriesToProto(ds))); diff != "" {
		t.Errorf("deliveries round trip (-want +got):\n%s", diff)
	}

	ack := core.AckRequest{Group: "g", IDs: []core.DeliveryID{{Code: "a", ID: "1-0"}, {Code: "b", ID: "2-0"}}}
	if diff := cmp.Diff(ack, ackRequestFromProto(ackRequestToProto(ack))); diff != "" {
		t.Errorf("ack round trip (-want +got):\n%s", diff)
	}
}

func TestCacheConversion(t *testing.T) {
	es := []core.CacheEntry{
		{Key: "a", Value: []byte("1"), TTL: time.Minute},
		{Key: "b", Value: []byte{}, TTL: 0},
	}
	if diff := cmp.Diff(es, entriesFromProto(entriesToProto(es))); diff != "" {
		t.Errorf("entries round trip (-want +got):\n%s", diff)
	}
	wire := []*cachev1.Entry{{Key: "k", Value: []byte("v"), Ttl: durationpb.New(time.Second)}}
	if diff := cmp.Diff(wire, entriesToProto(entriesFromProto(wire)), protocmp.Transform()); diff != "" {
		t.Errorf("proto entries round trip (-want +got):\n%s", diff)
	}
	got := cacheValues(map[string][]byte{"empty": nil, "full": []byte("x")})
	if got["empty"] == nil || string(got["full"]) != "x" {
		t.Errorf("cacheValues = %#v, want non-nil empty hit", got)
	}
	if got := cacheValues(nil); got == nil {
		t.Error("cacheValues(nil) = nil, want an empty map")
	}
}

func TestAlertConversion(t *testing.T) {
	tests := []struct {
		name     string
		in, want core.Alert
	}{
		{"full",
			core.Alert{Status: "firing", Labels: map[string]string{"alertname": "HighErrorRate"},
				Annotations: map[string]string{"summary": "s"}, ActiveAt: at, Value: "1e+00", Fingerprint: "fp"},
			core.Alert{Status: "firing", Labels: map[string]string{"alertname": "HighErrorRate"},
				Annotations: map[string]string{"summary": "s"}, ActiveAt: at, Value: "1e+00", Fingerprint: "fp"}},
		{"nil maps and zero time", core.Alert{Status: "resolved"}, core.Alert{Status: "resolved"}},
		{"empty maps become nil",
			core.Alert{Labels: map[string]string{}, Annotations: map[string]string{}}, core.Alert{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alertsFromProto(alertsToProto([]core.Alert{tt.in}))
			if diff := cmp.Diff([]core.Alert{tt.want}, got); diff != "" {
				t.Errorf("alert round trip (-want +got):\n%s", diff)
			}
		})
	}
	wire := []*alertsinkv1.Alert{{Status: "firing", Labels: map[string]string{"a": "b"}, ActiveAt: timestamppb.New(at)}}
	if diff := cmp.Diff(wire, alertsToProto(alertsFromProto(wire)), protocmp.Transform()); diff != "" {
		t.Errorf("proto alerts round trip (-want +got):\n%s", diff)
	}
}

// BenchmarkClicksToProto converts a flush-sized batch of redirect clicks
// as a browser makes them (user agent, referrer and target set).
func BenchmarkClicksToProto(b *testing.B) {
	cs := make([]core.Click, 32)
	for i := range cs {
		cs[i] = core.Click{ID: fmt.Sprintf("019ae0f3a1b2%020d", i), Code: "bnch0001", Visitor: "203.0.113.7", At: time.Now(),
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", Referrer: "https://news.example/item", Target: "https://example.com/landing"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(clicksToProto(cs)) != len(cs) {
			b.Fatal("lost clicks")
		}
	}
}
