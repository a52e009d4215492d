package docs

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/curtainhq/curtain/core/httpapi"
)

// topologyMarker in a document makes its blocks run against Curtain on
// PostgreSQL, a counter Redis, a cache Redis and two click-shard Redis
// servers, with DATABASE_URL, REDIS_URL, CACHE_REDIS_URL and REDIS_SHARDS
// set for Curtain and for the blocks, as an operator's shell would have.
const topologyMarker = "<!-- doctest: topology -->"

// runbookBase is how every runbook_url of deploy/prometheus/alerts.yml
// starts; the rest is a path in the repository and a heading anchor.
const runbookBase = "https://github.com/curtainhq/curtain/blob/main/"

// checkedPrograms are the programs whose commands must be executed by the
// test wherever a document shows them.
var checkedPrograms = []string{"curl", "curtain", "psql", "redis-cli"}

// notOwned lists the documents whose shell blocks document a benchmark
// machine (servers pinned to CPUs, long runs) rather than commands against
// a Curtain; their commands are not run.
var notOwned = map[string]bool{"benchmarks.md": true, "capacity.md": true}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// postgresAdminURL is the shared test server (README, "Tests").
func postgresAdminURL() string {
	if v := os.Getenv("CURTAIN_TEST_POSTGRES_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// startTopology creates a database and starts four redis-server processes,
// all removed when the test ends, and returns the reference's variables
// that point at them.
func startTopology(t *testing.T) []string {
	t.Helper()
	dbURL := createDatabase(t)
	var redis []string
	for range 4 {
		redis = append(redis, startRedis(t))
	}
	return []string{
		"DATABASE_URL=" + dbURL,
		"REDIS_URL=redis://" + redis[0] + "/0",
		"CACHE_REDIS_URL=redis://" + redis[1] + "/0",
		"REDIS_SHARDS=" + redis[2] + "," + redis[3],
	}
}

// createDatabase creates a database on the shared test server, dropped
// when the test ends, and returns its URL.
func createDatabase(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("curtain_docs_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	admin := postgresAdminURL()
	if out, err := exec.Command("psql", admin, "-qc", "CREATE DATABASE "+name).CombinedOutput(); err != nil {
		t.Fatalf("create database (is PostgreSQL running on 127.0.0.1:5432?): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("psql", admin, "-qc", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)").CombinedOutput(); err != nil {
			t.Errorf("drop database %s: %v\n%s", name, err, out)
		}
	})
	dbURL := strings.Replace(admin, "/test?", "/"+name+"?", 1)
	if dbURL == admin {
		t.Fatalf("cannot derive a database URL from %s", admin)
	}
	return dbURL
}

// startRedis starts a redis-server on a free loopback port, killed when the
// test ends.
func startRedis(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatalf("redis-server on %s did not start", addr)
	return ""
}

// commands splits a shell block into its commands: lines joined where they
// end in a backslash, blank lines and comments left out. Compound commands
// (a loop, a pipeline) count as the lines they span.
func commands(text string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if more, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur += more + " "
			continue
		}
		cur += trimmed
		out = append(out, cur)
		cur = ""
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// programs returns the programs a command line starts, across pipes,
// `&&`, `;` and `$(…)`, skipping variable assignments before a program.
func programs(cmd string) []string {
	var out []string
	for _, part := range regexp.MustCompile(`\|\||&&|[|;(]|\$\(|\bdo\b|\bthen\b`).Split(cmd, -1) {
		fields := strings.Fields(part)
		for len(fields) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(fields[0]) {
			fields = fields[1:]
		}
		if len(fields) > 0 {
			out = append(out, strings.Trim(fields[0], `"'`))
		}
	}
	return out
}

// TestEveryCommandIsRun fails for a shell block that shows a curl,
// curtain, psql or redis-cli command and is not executed: such a block is
// marked `sh run`, or `sh no-run` when it stops or breaks something (a
// drill) or needs what the test cannot give (Docker, a cluster, a third
// party's executable).
func TestEveryCommandIsRun(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	noRun := 0
	for _, f := range files {
		if notOwned[f] {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks(string(data)) {
			switch b.info {
			case "sh run":
				continue
			case "sh no-run":
				noRun++
				continue
			}
			if b.info != "sh" && b.info != "bash" && b.info != "console" {
				continue
			}
			for _, c := range commands(b.text) {
				for _, p := range programs(c) {
					if slices.Contains(checkedPrograms, p) {
						t.Errorf("%s:%d: %q is not run by the test: mark the block `sh run`, or `sh no-run` if it cannot run here", f, b.line, c)
					}
				}
			}
		}
	}
	t.Logf("%d blocks marked sh no-run (drills, Docker, Kubernetes)", noRun)
}

// curlRequest is the method and path of a documented curl command.
type curlRequest struct{ method, path string }

// curlRequests finds the requests the curl commands of a block send to the
// documents' base URL.
func curlRequests(text string) []curlRequest {
	var out []curlRequest
	urlRE := regexp.MustCompile(regexp.QuoteMeta(DocBase) + `(/[^\s'"?)#]*)?`)
	methodRE := regexp.MustCompile(`(?:-X|--request)\s+([A-Z]+)`)
	for _, c := range commands(text) {
		for _, seg := range strings.Split(c, "curl ")[1:] {
			// The curl command ends at a pipe, a command separator or the
			// end of a substitution.
			if i := strings.IndexAny(seg, "|;)"); i >= 0 {
				seg = seg[:i]
			}
			m := urlRE.FindStringSubmatch(seg)
			if m == nil {
				continue
			}
			method := "GET"
			if mm := methodRE.FindStringSubmatch(seg); mm != nil {
				method = mm[1]
			} else if regexp.MustCompile(`(^|\s)(-d|-F|--data[a-z-]*|--form)\s`).MatchString(seg) {
				method = "POST"
			}
			path := m[1]
			if path == "" {
				path = "/"
			}
			out = append(out, curlRequest{method, path})
		}
	}
	return out
}

// routeMatches reports whether an OpenAPI route template ("/urls/{id}",
// "/assets/{path}" for a wildcard) matches a concrete path.
func routeMatches(template, path string, wildcard bool) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if wildcard {
		if len(ps) < len(ts) {
			return false
		}
	} else if len(ts) != len(ps) {
		return false
	}
	for i, s := range ts {
		if strings.HasPrefix(s, "{") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if s != ps[i] {
			return false
		}
	}
	return true
}

// TestRoutesHaveExamples checks that every route the router registers has
// a curl example in a `sh run` block of some document, and lists the ones
// that have none.
func TestRoutesHaveExamples(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	var reqs []curlRequest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks(string(data)) {
			if b.info == "sh run" {
				reqs = append(reqs, curlRequests(b.text)...)
			}
		}
	}
	wildcards := map[string]bool{"/assets/{path}": true, "/static/{path}": true}
	var missing []string
	// With root codes on, so that GET /{code} needs its example too.
	routes := httpapi.Routes(httpapi.Options{Registry: prometheus.NewRegistry(), RootCodes: true})
	// A request is an example of the route the router picks for it: of
	// the templates it matches, the one with the most fixed segments
	// (GET /health is no example of GET /{code}).
	routeOf := func(q curlRequest) string {
		best, bestFixed := "", -1
		for _, r := range routes {
			method, template, _ := strings.Cut(r, " ")
			if method != q.method || !routeMatches(template, q.path, wildcards[template]) {
				continue
			}
			fixed := 0
			for _, seg := range strings.Split(template, "/") {
				if !strings.HasPrefix(seg, "{") {
					fixed++
				}
			}
			if fixed > bestFixed {
				best, bestFixed = r, fixed
			}
		}
		return best
	}
	for _, r := range routes {
		found := slices.ContainsFunc(reqs, func(q curlRequest) bool { return routeOf(q) == r })
		if !found {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d routes have no curl example in a `sh run` block (add one to api-examples.md):\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
	t.Logf("%d documented requests checked against the route table", len(reqs))
}

// anchors returns the GitHub heading anchors of a Markdown document.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		a := anchor(strings.TrimLeft(line, "#"))
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// anchor is GitHub's anchor of a heading's text: lower case, punctuation
// dropped, spaces as hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAnchor(t *testing.T) {
	for in, want := range map[string]string{
		" CurtainServiceDown":                  "curtainservicedown",
		" Rolling upgrade and rollback":        "rolling-upgrade-and-rollback",
		" `curtain notify`":                    "curtain-notify",
		" Alert rules (`deploy/prometheus/x`)": "alert-rules-deployprometheusx",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunbookURLs checks that every alert rule has a runbook_url and that
// it names an existing heading of an existing document.
func TestRunbookURLs(t *testing.T) {
	rules := alertRules(t)
	for _, r := range rules {
		u := r.Annotations["runbook_url"]
		rest, ok := strings.CutPrefix(u, runbookBase)
		if !ok {
			t.Errorf("%s: runbook_url %q does not start with %s", r.Alert, u, runbookBase)
			continue
		}
		file, frag, _ := strings.Cut(rest, "#")
		doc, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Errorf("%s: runbook_url %q: %v", r.Alert, u, err)
			continue
		}
		if frag == "" || !anchors(string(doc))[frag] {
			t.Errorf("%s: runbook_url %q: no heading with anchor %q in %s", r.Alert, u, frag, file)
		}
	}
	t.Logf("%d runbook_url annotations resolve", len(rules))
}

// alertRule is a rule of deploy/prometheus/alerts.yml, as the documents
// name it.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// alertRules reads every rule of deploy/prometheus/alerts.yml; none is a
// failure.
func alertRules(t *testing.T) []alertRule {
	t.Helper()
	data, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	var rules []alertRule
	for _, g := range file.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("no alert rules read")
	}
	return rules
}

// TestRunbookSections checks that every section of the runbook that
// answers an alert has each part an operator looks for.
func TestRunbookSections(t *testing.T) {
	data, err := os.ReadFile("runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{"**Meaning.**", "**First checks.**", "**Likely causes", "**Recovery.**", "**Verify.**", "**Drill.**"}
	sections := strings.Split(string(data), "\n## ")[1:]
	alerts := 0
	for _, sec := range sections {
		title, _, _ := strings.Cut(sec, "\n")
		if !strings.HasPrefix(title, "Curtain") {
			continue
		}
		alerts++
		for _, p := range parts {
			if !strings.Contains(sec, p) {
				t.Errorf("runbook section %s has no %s part", title, p)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alert sections in runbook.md")
	}
}

// TestLinks checks the links between the documents: the file exists and
// the anchor, if any, is a heading of it.
func TestLinks(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	linkRE := regexp.MustCompile(`\]\(([a-z0-9-]*\.md)?(#[^)]*)?\)`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkRE.FindAllStringSubmatch(string(data), -1) {
			target, frag := m[1], strings.TrimPrefix(m[2], "#")
			if target == "" && frag == "" {
				continue
			}
			doc := data
			if target != "" {
				if doc, err = os.ReadFile(target); err != nil {
					t.Errorf("%s: link %s: %v", f, m[0], err)
					continue
				}
			}
			if frag != "" && !anchors(string(doc))[frag] {
				t.Errorf("%s: link %s: no heading with that anchor", f, m[0])
			}
		}
	}
}

// composeServices reads the services of docker-compose.yml.
func composeServices(t *testing.T) map[string]map[string]any {
	t.Helper()
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]map[string]any `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(compose.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return compose.Services
}

// kubernetesObjects reads the kind/name of every object in deploy/kubernetes.
func kubernetesObjects(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("../deploy/kubernetes/*.yaml")
	out := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var obj struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if err := dec.Decode(&obj); err != nil {
				break
			}
			out[strings.ToLower(obj.Kind)+"/"+obj.Metadata.Name] = true
		}
	}
	return out
}

// TestDeploymentBlocks checks what cannot run here by parsing it: every
// YAML block of the documents parses, a compose block has services each
// with an image or a build, a Kubernetes block has apiVersion, kind and
// a name; and every `docker compose` command names services of
// docker-compose.yml and every `kubectl` command objects of
// deploy/kubernetes.
func TestDeploymentBlocks(t *testing.T) {
	services := composeServices(t)
	objects := kubernetesObjects(t)
	kindAlias := map[string]string{"deploy": "deployment", "svc": "service", "cm": "configmap", "hpa": "horizontalpodautoscaler", "pdb": "poddisruptionbudget"}
	composeVerbs := map[string]bool{"stop": true, "start": true, "restart": true, "logs": true, "ps": true, "up": true, "exec": true, "kill": true, "pause": true, "unpause": true}
	files, _ := filepath.Glob("*.md")
	yamlBlocks, composeCmds, kubectlCmds := 0, 0, 0
	for _, f := range files {
		if notOwned[f] {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks(string(data)) {
			if strings.HasPrefix(b.info, "yaml") {
				yamlBlocks++
				checkYAMLBlock(t, f, b, services, objects)
				continue
			}
			if !strings.HasPrefix(b.info, "sh") {
				continue
			}
			for _, c := range commands(b.text) {
				for _, m := range regexp.MustCompile(`docker compose ([a-z]+)((?:\s+(?:--?[a-z-]+(?:[ =][0-9]+)?|[a-z_0-9]+))*)`).FindAllStringSubmatch(c, -1) {
					if !composeVerbs[m[1]] {
						continue
					}
					composeCmds++
					for _, w := range strings.Fields(m[2]) {
						if strings.HasPrefix(w, "-") || regexp.MustCompile(`^[0-9]+$`).MatchString(w) {
							continue
						}
						if _, ok := services[w]; !ok {
							t.Errorf("%s:%d: docker compose %s %s: no service %q in docker-compose.yml", f, b.line, m[1], w, w)
						}
						if m[1] == "exec" {
							break // the rest is the command run in the service
						}
					}
				}
				for _, m := range regexp.MustCompile(`kubectl [^|;&]*?\s(deploy|deployment|svc|service|configmap|cm|hpa|pdb)/([a-z0-9-]+)(?:\s|$)`).FindAllStringSubmatch(regexp.MustCompile(`\s-[kf]\s+\S+`).ReplaceAllString(c, ""), -1) {
					kubectlCmds++
					kind := m[1]
					if k, ok := kindAlias[kind]; ok {
						kind = k
					}
					if !objects[kind+"/"+m[2]] {
						t.Errorf("%s:%d: kubectl names %s/%s, not in deploy/kubernetes", f, b.line, m[1], m[2])
					}
				}
			}
		}
	}
	t.Logf("%d YAML blocks parsed, %d docker compose and %d kubectl commands checked against docker-compose.yml and deploy/kubernetes",
		yamlBlocks, composeCmds, kubectlCmds)
}

// checkYAMLBlock parses one YAML block; blocks that look like compose or
// Kubernetes files get their structure checked, and a `yaml config` block
// must be a configuration `curtain config --config` accepts.
func checkYAMLBlock(t *testing.T, f string, b block, services map[string]map[string]any, objects map[string]bool) {
	t.Helper()
	if b.info == "yaml config" {
		file := filepath.Join(t.TempDir(), "curtain.yaml")
		if err := os.WriteFile(file, []byte(b.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(curtainBin, "config", "--config", file).CombinedOutput(); err != nil {
			t.Errorf("%s:%d: curtain config --config rejects the block: %v\n%s", f, b.line, err, out)
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(b.text))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if err != nil {
			if err.Error() != "EOF" {
				t.Errorf("%s:%d: YAML does not parse: %v", f, b.line, err)
			}
			return
		}
		if svcs, ok := doc["services"].(map[string]any); ok {
			// A new service needs an image or a build; an override names
			// a service of docker-compose.yml.
			for name, s := range svcs {
				m, _ := s.(map[string]any)
				_, known := services[name]
				if !known && (m == nil || (m["image"] == nil && m["build"] == nil && m["<<"] == nil)) {
					t.Errorf("%s:%d: compose service %s is neither in docker-compose.yml nor has an image or build", f, b.line, name)
				}
			}
		}
		if _, ok := doc["apiVersion"]; ok {
			meta, _ := doc["metadata"].(map[string]any)
			kind, _ := doc["kind"].(string)
			if kind == "" || meta == nil || meta["name"] == nil {
				t.Errorf("%s:%d: Kubernetes object without kind or metadata.name", f, b.line)
				continue
			}
			if id := strings.ToLower(kind) + "/" + fmt.Sprint(meta["name"]); !objects[id] {
				t.Errorf("%s:%d: %s is not an object of deploy/kubernetes", f, b.line, id)
			}
			if kind == "ConfigMap" {
				checkConfigMapData(t, fmt.Sprintf("%s:%d", f, b.line), doc["data"])
			}
		}
	}
}

// checkConfigMapData fails the test when `curtain config` does not accept
// a ConfigMap's data as its environment.
func checkConfigMapData(t *testing.T, where string, data any) {
	t.Helper()
	if err := configMapError(t, data); err != nil {
		t.Errorf("%s: curtain config rejects the ConfigMap's variables: %v", where, err)
	}
}

// configMapError runs `curtain config` with a ConfigMap's data as the
// environment: every variable must be one Curtain accepts, with a valid
// value.
func configMapError(t *testing.T, data any) error {
	t.Helper()
	m, _ := data.(map[string]any)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range m {
		env = append(env, k+"="+fmt.Sprint(v))
	}
	cmd := exec.Command(curtainBin, "config")
	cmd.Dir, cmd.Env = t.TempDir(), env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// TestShippedConfigMap checks the ConfigMap of deploy/kubernetes the same
// way as the documents' ConfigMap blocks.
func TestShippedConfigMap(t *testing.T) {
	data, err := os.ReadFile("../deploy/kubernetes/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]any `yaml:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) == 0 {
		t.Fatal("configmap.yaml has no data")
	}
	checkConfigMapData(t, "deploy/kubernetes/configmap.yaml", cm.Data)
	if configMapError(t, map[string]any{"CURTAIN_HTTP__TRUSTED_PROXIES": "not a network"}) == nil {
		t.Error("curtain config accepted CURTAIN_HTTP__TRUSTED_PROXIES=not a network; the check cannot fail")
	}
}

func TestCurlRequests(t *testing.T) {
	got := curlRequests(`curl -sS http://localhost:5000/health
test "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE http://localhost:5000/urls/2)" = 204
curl -sS -X POST http://localhost:5000/users \
  -d '{}'
curl -sS -F file=@u.csv http://localhost:5000/users/bulk | jq .
curl -sS 'http://localhost:5000/users?page=1'
curl -sS http://localhost:5000/`)
	want := []curlRequest{{"GET", "/health"}, {"DELETE", "/urls/2"}, {"POST", "/users"}, {"POST", "/users/bulk"}, {"GET", "/users"}, {"GET", "/"}}
	if !slices.Equal(got, want) {
		t.Errorf("curlRequests = %v, want %v", got, want)
	}
	if !routeMatches("/urls/{id}/analytics", "/urls/1/analytics", false) || routeMatches("/urls/{id}", "/urls/1/analytics", false) ||
		!routeMatches("/assets/{path}", "/assets/app.js", true) {
		t.Error("routeMatches")
	}
	if p := programs(`PGX=1 psql "$X" -c 'x' | grep -q y && echo "$(redis-cli ping)"`); !slices.Equal(p, []string{"psql", "grep", "echo", "redis-cli"}) {
		t.Errorf("programs = %v", p)
	}
}
