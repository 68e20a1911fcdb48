package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	corev1 "k8s.io/api/core/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewPodResource returns the slipway_pod resource.
func NewPodResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "pod",
		title:    "Pod",
		desc: "A Kubernetes Pod, applied by server-side apply. Most of a pod's spec cannot change once it runs: " +
			"the plan's dry run finds such a change and plans a new pod instead (images, tolerations and a few other " +
			"fields change in place). Apply waits until the pod is ready, or has run to completion.",
		gvr:              k8sschema.GroupVersionResource{Version: "v1", Resource: "pods"},
		kind:             "Pod",
		spec:             reflect.TypeOf(corev1.PodSpec{}),
		namespaced:       true,
		replaceImmutable: true,
		wait: &waitKind{
			what: "readiness", enable: "wait_for_ready", timeout: "ready_timeout", done: "ready",
			byDefault: true, defaultTime: "5m",
			enableDesc: "Wait after apply until the pod is ready or has succeeded (default true). A pod that failed " +
				"or cannot start (image pull error, crash loop, unschedulable) fails the apply with the reason.",
			doneDesc: "Whether the pod was ready when the last apply waited: false after a failure or timeout, and " +
				"then the next plan waits again; null when apply did not wait.",
			fn: podReady,
		},
	}}
}
