package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

var _ resource.ResourceWithImportState = (*objectResource[namespaceModel, *corev1.Namespace])(nil)

type namespaceModel struct {
	ID         types.String     `tfsdk:"id"`
	Metadata   metadataModel    `tfsdk:"metadata"`
	Connection *connectionModel `tfsdk:"cluster"`
}

// NewNamespaceResource returns the slipway_namespace resource.
func NewNamespaceResource() resource.Resource {
	return &objectResource[namespaceModel, *corev1.Namespace]{k: kind[namespaceModel, *corev1.Namespace]{
		typeName: "namespace",
		title:    "Namespace",
		schema: func() schema.Schema {
			return schema.Schema{
				MarkdownDescription: "A Kubernetes namespace. Deleting it deletes everything in it, and waits until it is gone.",
				Attributes: map[string]schema.Attribute{
					"id":       idSchema("The namespace's name."),
					"metadata": metadataSchema(false, validators.DNSLabel()),
					"cluster":  connectionSchema(),
				},
			}
		},
		parts: func(m *namespaceModel) (*metadataModel, string, *connectionModel) {
			return &m.Metadata, "", m.Connection
		},
		apply: func(ctx context.Context, cl kubernetes.Interface, m *namespaceModel) (*corev1.Namespace, diag.Diagnostics) {
			labels, annotations, diags := metadataMaps(ctx, &m.Metadata)
			if diags.HasError() {
				return nil, diags
			}
			name := m.Metadata.Name.ValueString()
			ac := corev1ac.Namespace(name).WithLabels(labels).WithAnnotations(annotations)
			ns, err := cl.CoreV1().Namespaces().Apply(ctx, ac, applyOptions)
			if err != nil {
				diags.AddError("Cannot Apply Namespace", fmt.Sprintf("server-side apply of namespace %q: %v", name, err))
			}
			return ns, diags
		},
		get: func(ctx context.Context, cl kubernetes.Interface, _, name string) (*corev1.Namespace, error) {
			return cl.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		},
		del: func(ctx context.Context, cl kubernetes.Interface, _, name string) error {
			return cl.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		},
		fill: func(m *namespaceModel, ns *corev1.Namespace, importing bool) {
			m.ID = types.StringValue(ns.Name)
			fillMetadata(&m.Metadata, &ns.ObjectMeta, importing)
		},
		// A later create of the same name fails while the old one terminates.
		waitDeleted: 5 * time.Minute,
	}}
}

var applyOptions = metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true}
