package provider

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

var _ resource.ResourceWithImportState = (*objectResource[secretModel, *corev1.Secret])(nil)

type secretModel struct {
	ID         types.String            `tfsdk:"id"`
	Metadata   namespacedMetadataModel `tfsdk:"metadata"`
	Type       types.String            `tfsdk:"type"`
	Data       types.Map               `tfsdk:"data"`
	BinaryData types.Map               `tfsdk:"binary_data"`
	DataWO     types.Map               `tfsdk:"data_wo"`
	DataWOVer  types.Int64             `tfsdk:"data_wo_version"`
	Immutable  types.Bool              `tfsdk:"immutable"`
	Connection *connectionModel        `tfsdk:"cluster"`
}

// NewSecretResource returns the slipway_secret resource.
func NewSecretResource() resource.Resource {
	return &objectResource[secretModel, *corev1.Secret]{k: kind[secretModel, *corev1.Secret]{
		typeName:   "secret",
		title:      "Secret",
		namespaced: true,
		schema: func() schema.Schema {
			return schema.Schema{
				MarkdownDescription: "A Kubernetes Secret. Its data is sensitive: Terraform never shows it in plans or logs.",
				Attributes: map[string]schema.Attribute{
					"id":       idSchema("`namespace/name`."),
					"metadata": metadataSchema(true, validators.DNSSubdomain()),
					"type": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(string(corev1.SecretTypeOpaque)),
						MarkdownDescription: "Secret type, such as `Opaque` (default) or `kubernetes.io/tls`. Changing it replaces the secret.",
						PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
					},
					"data": schema.MapAttribute{
						Optional: true, Sensitive: true, ElementType: types.StringType,
						MarkdownDescription: "Secret values by key, as plain text (Slipway encodes them).",
						Validators:          []validator.Map{validators.DataKeys()},
					},
					"binary_data": schema.MapAttribute{
						Optional: true, Sensitive: true, ElementType: types.StringType,
						MarkdownDescription: "Binary secret values by key, each base64-encoded (for example with `filebase64()`).",
						Validators:          []validator.Map{validators.DataKeys(), validators.Base64Values()},
					},
					"data_wo": schema.MapAttribute{
						Optional: true, WriteOnly: true, Sensitive: true, ElementType: types.StringType,
						MarkdownDescription: "Secret values by key, as plain text, that never reach Terraform's plan or state " +
							"(write-only, Terraform 1.11 and later). Terraform cannot see them change: bump `data_wo_version` to " +
							"apply new values. Their keys must not be in `data` or `binary_data`; the API server's copy is not " +
							"compared, so a value changed on the cluster is not drift.",
						Validators: []validator.Map{validators.DataKeys()},
					},
					"data_wo_version": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Any number; changing it applies `data_wo` again (the way to rotate write-only values).",
					},
					"immutable": immutableSchema(),
					"cluster":   connectionSchema(),
				},
			}
		},
		parts: func(m *secretModel) (*metadataModel, string, *connectionModel) {
			return &m.Metadata.metadataModel, m.Metadata.Namespace.ValueString(), m.Connection
		},
		apply: applySecret,
		get: func(ctx context.Context, cl kubernetes.Interface, ns, name string) (*corev1.Secret, error) {
			return cl.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		},
		del: func(ctx context.Context, cl kubernetes.Interface, ns, name string) error {
			return cl.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
		},
		fill:      fillSecret,
		writeOnly: func(m, cfg *secretModel) { m.DataWO = cfg.DataWO },
	}}
}

func applySecret(ctx context.Context, cl kubernetes.Interface, m *secretModel) (*corev1.Secret, diag.Diagnostics) {
	labels, annotations, diags := metadataMaps(ctx, &m.Metadata.metadataModel)
	text, d := stringMap(ctx, m.Data)
	diags.Append(d...)
	writeOnly, d := stringMap(ctx, m.DataWO)
	diags.Append(d...)
	binary, d := bytesMap(ctx, m.BinaryData)
	diags.Append(d...)
	if diags.HasError() {
		return nil, diags
	}
	data := map[string][]byte{}
	for k, v := range text {
		if _, dup := binary[k]; dup {
			diags.AddError("Duplicate Secret Key", fmt.Sprintf("key %q is in both data and binary_data", k))
			return nil, diags
		}
		data[k] = []byte(v)
	}
	for k, v := range binary {
		data[k] = v
	}
	for k, v := range writeOnly {
		if _, dup := data[k]; dup {
			diags.AddError("Duplicate Secret Key", fmt.Sprintf("key %q is in data_wo and in data or binary_data", k))
			return nil, diags
		}
		data[k] = []byte(v)
	}
	ns, name := m.Metadata.Namespace.ValueString(), m.Metadata.Name.ValueString()
	ac := corev1ac.Secret(name, ns).WithLabels(labels).WithAnnotations(annotations).
		WithType(corev1.SecretType(m.Type.ValueString()))
	if len(data) > 0 {
		ac.WithData(data)
	}
	if !m.Immutable.IsNull() {
		ac.WithImmutable(m.Immutable.ValueBool())
	}
	s, err := cl.CoreV1().Secrets(ns).Apply(ctx, ac, applyOptions)
	if err != nil {
		// The API server's message never carries the secret's values.
		diags.AddError("Cannot Apply Secret", fmt.Sprintf("server-side apply of secret %s/%s: %v", ns, name, err))
	}
	return s, diags
}

// fillSecret reads back the configured keys, each where the configuration put it; on
// import, UTF-8 values go to data and others to binary_data.
func fillSecret(m *secretModel, s *corev1.Secret, importing bool) {
	m.ID = types.StringValue(s.Namespace + "/" + s.Name)
	fillNamespacedMetadata(&m.Metadata, &s.ObjectMeta, importing)
	m.Type = types.StringValue(string(s.Type))
	m.Immutable = readImmutable(s.Immutable, m.Immutable, importing)
	text, binary := map[string]string{}, map[string][]byte{}
	if importing {
		for k, v := range s.Data {
			if utf8.Valid(v) {
				text[k] = string(v)
			} else {
				binary[k] = v
			}
		}
		m.Data = mapValue(text, m.Data)
		m.BinaryData = mapValue(encodeBytesMap(binary), m.BinaryData)
		return
	}
	ctx := context.Background()
	wantText, _ := stringMap(ctx, m.Data)
	for k := range wantText {
		if v, ok := s.Data[k]; ok {
			text[k] = string(v)
		}
	}
	wantBin, _ := stringMap(ctx, m.BinaryData)
	for k := range wantBin {
		if v, ok := s.Data[k]; ok {
			binary[k] = v
		}
	}
	m.Data = mapValue(text, m.Data)
	m.BinaryData = mapValue(keepSpelling(encodeBytesMap(binary), wantBin), m.BinaryData)
}
