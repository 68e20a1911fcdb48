package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

// What every workload resource shares: the connection to its cluster and the object's
// metadata.

// connectionModel is a resource's own connection to its cluster. It is how one apply
// creates a cluster and the workloads on it: the value comes from the cluster
// resource and is unknown until the cluster exists.
type connectionModel struct {
	Host                 types.String `tfsdk:"host"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ClientKey            types.String `tfsdk:"client_key"`
	Token                types.String `tfsdk:"token"`
}

func connectionSchema() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "How to reach the cluster's API: its URL, CA certificate and credentials. " +
			"When unset, the provider's `kubeconfig_path` is used. Changing only the connection never changes the object.",
		Attributes: map[string]schema.Attribute{
			"host":                   schema.StringAttribute{Required: true, MarkdownDescription: "API server URL, `https://host:6443`."},
			"cluster_ca_certificate": schema.StringAttribute{Required: true, MarkdownDescription: "PEM CA certificate that signed the API server's certificate."},
			"client_certificate":     schema.StringAttribute{Optional: true, MarkdownDescription: "PEM client certificate, with `client_key`."},
			"client_key":             schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "PEM private key of `client_certificate`."},
			"token":                  schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Bearer token, instead of a client certificate."},
		},
	}
}

// metadataModel is an object's identity and the labels and annotations the user sets.
type metadataModel struct {
	Name        types.String `tfsdk:"name"`
	Labels      types.Map    `tfsdk:"labels"`
	Annotations types.Map    `tfsdk:"annotations"`
	UID         types.String `tfsdk:"uid"`
}

// namespacedMetadataModel adds the namespace, for namespaced kinds.
type namespacedMetadataModel struct {
	metadataModel
	Namespace types.String `tfsdk:"namespace"`
}

// metadataSchema describes metadata; namespaced objects get a namespace.
func metadataSchema(namespaced bool, name validator.String) schema.SingleNestedAttribute {
	attrs := map[string]schema.Attribute{
		"name": schema.StringAttribute{
			Required: true, MarkdownDescription: "Name of the object, unique in its namespace. Changing it replaces the object.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:    []validator.String{name},
		},
		"labels": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Labels Slipway sets. Labels added by others (controllers, tools) are left alone and never show as changes.",
			Validators:          []validator.Map{validators.Labels()},
		},
		"annotations": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Annotations Slipway sets. Annotations added by others are left alone and never show as changes.",
			Validators:          []validator.Map{validators.Annotations()},
		},
		"uid": schema.StringAttribute{
			Computed: true, MarkdownDescription: "The object's unique id, assigned by the API server.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
	}
	if namespaced {
		attrs["namespace"] = schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString("default"),
			MarkdownDescription: "Namespace of the object (default `default`). Changing it replaces the object.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:          []validator.String{validators.DNSLabel()},
		}
	}
	return schema.SingleNestedAttribute{Required: true, MarkdownDescription: "The object's metadata.", Attributes: attrs}
}

// kubeResource is embedded by every workload resource: it holds the provider's clients.
type kubeResource struct {
	data *providerData
}

func (r *kubeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	d, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected Provider Data", fmt.Sprintf("want *providerData, got %T", req.ProviderData))
		return
	}
	r.data = d
}

// connection returns a resource's cluster connection, falling back to the provider's
// kubeconfig when the resource has none (as after import).
func (r *kubeResource) connection(conn *connectionModel) (kube.Connection, diag.Diagnostics) {
	var diags diag.Diagnostics
	if r.data == nil {
		diags.AddError("Provider Not Configured", "the slipway provider was not configured before use")
		return kube.Connection{}, diags
	}
	c := r.data.connection
	if conn != nil {
		c = kube.Connection{
			Host:                 conn.Host.ValueString(),
			ClusterCACertificate: conn.ClusterCACertificate.ValueString(),
			ClientCertificate:    conn.ClientCertificate.ValueString(),
			ClientKey:            conn.ClientKey.ValueString(),
			Token:                conn.Token.ValueString(),
		}
	}
	return c, diags
}

// client returns the clientset for a resource's connection.
func (r *kubeResource) client(conn *connectionModel) (*kubernetes.Clientset, diag.Diagnostics) {
	c, diags := r.connection(conn)
	if diags.HasError() {
		return nil, diags
	}
	cl, err := r.data.clients.For(c)
	if err != nil {
		diags.AddError("Cannot Connect To The Cluster", err.Error())
	}
	return cl, diags
}

// stringMap converts a Terraform map to Go; null and unknown give nil.
func stringMap(ctx context.Context, m types.Map) (map[string]string, diag.Diagnostics) {
	if m.IsNull() || m.IsUnknown() {
		return nil, nil
	}
	out := map[string]string{}
	diags := m.ElementsAs(ctx, &out, false)
	return out, diags
}

// mapValue converts a Go map to Terraform's, keeping the user's spelling of "nothing":
// an empty map stays empty when prior was empty, otherwise it is null.
func mapValue(m map[string]string, prior types.Map) types.Map {
	if len(m) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return types.MapValueMust(types.StringType, nil)
		}
		return types.MapNull(types.StringType)
	}
	v, _ := types.MapValueFrom(context.Background(), types.StringType, m)
	return v
}
