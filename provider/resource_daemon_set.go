package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	appsv1 "k8s.io/api/apps/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewDaemonSetResource returns the slipway_daemon_set resource.
func NewDaemonSetResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "daemon_set",
		title:    "Daemon Set",
		desc: "A Kubernetes DaemonSet, applied by server-side apply: a pod on every node its selectors and " +
			"tolerations allow. Apply waits until every such node runs the new template (not with the `OnDelete` " +
			"update strategy, where nothing rolls out on its own); to roll back, apply the previous configuration.",
		gvr:        k8sschema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"},
		kind:       "DaemonSet",
		spec:       reflect.TypeOf(appsv1.DaemonSetSpec{}),
		namespaced: true,
		wait:       rolloutWait(daemonSetRollout),
	}}
}
