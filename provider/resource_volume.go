package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	corev1 "k8s.io/api/core/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewVolumeResource returns the slipway_volume resource (a PersistentVolume).
func NewVolumeResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "volume",
		title:    "Volume",
		desc: "A Kubernetes PersistentVolume, applied by server-side apply: storage that claims bind to. The " +
			"source is one of the spec's volume sources (`nfs`, `host_path`, `local`, `csi`, ...). The claim it binds " +
			"to (`claim_ref`) is set by Kubernetes and never shows as a change unless the configuration sets it. " +
			"Cluster-scoped: it has no namespace.",
		gvr:  k8sschema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"},
		kind: "PersistentVolume",
		spec: reflect.TypeOf(corev1.PersistentVolumeSpec{}),
	}}
}
