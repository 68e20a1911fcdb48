package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

var _ resource.ResourceWithImportState = (*objectResource[configMapModel, *corev1.ConfigMap])(nil)

type configMapModel struct {
	ID         types.String            `tfsdk:"id"`
	Metadata   namespacedMetadataModel `tfsdk:"metadata"`
	Data       types.Map               `tfsdk:"data"`
	BinaryData types.Map               `tfsdk:"binary_data"`
	Immutable  types.Bool              `tfsdk:"immutable"`
	Connection *connectionModel        `tfsdk:"cluster"`
}

// NewConfigMapResource returns the slipway_config_map resource.
func NewConfigMapResource() resource.Resource {
	return &objectResource[configMapModel, *corev1.ConfigMap]{k: kind[configMapModel, *corev1.ConfigMap]{
		typeName:   "config_map",
		title:      "Config Map",
		namespaced: true,
		schema: func() schema.Schema {
			return schema.Schema{
				MarkdownDescription: "A Kubernetes ConfigMap: configuration for pods, as files or environment variables.",
				Attributes: map[string]schema.Attribute{
					"id":       idSchema("`namespace/name`."),
					"metadata": metadataSchema(true, validators.DNSSubdomain()),
					"data": schema.MapAttribute{
						Optional: true, ElementType: types.StringType,
						MarkdownDescription: "UTF-8 data by key. Keys others add are left alone.",
						Validators:          []validator.Map{validators.DataKeys()},
					},
					"binary_data": schema.MapAttribute{
						Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Binary data by key, each value base64-encoded (for example with `filebase64()`).",
						Validators:          []validator.Map{validators.DataKeys(), validators.Base64Values()},
					},
					"immutable": immutableSchema(),
					"cluster":   connectionSchema(),
				},
			}
		},
		parts: func(m *configMapModel) (*metadataModel, string, *connectionModel) {
			return &m.Metadata.metadataModel, m.Metadata.Namespace.ValueString(), m.Connection
		},
		apply: func(ctx context.Context, cl kubernetes.Interface, m *configMapModel) (*corev1.ConfigMap, diag.Diagnostics) {
			labels, annotations, diags := metadataMaps(ctx, &m.Metadata.metadataModel)
			data, d := stringMap(ctx, m.Data)
			diags.Append(d...)
			binary, d := bytesMap(ctx, m.BinaryData)
			diags.Append(d...)
			if diags.HasError() {
				return nil, diags
			}
			ns, name := m.Metadata.Namespace.ValueString(), m.Metadata.Name.ValueString()
			ac := corev1ac.ConfigMap(name, ns).WithLabels(labels).WithAnnotations(annotations).WithData(data).WithBinaryData(binary)
			if !m.Immutable.IsNull() {
				ac.WithImmutable(m.Immutable.ValueBool())
			}
			cm, err := cl.CoreV1().ConfigMaps(ns).Apply(ctx, ac, applyOptions)
			if err != nil {
				diags.AddError("Cannot Apply Config Map", fmt.Sprintf("server-side apply of config map %s/%s: %v", ns, name, err))
			}
			return cm, diags
		},
		get: func(ctx context.Context, cl kubernetes.Interface, ns, name string) (*corev1.ConfigMap, error) {
			return cl.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		},
		del: func(ctx context.Context, cl kubernetes.Interface, ns, name string) error {
			return cl.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		fill: func(m *configMapModel, cm *corev1.ConfigMap, importing bool) {
			m.ID = types.StringValue(cm.Namespace + "/" + cm.Name)
			fillNamespacedMetadata(&m.Metadata, &cm.ObjectMeta, importing)
			m.Immutable = readImmutable(cm.Immutable, m.Immutable, importing)
			if importing {
				m.Data = mapValue(cm.Data, m.Data)
				m.BinaryData = mapValue(encodeBytesMap(cm.BinaryData), m.BinaryData)
				return
			}
			ctx := context.Background()
			want, _ := stringMap(ctx, m.Data)
			m.Data = mapValue(kube.SelectKeys(cm.Data, want), m.Data)
			wantB, _ := stringMap(ctx, m.BinaryData)
			m.BinaryData = mapValue(keepSpelling(kube.SelectKeys(encodeBytesMap(cm.BinaryData), wantB), wantB), m.BinaryData)
		},
	}}
}
