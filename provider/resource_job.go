package provider

import (
	"reflect"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	batchv1 "k8s.io/api/batch/v1"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// NewJobResource returns the slipway_job resource.
func NewJobResource() resource.Resource {
	return &specResource{k: specKind{
		typeName: "job",
		title:    "Job",
		desc: "A Kubernetes Job, applied by server-side apply: pods that run to completion. The selector and the " +
			"labels the job controller adds to the pod template are Kubernetes' own and never show as changes. Most " +
			"of a job's spec cannot change once created: the plan's dry run finds such a change and plans a new job " +
			"instead. A job removed by `ttl_seconds_after_finished` " +
			"is created again by the next apply.",
		gvr:              k8sschema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"},
		kind:             "Job",
		spec:             reflect.TypeOf(batchv1.JobSpec{}),
		namespaced:       true,
		replaceImmutable: true,
		wait: &waitKind{
			what: "completion", enable: "wait_for_completion", timeout: "completion_timeout", done: "completed",
			byDefault: false, defaultTime: "10m",
			enableDesc: "Wait after apply until the job completes (default false). A job the controller gives up on " +
				"(backoff limit, deadline), or whose pod cannot pull its image or crash-loops, fails the apply with the reason.",
			doneDesc: "Whether the job had completed when the last apply waited: false after a failure or timeout, and " +
				"then the next plan waits again; null when apply did not wait.",
			fn: jobCompletion,
		},
	}}
}
