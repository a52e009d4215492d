package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/internal/testenv"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// manifests are the decoded objects of the folder, by kind.
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	hpas        []autoscalingv2.HorizontalPodAutoscaler
	pdbs        []policyv1.PodDisruptionBudget
}

// kustomization is the part of kustomize's file the test reads.
type kustomization struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Labels     []json.RawMessage `json:"labels"`
	Resources  []string          `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// strict decodes one YAML document into v, refusing unknown fields.
func strict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// documents splits a YAML stream on its `---` separators.
func documents(data []byte) [][]byte {
	var docs [][]byte
	for _, part := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(stripComments(part))) > 0 {
			docs = append(docs, part)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}

// decodeInto decodes doc strictly and appends it to list.
func decodeInto[T any](doc []byte, list *[]T) error {
	var v T
	if err := strict(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// load decodes every document of files into m, strictly.
func load(t *testing.T, files ...string) manifests {
	t.Helper()
	var m manifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(data) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var err error
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				err = decodeInto(doc, &m.deployments)
			case "v1 Service":
				err = decodeInto(doc, &m.services)
			case "v1 ConfigMap":
				err = decodeInto(doc, &m.configMaps)
			case "v1 Secret":
				err = decodeInto(doc, &m.secrets)
			case "autoscaling/v2 HorizontalPodAutoscaler":
				err = decodeInto(doc, &m.hpas)
			case "policy/v1 PodDisruptionBudget":
				err = decodeInto(doc, &m.pdbs)
			default:
				err = fmt.Errorf("unexpected %s %s", tm.APIVersion, tm.Kind)
			}
			if err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
		}
	}
	return m
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := strict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return k
}

// TestKustomizationListsEveryManifest keeps kustomization.yaml and the folder
// in step: every resource exists and every manifest is a resource.
func TestKustomizationListsEveryManifest(t *testing.T) {
	k := readKustomization(t)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml is %s %s", k.APIVersion, k.Kind)
	}
	files, _ := filepath.Glob("*.yaml")
	for _, f := range files {
		if f == "kustomization.yaml" || strings.HasSuffix(f, ".example.yaml") {
			continue
		}
		if !slices.Contains(k.Resources, f) {
			t.Errorf("%s is not listed in kustomization.yaml", f)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(r); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	if len(k.Images) != 1 || k.Images[0].Name != "curtain" {
		t.Errorf("images: want one entry for the image name curtain, got %+v", k.Images)
	}
}

// all loads the resources and the example Secret.
func all(t *testing.T) manifests {
	return load(t, append(readKustomization(t).Resources, "secret.example.yaml")...)
}

func TestWhatAProductionDeploymentNeeds(t *testing.T) {
	m := all(t)
	components := map[string]bool{}
	for _, d := range m.deployments {
		components[d.Spec.Template.Labels["app.kubernetes.io/component"]] = true
	}
	for _, want := range []string{"api", "consumer", "notify"} {
		if !components[want] {
			t.Errorf("no Deployment for the %s component", want)
		}
	}
	if len(m.services) == 0 || len(m.configMaps) == 0 || len(m.hpas) == 0 || len(m.pdbs) == 0 {
		t.Errorf("want a Service, a ConfigMap, an HPA and a PDB; got %d, %d, %d, %d",
			len(m.services), len(m.configMaps), len(m.hpas), len(m.pdbs))
	}
}

var subcommands = []string{"serve", "consume", "notify"}

func TestDeployments(t *testing.T) {
	m := all(t)
	for _, d := range m.deployments {
		t.Run(d.Name, func(t *testing.T) {
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("selector %v does not match the pod template's labels %v", sel, d.Spec.Template.Labels)
			}
			pod := d.Spec.Template.Spec
			if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
				t.Error("enableServiceLinks must be false: a Service named curtain injects CURTAIN_* variables")
			}
			for _, c := range pod.Containers {
				if c.Image != "curtain" {
					t.Errorf("container %s: image %q, want the kustomize name curtain", c.Name, c.Image)
				}
				if len(c.Args) == 0 || !slices.Contains(subcommands, c.Args[0]) {
					t.Errorf("container %s: args %v do not start with a curtain subcommand %v", c.Name, c.Args, subcommands)
				}
				if c.LivenessProbe == nil {
					t.Errorf("container %s has no liveness probe", c.Name)
				}
				for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
					if p != nil && p.HTTPGet != nil && !hasPort(c, p.HTTPGet.Port.String()) {
						t.Errorf("container %s: probe port %s is not one of its ports", c.Name, p.HTTPGet.Port.String())
					}
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("container %s needs a CPU request and a memory limit", c.Name)
				}
				for _, from := range c.EnvFrom {
					if from.ConfigMapRef != nil && !slices.ContainsFunc(m.configMaps, func(x corev1.ConfigMap) bool { return x.Name == from.ConfigMapRef.Name }) {
						t.Errorf("container %s reads ConfigMap %s, which is not defined", c.Name, from.ConfigMapRef.Name)
					}
					if from.SecretRef != nil && !slices.ContainsFunc(m.secrets, func(x corev1.Secret) bool { return x.Name == from.SecretRef.Name }) {
						t.Errorf("container %s reads Secret %s, which secret.example.yaml does not show", c.Name, from.SecretRef.Name)
					}
				}
				mounted := map[string]bool{}
				for _, vm := range c.VolumeMounts {
					mounted[vm.MountPath] = true
				}
				if c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem && !mounted["/tmp"] {
					t.Errorf("container %s has a read-only root but no writable /tmp for the plugin sockets", c.Name)
				}
			}
		})
	}
	api := deployment(t, m, "api")
	c := api.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe.HTTPGet.Path != "/health" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/health/ready" {
		t.Errorf("api probes: liveness on /health and readiness on /health/ready wanted")
	}
}

func hasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

func deployment(t *testing.T, m manifests, component string) appsv1.Deployment {
	t.Helper()
	for _, d := range m.deployments {
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == component {
			return d
		}
	}
	t.Fatalf("no Deployment for %s", component)
	return appsv1.Deployment{}
}

// selects returns the Deployments whose pods sel matches.
func selects(m manifests, sel labels.Selector) []appsv1.Deployment {
	var out []appsv1.Deployment
	for _, d := range m.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

func TestServicesReachPods(t *testing.T) {
	m := all(t)
	for _, s := range m.services {
		targets := selects(m, labels.SelectorFromSet(s.Spec.Selector))
		if len(targets) != 1 {
			t.Errorf("Service %s selects %d Deployments, want 1", s.Name, len(targets))
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasPort(targets[0].Spec.Template.Spec.Containers[0], p.TargetPort.String()) {
				t.Errorf("Service %s port %s targets %s, which %s does not expose", s.Name, p.Name, p.TargetPort.String(), targets[0].Name)
			}
		}
	}
}

func TestAutoscalerAndDisruptionBudgets(t *testing.T) {
	m := all(t)
	for _, h := range m.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || !slices.ContainsFunc(m.deployments, func(d appsv1.Deployment) bool { return d.Name == ref.Name }) {
			t.Errorf("HPA %s scales %s %s, which is not defined", h.Name, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: want at least 2 replicas and max ≥ min", h.Name)
		}
	}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(selects(m, sel)); n != 1 {
			t.Errorf("PDB %s selects %d Deployments, want 1", p.Name, n)
		}
	}
}

// TestContainerEnvironmentIsAValidConfiguration loads the environment each
// container gets (ConfigMap, example Secret, literal values) through
// Curtain's own configuration loader.
func TestContainerEnvironmentIsAValidConfiguration(t *testing.T) {
	m := all(t)
	for _, d := range m.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			cfg, err := config.Load(config.Sources{Environ: environOf(m, c)})
			if err != nil {
				t.Errorf("%s/%s: %v", d.Name, c.Name, err)
				continue
			}
			for _, w := range cfg.Warnings {
				t.Errorf("%s/%s: %s", d.Name, c.Name, w)
			}
			if cfg.Store.Driver != "postgres" || cfg.Consumer.InServe {
				t.Errorf("%s/%s: want the postgres store and no consumer inside serve, got %s, in_serve=%v", d.Name, c.Name, cfg.Store.Driver, cfg.Consumer.InServe)
			}
		}
	}
}

// TestListenAddressesMatchPorts checks each container against the process
// it runs: serve listens on http.addr, notify on notify.addr and consume
// serves its metrics on --metrics-addr; that port must be one the
// container declares and the one its prometheus.io/port annotation names.
func TestListenAddressesMatchPorts(t *testing.T) {
	m := all(t)
	for _, d := range m.deployments {
		pod := d.Spec.Template
		for _, c := range pod.Spec.Containers {
			if len(c.Args) == 0 {
				continue // TestDeployments reports it
			}
			cfg, err := config.Load(config.Sources{Environ: environOf(m, c)})
			if err != nil {
				continue // TestContainerEnvironmentIsAValidConfiguration reports it
			}
			var addr string
			switch c.Args[0] {
			case "serve":
				addr = testenv.FlagValue(c.Args, "addr", cfg.HTTP.Addr)
			case "notify":
				addr = testenv.FlagValue(c.Args, "addr", cfg.Notify.Addr)
			case "consume":
				addr = testenv.FlagValue(c.Args, "metrics-addr", "")
			}
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Errorf("%s/%s: curtain %s listens on %q: %v", d.Name, c.Name, c.Args[0], addr, err)
				continue
			}
			if !hasPort(c, port) {
				t.Errorf("%s/%s: curtain %s listens on %s, not a port of the container", d.Name, c.Name, c.Args[0], port)
			}
			if ann := pod.Annotations["prometheus.io/port"]; ann != port {
				t.Errorf("%s: prometheus.io/port is %q, but curtain %s serves /metrics on %s", d.Name, ann, c.Args[0], port)
			}
		}
	}
}

// environOf is the environment a container gets: the ConfigMaps and the
// example Secret it reads, then its literal values.
func environOf(m manifests, c corev1.Container) []string {
	var environ []string
	for _, from := range c.EnvFrom {
		for _, cm := range m.configMaps {
			if from.ConfigMapRef != nil && cm.Name == from.ConfigMapRef.Name {
				for k, v := range cm.Data {
					environ = append(environ, k+"="+v)
				}
			}
		}
		for _, s := range m.secrets {
			if from.SecretRef != nil && s.Name == from.SecretRef.Name {
				for k, v := range s.StringData {
					environ = append(environ, k+"="+v)
				}
			}
		}
	}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = "pod-name"
		}
		environ = append(environ, e.Name+"="+v)
	}
	return environ
}

// kustomizeLabel is one entry of kustomization.yaml's labels.
type kustomizeLabel struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeSelectors bool              `json:"includeSelectors"`
	IncludeTemplates bool              `json:"includeTemplates"`
	Fields           []json.RawMessage `json:"fields"`
}

// rendered returns the manifests with kustomization.yaml's labels applied
// as kustomize applies them: to every object, to the pod templates only
// with includeTemplates, to the selectors only with includeSelectors.
func rendered(t *testing.T) manifests {
	t.Helper()
	m := all(t)
	for i, raw := range readKustomization(t).Labels {
		var l kustomizeLabel
		if err := strict(raw, &l); err != nil {
			t.Fatalf("kustomization.yaml labels[%d]: %v", i, err)
		}
		for k, v := range l.Pairs {
			for j := range m.deployments {
				d := &m.deployments[j]
				if l.IncludeTemplates || l.IncludeSelectors {
					d.Spec.Template.Labels[k] = v
				}
				if l.IncludeSelectors {
					d.Spec.Selector.MatchLabels[k] = v
				}
			}
			if l.IncludeSelectors {
				for j := range m.services {
					m.services[j].Spec.Selector[k] = v
				}
			}
		}
	}
	return m
}

// docCommands returns the lines of the operator documents that hold
// cmd, with the document's name.
func docCommands(t *testing.T, cmd string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md: %v", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, cmd) {
				out[filepath.Base(f)] = append(out[filepath.Base(f)], line)
			}
		}
	}
	return out
}

// TestDocumentedPodSelectorsFindPods checks every `kubectl get pods -l
// SELECTOR` of the docs against the pod templates as kustomize renders
// them: a label kustomization.yaml adds without includeTemplates is on
// the Deployments but not on their pods, and such a selector lists
// nothing.
func TestDocumentedPodSelectorsFindPods(t *testing.T) {
	m := rendered(t)
	re := regexp.MustCompile("kubectl get pods -l ([^\\s`]+)")
	n := 0
	for f, lines := range docCommands(t, "kubectl get pods -l") {
		for _, line := range lines {
			for _, match := range re.FindAllStringSubmatch(line, -1) {
				n++
				sel, err := labels.Parse(match[1])
				if err != nil {
					t.Errorf("%s: selector %q: %v", f, match[1], err)
					continue
				}
				if len(selects(m, sel)) == 0 {
					t.Errorf("%s: `kubectl get pods -l %s` selects no pod template", f, match[1])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("found no `kubectl get pods -l` in docs/*.md")
	}
	// The selector of the deployment guide lists every Curtain pod.
	partOf := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/part-of": "curtain"})
	if got := len(selects(m, partOf)); got != len(m.deployments) {
		t.Errorf("app.kubernetes.io/part-of=curtain selects the pods of %d of %d Deployments", got, len(m.deployments))
	}
}

// TestDocumentedPortForwardsReachAServicePort checks every `kubectl
// port-forward svc/NAME LOCAL:REMOTE` of the docs: REMOTE must be a port
// of the Service (kubectl refuses any other).
func TestDocumentedPortForwardsReachAServicePort(t *testing.T) {
	m := all(t)
	re := regexp.MustCompile(`kubectl port-forward (?:svc|service)/([a-z0-9-]+) ([0-9]+:)?([0-9]+)`)
	n := 0
	for f, lines := range docCommands(t, "kubectl port-forward") {
		for _, line := range lines {
			for _, match := range re.FindAllStringSubmatch(line, -1) {
				n++
				i := slices.IndexFunc(m.services, func(s corev1.Service) bool { return s.Name == match[1] })
				if i < 0 {
					t.Errorf("%s: port-forward to svc/%s, which is not defined", f, match[1])
					continue
				}
				if !slices.ContainsFunc(m.services[i].Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == match[3] }) {
					t.Errorf("%s: port-forward svc/%s %s%s: the Service has no port %s", f, match[1], match[2], match[3], match[3])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("found no `kubectl port-forward svc/...` in docs/*.md")
	}
}

// TestDocumentedSetImageNamesContainers checks every `kubectl set image
// deploy/NAME CONTAINER=IMAGE` of the docs: CONTAINER must be a container
// of that Deployment (kubectl refuses any other name).
func TestDocumentedSetImageNamesContainers(t *testing.T) {
	m := all(t)
	re := regexp.MustCompile(`kubectl set image (?:deploy|deployment)/([a-z0-9-]+) ([a-z0-9-]+)=`)
	n := 0
	for f, lines := range docCommands(t, "kubectl set image") {
		for _, line := range lines {
			for _, match := range re.FindAllStringSubmatch(line, -1) {
				n++
				i := slices.IndexFunc(m.deployments, func(d appsv1.Deployment) bool { return d.Name == match[1] })
				if i < 0 {
					t.Errorf("%s: set image on deploy/%s, which is not defined", f, match[1])
					continue
				}
				containers := m.deployments[i].Spec.Template.Spec.Containers
				if !slices.ContainsFunc(containers, func(c corev1.Container) bool { return c.Name == match[2] }) {
					t.Errorf("%s: deploy/%s has no container %s", f, match[1], match[2])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("found no `kubectl set image deploy/...` in docs/*.md")
	}
	if n < len(m.deployments) {
		t.Errorf("docs/*.md show `kubectl set image` for %d of %d Deployments: an upgrade must name each", n, len(m.deployments))
	}
}

// pluginStopGrace is how long the plugin host waits for a plugin to exit
// after asking it to, before killing it (go-plugin's Client.Kill).
const pluginStopGrace = 2 * time.Second

// consumerFinishTimeout is the time the consumer gives the batch it read
// to be stored after SIGTERM (consumer.Config.FinishTimeout's default).
const consumerFinishTimeout = 10 * time.Second

// TestGracePeriodCoversShutdown checks that each pod's
// terminationGracePeriodSeconds outlasts the shutdown its process runs
// after SIGTERM, with the timeouts of its own environment, so that a slow
// drain is not cut by SIGKILL:
//   - serve: serving on with readiness down (http.shutdown_delay), the
//     HTTP drain (http.shutdown_timeout), then the final click
//     flush on its own clock (clicks.final_flush_timeout), then the plugins;
//   - consume: the batch already read (consumer finish timeout), then the
//     plugins;
//   - notify: the HTTP server and the alert queue (http.shutdown_timeout),
//     then the plugins.
func TestGracePeriodCoversShutdown(t *testing.T) {
	const slack = 5 * time.Second
	m := all(t)
	for _, d := range m.deployments {
		c := d.Spec.Template.Spec.Containers[0]
		cfg, err := config.Load(config.Sources{Environ: environOf(m, c)})
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		var need time.Duration
		switch c.Args[0] {
		case "serve":
			need = cfg.HTTP.ShutdownDelay + cfg.HTTP.ShutdownTimeout + cfg.Clicks.FinalFlushTimeout + pluginStopGrace
			if cfg.Consumer.InServe {
				need += consumerFinishTimeout
			}
		case "consume":
			need = consumerFinishTimeout + pluginStopGrace
		case "notify":
			need = cfg.HTTP.ShutdownTimeout + pluginStopGrace
		default:
			t.Fatalf("%s: unexpected subcommand %s", d.Name, c.Args[0])
		}
		grace := 30 * time.Second // the Kubernetes default
		if p := d.Spec.Template.Spec.TerminationGracePeriodSeconds; p != nil {
			grace = time.Duration(*p) * time.Second
		}
		if grace < need+slack {
			t.Errorf("%s: terminationGracePeriodSeconds is %s; %s needs up to %s to stop, plus %s slack", d.Name, grace, c.Args[0], need, slack)
		}
	}
}

// TestEveryPodIsScraped checks the prometheus.io/* annotations the
// deployment guide relies on: every process serves /metrics (serve on
// http.addr, consume on --metrics-addr, notify on notify.addr), and the
// alert rules and failure-modes.md watch each one's up.
func TestEveryPodIsScraped(t *testing.T) {
	m := all(t)
	for _, d := range m.deployments {
		a := d.Spec.Template.Annotations
		if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s: pod template annotations %v: want prometheus.io/scrape \"true\" and prometheus.io/path /metrics", d.Name, a)
			continue
		}
		if c := d.Spec.Template.Spec.Containers[0]; !hasPort(c, a["prometheus.io/port"]) {
			t.Errorf("%s: prometheus.io/port %q is not a port of container %s", d.Name, a["prometheus.io/port"], c.Name)
		}
	}
}
