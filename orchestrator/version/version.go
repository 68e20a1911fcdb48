// Package version reports Slipway's own version and the Kubernetes release it packages.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	k8sversion "k8s.io/component-base/version"
)

// Version is Slipway's version from git, stamped by the build with
// -ldflags "-X .../orchestrator/version.Version=...".
var Version = "0.0.0-dev"

// Info is what `slipway version` reports.
type Info struct {
	Slipway    string `json:"slipway"`
	Kubernetes string `json:"kubernetes"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
}

// Get returns the version information of this binary.
func Get() Info {
	return Info{
		Slipway:    Version,
		Kubernetes: Kubernetes(),
		Go:         runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// Kubernetes is the version the upstream components report about themselves. The build
// stamps it into k8s.io/component-base; when a plain `go build` did not, the version of
// the linked k8s.io/kubernetes module is the honest answer, so components never claim
// the meaningless "v0.0.0-master+$Format:%H$".
func Kubernetes() string {
	if v := k8sversion.Get().GitVersion; v != "" && !strings.HasPrefix(v, "v0.0.0-master") {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "k8s.io/kubernetes" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// String renders the information for humans, one fact per line.
func (i Info) String() string {
	return fmt.Sprintf("slipway %s\nkubernetes %s\ngo %s\nplatform %s\n", i.Slipway, i.Kubernetes, i.Go, i.Platform)
}
