package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/kubernetes/fake"
)

// TestInputsRoundTrip records a cluster's workstation-only inputs and restores them
// into an imported state: what the configuration had, unset attributes staying null.
func TestInputsRoundTrip(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	if in, err := readInputs(ctx, cs); err != nil || in != nil {
		t.Fatalf("readInputs of a cluster without a record = %v, %v; want nil, nil", in, err)
	}
	ep := "lb.example:6443"
	want := clusterInputs{Name: "prod", APIEndpoint: &ep, Images: []string{"/x/web.tar"}, ImagesSet: true,
		JoinServer: "https://lb.example:6443", JoinBundles: map[string]string{"amd64": "/dist/b.tar"}, JoinImages: []string{"/x/web.tar"}}
	if err := recordInputs(ctx, cs, want); err != nil {
		t.Fatal(err)
	}
	// A second apply updates the record in place.
	want.Name = "prod2"
	if err := recordInputs(ctx, cs, want); err != nil {
		t.Fatal(err)
	}
	got, err := readInputs(ctx, cs)
	if err != nil || got == nil {
		t.Fatalf("readInputs = %v, %v", got, err)
	}
	st := clusterModel{Name: types.StringValue("slipway"), APIEndpoint: types.StringNull(),
		Bundles: types.MapValueMust(types.StringType, map[string]attr.Value{}), Images: types.ListNull(types.StringType)}
	st.restoreInputs(ctx, got)
	if st.Name.ValueString() != "prod2" || st.APIEndpoint.ValueString() != ep {
		t.Errorf("name, api_endpoint = %s, %s", st.Name, st.APIEndpoint)
	}
	if !st.Bundles.IsNull() {
		t.Errorf("bundles were unset (the provider's), restored as %s", st.Bundles)
	}
	if st.Images.IsNull() || len(st.Images.Elements()) != 1 {
		t.Errorf("images = %s, want the one configured", st.Images)
	}
}
