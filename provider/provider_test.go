package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// protoV6Factories serve the provider in-process to the terraform CLI in acceptance tests.
var protoV6Factories = map[string]func() (tfprotov6.ProviderServer, error){
	"slipway": providerserver.NewProtocol6WithError(New("test")()),
}

func TestProviderSchemaServes(t *testing.T) {
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			t.Fatalf("schema diagnostics: %s: %s", d.Summary, d.Detail)
		}
	}
	if resp.Provider == nil || resp.Provider.Block.Description == "" {
		t.Fatal("the provider schema must describe the provider")
	}
}

// TestAccProviderLoads runs the real terraform CLI with a configuration that declares
// the slipway provider, proving it starts and speaks protocol 6.
func TestAccProviderLoads(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{{
			Config: `
provider "slipway" {}
resource "terraform_data" "probe" {
  input = "slipway provider configured"
}
output "probe" { value = terraform_data.probe.output }
`,
			Check: resource.TestCheckOutput("probe", "slipway provider configured"),
		}},
	})
}
