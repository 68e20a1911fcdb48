package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	corev1 "k8s.io/api/core/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewServiceResource returns the slipway_service resource.
func NewServiceResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "service",
		title:    "Service",
		desc: "A Kubernetes Service: ClusterIP, NodePort, LoadBalancer, ExternalName or headless " +
			"(`cluster_ip = \"None\"`). Ports are matched by name, so removing or reordering one leaves the others alone.",
		gvr:        k8sschema.GroupVersionResource{Version: "v1", Resource: "services"},
		kind:       "Service",
		spec:       reflect.TypeOf(corev1.ServiceSpec{}),
		namespaced: true,
	}}
}
