package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// partitionHeading is the section of capacity.md whose block turns an
// adopted database into a partitioned one.
const partitionHeading = "## Events partitioned by month"

// TestPartitioningAnAdoptedDatabase runs capacity.md's copy of an adopted
// (unpartitioned) database into a fresh, partitioned one, and checks that
// every row, the analytics counts and the id sequences arrived as they
// were.
func TestPartitioningAnAdoptedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	data, err := os.ReadFile("capacity.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	at := strings.Index(doc, partitionHeading)
	if at < 0 {
		t.Fatalf("capacity.md has no %q", partitionHeading)
	}
	section, _, _ := strings.Cut(doc[at+len(partitionHeading):], "\n## ")
	var copyBlock string
	for _, b := range blocks(section) {
		if b.info == "sh no-run" {
			copyBlock = b.text
		}
	}
	if copyBlock == "" {
		t.Fatalf("capacity.md's %q shows no `sh no-run` block that partitions an adopted database", partitionHeading)
	}

	old, fresh := createDatabase(t), createDatabase(t)
	referenceDatabase(t, old)
	c := &curtain{dir: t.TempDir(), bin: filepath.Dir(curtainBin), env: []string{"DATABASE_URL=" + old, "NEW_DATABASE_URL=" + fresh}}
	if out, err := c.run(t, "curtain migrate"); err != nil {
		t.Fatalf("adopt the reference's database: %v\n%s", err, out)
	}
	query := func(db, q string) string {
		out, err := exec.Command("psql", db, "-Atc", q).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", q, err, out)
		}
		return string(out)
	}
	if kind := query(old, "select relkind from pg_class where relname = 'events'"); kind != "r\n" {
		t.Fatalf("the adopted events table has relkind %q, want an ordinary table", kind)
	}
	if out, err := c.run(t, copyBlock); err != nil {
		t.Fatalf("capacity.md's block: %v\n%s\n%s", err, out, copyBlock)
	}
	if kind := query(fresh, "select relkind from pg_class where relname = 'events'"); kind != "p\n" {
		t.Errorf("the new events table has relkind %q, want a partitioned table (p)", kind)
	}
	for _, q := range []string{
		"select count(*) from users",
		"select id, short_code, original_url, is_active, created_at from urls order by id",
		`select id, url_id, user_id, event_type, "timestamp", details from events order by id`,
		"select c::text from curtain_event_counts c order by 1",
		"select last_value from users_id_seq",
		"select last_value from urls_id_seq",
		"select last_value from events_id_seq",
	} {
		if got, want := query(fresh, q), query(old, q); got != want {
			t.Errorf("%s: the partitioned database differs from the adopted one (%d bytes against %d)", q, len(got), len(want))
		}
	}
}
