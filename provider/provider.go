// Package provider implements the slipway Terraform provider: infrastructure,
// cluster and workload resources. It talks to hosts only through bootstrap/ and to
// clusters only through their API; it never links Kubernetes components.
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
)

// Address is the provider's source address in Terraform configurations.
const Address = "registry.terraform.io/slipway-dev/slipway"

var _ provider.Provider = (*slipwayProvider)(nil)

// New returns a constructor for the provider, as providerserver expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &slipwayProvider{version: version}
	}
}

type slipwayProvider struct {
	version string
}

type providerModel struct {
	KubeconfigPath    types.String `tfsdk:"kubeconfig_path"`
	KubeconfigContext types.String `tfsdk:"kubeconfig_context"`
	Bundles           types.Map    `tfsdk:"bundles"`
	SSHPrivateKeyFile types.String `tfsdk:"ssh_private_key_file"`
	SSHAgent          types.Bool   `tfsdk:"ssh_agent"`
	SSHKnownHostsFile types.String `tfsdk:"ssh_known_hosts_file"`
}

// providerData is what resources receive: shared clients and the provider-level
// connection for resources that have none of their own.
type providerData struct {
	clients    *kube.Clients
	connection kube.Connection
	// Defaults of slipway_cluster and slipway_node (hostssh.go).
	bundles map[string]string
	ssh     sshDefaults
}

func (p *slipwayProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "slipway"
	resp.Version = p.version
}

func (p *slipwayProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Slipway takes machines to a running Kubernetes cluster and the workloads on it. " +
			"Every setting is optional: workload resources usually take their cluster connection as an " +
			"argument, and the kubeconfig here serves clusters that already exist.",
		Attributes: map[string]schema.Attribute{
			"kubeconfig_path": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Path of a kubeconfig file for workload resources that set no `connection` of " +
					"their own, and for importing them.",
			},
			"kubeconfig_context": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Context of `kubeconfig_path` to use; default its current context.",
			},
			"bundles": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Default node bundles of `slipway_cluster` per architecture (`amd64`, `arm64`): local paths of `dist/slipway-<version>-linux-<arch>.tar`.",
			},
			"ssh_private_key_file": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Private key for SSH logins to hosts whose `ssh` block gives no key (`~` expands).",
			},
			"ssh_agent": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Use ssh-agent for SSH logins to hosts whose `ssh` block does not say.",
			},
			"ssh_known_hosts_file": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "OpenSSH known_hosts file that checks hosts whose `ssh` block pins no `host_key`; " +
					"without it such hosts are trusted on first use and their key kept in state.",
			},
		},
	}
}

func (p *slipwayProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	d := &providerData{
		clients: &kube.Clients{},
		connection: kube.Connection{
			KubeconfigPath:    m.KubeconfigPath.ValueString(),
			KubeconfigContext: m.KubeconfigContext.ValueString(),
		},
	}
	d.bundles, _ = stringMap(ctx, m.Bundles)
	d.ssh = sshDefaults{PrivateKeyFile: m.SSHPrivateKeyFile.ValueString(), Agent: m.SSHAgent.ValueBool(), KnownHostsFile: m.SSHKnownHostsFile.ValueString()}
	resp.ResourceData = d
	resp.DataSourceData = d
}

func (p *slipwayProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewNamespaceResource,
		NewPodResource,
		NewReplicaSetResource,
		NewConfigMapResource,
		NewSecretResource,
		NewDeploymentResource,
		NewServiceResource,
		NewStatefulSetResource,
		NewDaemonSetResource,
		NewJobResource,
		NewHorizontalAutoscalerResource,
		NewManifestResource,
		NewVolumeResource,
		NewVolumeClaimResource,
		NewClusterResource,
		NewNodeResource,
	}
}

func (p *slipwayProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}
