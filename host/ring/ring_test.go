package ring

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHash(t *testing.T) {
	tests := []struct {
		key, want string
	}{
		{"shard0:0", "187162866137340236537103664917613664979"},
		{"000001", "6627664209714936649123216769588763387"},
	}
	for _, tt := range tests {
		if got := Hash(tt.key).String(); got != tt.want {
			t.Errorf("Hash(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
	if got, want := Hash("shard0:0").Int().Text(16), "8cce41c013e96ae7631e2797564c5ad3"; got != want {
		t.Errorf("Hash(%q) hex = %s, want %s", "shard0:0", got, want)
	}
}

// Appendix B of the specification.
var orderVectors = []struct {
	code       string
	two, three []string
}{
	{"000001", []string{"shard1", "shard0"}, []string{"shard1", "shard2", "shard0"}},
	{"000002", []string{"shard1", "shard0"}, []string{"shard1", "shard0", "shard2"}},
	{"0000wh", []string{"shard0", "shard1"}, []string{"shard0", "shard1", "shard2"}},
	{"d5DnL5", []string{"shard0", "shard1"}, []string{"shard0", "shard1", "shard2"}},
	{"KZ6mAC", []string{"shard0", "shard1"}, []string{"shard0", "shard2", "shard1"}},
	{"Bfczqz", []string{"shard0", "shard1"}, []string{"shard0", "shard1", "shard2"}},
	{"abc123", []string{"shard1", "shard0"}, []string{"shard2", "shard1", "shard0"}},
	{"click1", []string{"shard1", "shard0"}, []string{"shard1", "shard2", "shard0"}},
	{"sc0001", []string{"shard0", "shard1"}, []string{"shard0", "shard1", "shard2"}},
	{"xyz999", []string{"shard0", "shard1"}, []string{"shard0", "shard2", "shard1"}},
	{"zYj9G6", []string{"shard1", "shard0"}, []string{"shard2", "shard1", "shard0"}},
	{"mmriKY", []string{"shard1", "shard0"}, []string{"shard1", "shard0", "shard2"}},
}

func mustNew(t testing.TB, ids ...string) *Ring {
	t.Helper()
	r, err := New(ids)
	if err != nil {
		t.Fatalf("New(%q): %v", ids, err)
	}
	return r
}

func TestOrder(t *testing.T) {
	two := mustNew(t, "shard0", "shard1")
	three := mustNew(t, "shard0", "shard1", "shard2")
	for _, tt := range orderVectors {
		t.Run(tt.code, func(t *testing.T) {
			if diff := cmp.Diff(tt.two, two.OrderIDs(tt.code)); diff != "" {
				t.Errorf("2 shards: OrderIDs(%q) (-want +got):\n%s", tt.code, diff)
			}
			if got := two.Owner(tt.code); got != tt.two[0] {
				t.Errorf("2 shards: Owner(%q) = %q, want %q", tt.code, got, tt.two[0])
			}
			if diff := cmp.Diff(tt.three, three.OrderIDs(tt.code)); diff != "" {
				t.Errorf("3 shards: OrderIDs(%q) (-want +got):\n%s", tt.code, diff)
			}
			if got := three.Owner(tt.code); got != tt.three[0] {
				t.Errorf("3 shards: Owner(%q) = %q, want %q", tt.code, got, tt.three[0])
			}
		})
	}
}

func TestPositions(t *testing.T) {
	r := mustNew(t, "shard0", "shard1")
	if got := r.Len(); got != 300 {
		t.Errorf("Len() = %d, want 300", got)
	}
	ps := r.Positions()
	if got, want := ps[0].String(), "121191822122069096342830693680307630"; got != want {
		t.Errorf("smallest position = %s, want %s", got, want)
	}
	if got, want := ps[len(ps)-1].String(), "339485724900411697213554130736263175848"; got != want {
		t.Errorf("largest position = %s, want %s", got, want)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i-1].Int().Cmp(ps[i].Int()) >= 0 {
			t.Fatalf("positions %d and %d out of order", i-1, i)
		}
	}
}

// TestWrap checks the edges: a key beyond the largest position wraps to
// the first position, and a key exactly on a position is owned by it.
func TestWrap(t *testing.T) {
	r := mustNew(t, "shard0", "shard1")
	if got := r.search(Position{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); got != 0 {
		t.Errorf("search(max) = %d, want 0", got)
	}
	if got := r.search(Position{}); got != 0 {
		t.Errorf("search(0) = %d, want 0", got)
	}
	ps := r.Positions()
	for _, i := range []int{0, 1, 150, len(ps) - 1} {
		if got := r.search(ps[i]); got != i {
			t.Errorf("search(position %d) = %d, want %d", i, got, i)
		}
	}
	// A virtual node's own name hashes onto its position.
	if got := r.Owner("shard1:7"); got != "shard1" {
		t.Errorf("Owner(%q) = %q, want shard1", "shard1:7", got)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
	}{
		{"empty", nil},
		{"blank id", []string{"shard0", ""}},
		{"repeated id", []string{"shard0", "shard0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.ids); err == nil {
				t.Errorf("New(%q) = nil error, want an error", tt.ids)
			}
		})
	}
	if _, err := New(nil); !errors.Is(err, ErrNoShards) {
		t.Errorf("New(nil) = %v, want ErrNoShards", err)
	}
}

func TestOrderEveryShardOnce(t *testing.T) {
	r := mustNew(t, "a", "b", "c", "d", "e")
	for _, key := range []string{"", "x", "000001", "a very long key that is longer than thirty-two bytes"} {
		order := r.Order(key)
		seen := map[int]bool{}
		for _, s := range order {
			seen[s] = true
		}
		if len(order) != 5 || len(seen) != 5 {
			t.Errorf("Order(%q) = %v, want each of 5 shards once", key, order)
		}
		if order[0] != r.OwnerIndex(key) {
			t.Errorf("Order(%q)[0] = %d, want owner %d", key, order[0], r.OwnerIndex(key))
		}
	}
}

func seedCodes(t *testing.T) []string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "seed-data", "urls.csv")
	if p := os.Getenv("CURTAIN_SEED_URLS"); p != "" {
		path = p
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("seed file %s is absent; set CURTAIN_SEED_URLS to run this test", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	col := -1
	for i, name := range rows[0] {
		if name == "short_code" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no short_code column", path)
	}
	var codes []string
	for _, row := range rows[1:] {
		codes = append(codes, row[col])
	}
	return codes
}

func TestSeedDistribution(t *testing.T) {
	codes := seedCodes(t)
	if len(codes) != 2000 {
		t.Fatalf("seed has %d codes, want 2000", len(codes))
	}
	tests := []struct {
		ids  []string
		want map[string]int
	}{
		{[]string{"shard0", "shard1"}, map[string]int{"shard0": 993, "shard1": 1007}},
		{[]string{"shard0", "shard1", "shard2"}, map[string]int{"shard0": 617, "shard1": 677, "shard2": 706}},
	}
	for _, tt := range tests {
		r := mustNew(t, tt.ids...)
		got := map[string]int{}
		for _, c := range codes {
			got[r.Owner(c)]++
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%d shards: distribution (-want +got):\n%s", len(tt.ids), diff)
		}
	}
}

func TestLookupAllocs(t *testing.T) {
	r := mustNew(t, "shard0", "shard1", "shard2")
	long := "a key well beyond the thirty-two byte stack buffer of string conversions"
	allocs := testing.AllocsPerRun(100, func() {
		_ = r.Order("d5DnL5")
		_ = r.OwnerIndex(long)
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times, want 0", allocs)
	}
}

func BenchmarkOrder(b *testing.B) {
	r := mustNew(b, "shard0", "shard1", "shard2")
	codes := []string{"000001", "d5DnL5", "KZ6mAC", "abc123", "zYj9G6", "mmriKY", "sc0001", "xyz999"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = r.Order(codes[i%len(codes)])
	}
}
