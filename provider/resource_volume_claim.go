package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	corev1 "k8s.io/api/core/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewVolumeClaimResource returns the slipway_volume_claim resource (a
// PersistentVolumeClaim).
func NewVolumeClaimResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "volume_claim",
		title:    "Volume Claim",
		desc: "A Kubernetes PersistentVolumeClaim, applied by server-side apply. The volume it binds to " +
			"(`volume_name`) and the storage class a default class fills in are Kubernetes' choice and never show " +
			"as changes unless the configuration sets them. Most of a claim's spec cannot change once created (the API " +
			"server refuses it); `resources.requests.storage` can grow where the storage class allows expansion.",
		gvr:        k8sschema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"},
		kind:       "PersistentVolumeClaim",
		spec:       reflect.TypeOf(corev1.PersistentVolumeClaimSpec{}),
		namespaced: true,
		wait: &waitKind{
			what: "binding", enable: "wait_for_binding", timeout: "binding_timeout", done: "bound",
			byDefault: false, defaultTime: "5m",
			enableDesc: "Wait after apply until the claim is bound to a volume (default false). A claim whose " +
				"storage class binds only when a pod uses it (`WaitForFirstConsumer`) is not waited for, so an apply " +
				"that creates the pod after the claim never deadlocks.",
			doneDesc: "Whether the claim was bound when the last apply waited; null when it did not wait (or the " +
				"storage class binds on first use). False after a timeout, and then the next plan waits again.",
			fn: claimBinding,
		},
	}}
}
