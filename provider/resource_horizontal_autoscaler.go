package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewHorizontalAutoscalerResource returns the slipway_horizontal_autoscaler
// resource.
func NewHorizontalAutoscalerResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "horizontal_autoscaler",
		title:    "Horizontal Autoscaler",
		desc: "A Kubernetes HorizontalPodAutoscaler (`autoscaling/v2`), applied by server-side apply. Leave " +
			"`replicas` out of the workload it scales: the autoscaler owns it then, and plans never fight it. CPU and " +
			"memory targets need the resource metrics API, which Slipway clusters serve.",
		gvr:        k8sschema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
		kind:       "HorizontalPodAutoscaler",
		spec:       reflect.TypeOf(autoscalingv2.HorizontalPodAutoscalerSpec{}),
		namespaced: true,
	}}
}
