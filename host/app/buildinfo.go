package app

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo is the version data of the running binary.
type BuildInfo struct {
	// Version is the module version for a `go install`, "(devel)" for a
	// build in a checkout.
	Version string
	// Commit and Time are the VCS stamp of a build in a git checkout;
	// Commit is "unknown" without one.
	Commit, Time string
	// GoVersion is the toolchain that built the binary.
	GoVersion string
	// Modified reports uncommitted changes in the built checkout.
	Modified bool
}

// ReadBuildInfo reads the binary's build information.
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{Version: "(devel)", Commit: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	b.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// buildInfoGauge is curtain_build_info: always 1, with the version data
// as labels, so that a query can join it to tell which build answers.
func buildInfoGauge(b BuildInfo) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "curtain_build_info",
		Help: "Always 1; labels: the Curtain version, the VCS revision and the Go version of the running binary.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Commit, b.GoVersion).Set(1)
	return g
}
