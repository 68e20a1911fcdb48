package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	appsv1 "k8s.io/api/apps/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewReplicaSetResource returns the slipway_replica_set resource.
func NewReplicaSetResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "replica_set",
		title:    "Replica Set",
		desc: "A Kubernetes ReplicaSet, applied by server-side apply: a number of identical pods. Prefer " +
			"`slipway_deployment`, which rolls a changed template out; a replica set changes only the pods it " +
			"creates from then on. Apply waits until the wanted replicas are available.",
		gvr:        k8sschema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"},
		kind:       "ReplicaSet",
		spec:       reflect.TypeOf(appsv1.ReplicaSetSpec{}),
		namespaced: true,
		wait: &waitKind{
			what: "readiness", enable: "wait_for_ready", timeout: "ready_timeout", done: "ready",
			byDefault: true, defaultTime: "10m",
			enableDesc: "Wait after apply until the wanted replicas are available (default true). A pod that cannot " +
				"start (image pull error, crash loop, unschedulable) fails the apply with the reason.",
			doneDesc: "Whether the replicas were available when the last apply waited: false after a failure or " +
				"timeout, and then the next plan waits again; null when apply did not wait.",
			fn: replicaSetReady,
		},
	}}
}
