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

func (p *slipwayProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "slipway"
	resp.Version = p.version
}

func (p *slipwayProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Slipway takes machines to a running Kubernetes cluster and the workloads on it. " +
			"The provider needs no configuration yet; settings for SSH defaults, bundles and cluster " +
			"connections arrive with the resources that use them.",
		Attributes: map[string]schema.Attribute{},
	}
}

func (p *slipwayProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p *slipwayProvider) Resources(context.Context) []func() resource.Resource {
	return nil
}

func (p *slipwayProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}
