package kube

import "strings"

// controllerManagers are the field managers of Kubernetes' own components. What they
// set (defaults, scale from an autoscaler's controller, a volume's claim_ref) is not
// the user's intent, so import leaves it out. Components built into one binary
// carry its name: "slipway" for Slipway's node binary, "k3s" and "k0s" for theirs.
var controllerManagers = []string{"kube-controller-manager", "kube-scheduler", "kubelet", "kube-apiserver", "slipway", "k3s", "k0s"}

// IsControllerManager reports whether a field manager is one of Kubernetes' own.
func IsControllerManager(manager string) bool {
	for _, m := range controllerManagers {
		if manager == m {
			return true
		}
	}
	return strings.HasSuffix(manager, "-controller")
}

// systemMetadataKeys are labels and annotations the API server or tools add on their
// own; they never belong in a user's configuration.
var systemMetadataKeys = []string{
	"kubernetes.io/metadata.name",
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
}

// IsSystemKey reports whether a label or annotation key is set by the system.
func IsSystemKey(key string) bool {
	for _, k := range systemMetadataKeys {
		if key == k {
			return true
		}
	}
	return false
}

// SelectKeys returns the entries of live whose keys are wanted: the keys the user
// configured. Controllers' additions never show as drift (case W6); a configured key
// that someone changed or removed does.
func SelectKeys(live map[string]string, wanted map[string]string) map[string]string {
	if len(wanted) == 0 {
		return nil
	}
	out := map[string]string{}
	for k := range wanted {
		if v, ok := live[k]; ok {
			out[k] = v
		}
	}
	return out
}

// ImportKeys returns live's entries without the system's own, for import, where there
// is no configuration yet to select by.
func ImportKeys(live map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range live {
		if !IsSystemKey(k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
