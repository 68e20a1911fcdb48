package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The engine every workload resource runs on: create and update are server-side apply
// under Slipway's field manager, read keeps only what the configuration manages, a
// missing object leaves state, import is by name. A kind says only what differs.

// kind describes one Kubernetes kind to the engine. M is the Terraform model, O the
// API object.
type kind[M any, O metav1.Object] struct {
	typeName   string // suffix after "slipway_"
	title      string // "Config Map", for diagnostics
	namespaced bool
	schema     func() schema.Schema
	// parts returns the model's metadata, namespace ("" for cluster-scoped kinds) and
	// connection.
	parts func(*M) (*metadataModel, string, *connectionModel)
	// apply server-side-applies the model and returns the object.
	apply func(ctx context.Context, cl kubernetes.Interface, m *M) (O, diag.Diagnostics)
	get   func(ctx context.Context, cl kubernetes.Interface, ns, name string) (O, error)
	del   func(ctx context.Context, cl kubernetes.Interface, ns, name string) error
	// fill writes the object into the model: the configured fields, or on import
	// every field a user could have set.
	fill func(m *M, obj O, importing bool)
	// waitDeleted makes delete wait until the object is gone (namespaces).
	waitDeleted time.Duration
	// writeOnly, when set, copies the configuration's write-only values into the
	// model before apply: the plan never holds them (nor does state).
	writeOnly func(m, config *M)
}

type objectResource[M any, O metav1.Object] struct {
	kubeResource
	k kind[M, O]
}

func (r *objectResource[M, O]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.k.typeName
}

func (r *objectResource[M, O]) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = r.k.schema()
}

// ref names the object for messages: "namespace/name" or "name".
func ref(ns string, md *metadataModel) string {
	if ns != "" {
		return ns + "/" + md.Name.ValueString()
	}
	return md.Name.ValueString()
}

func (r *objectResource[M, O]) applyAndFill(ctx context.Context, m *M) diag.Diagnostics {
	md, _, conn := r.k.parts(m)
	cl, diags := r.client(conn)
	if diags.HasError() {
		return diags
	}
	obj, d := r.k.apply(ctx, cl, m)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	r.k.fill(m, obj, false)
	md.UID = types.StringValue(string(obj.GetUID()))
	return diags
}

// withWriteOnly copies the configuration's write-only values into m.
func (r *objectResource[M, O]) withWriteOnly(ctx context.Context, config tfsdk.Config, m *M) diag.Diagnostics {
	if r.k.writeOnly == nil {
		return nil
	}
	var cfg M
	diags := config.Get(ctx, &cfg)
	if !diags.HasError() {
		r.k.writeOnly(m, &cfg)
	}
	return diags
}

func (r *objectResource[M, O]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(r.withWriteOnly(ctx, req.Config, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.applyAndFill(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *objectResource[M, O]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(r.withWriteOnly(ctx, req.Config, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(r.applyAndFill(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *objectResource[M, O]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m M
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	md, ns, conn := r.k.parts(&m)
	cl, diags := r.client(conn)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	obj, err := r.k.get(ctx, cl, ns, md.Name.ValueString())
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot Read "+r.k.title, fmt.Sprintf("read %s %s: %v", r.k.typeName, ref(ns, md), err))
		return
	}
	if obj.GetDeletionTimestamp() != nil {
		// Being deleted: as good as gone, so the next apply creates it anew.
		resp.State.RemoveResource(ctx)
		return
	}
	// Import leaves uid unset: then every user-set field is read, not just the
	// configured ones.
	importing := md.UID.IsNull()
	r.k.fill(&m, obj, importing)
	md.UID = types.StringValue(string(obj.GetUID()))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *objectResource[M, O]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m M
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	md, ns, conn := r.k.parts(&m)
	cl, diags := r.client(conn)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := md.Name.ValueString()
	if err := r.k.del(ctx, cl, ns, name); err != nil && !apierrors.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot Delete "+r.k.title, fmt.Sprintf("delete %s %s: %v", r.k.typeName, ref(ns, md), err))
		return
	}
	if r.k.waitDeleted == 0 {
		return
	}
	err := waitGone(ctx, r.k.waitDeleted, func(ctx context.Context) error {
		_, err := r.k.get(ctx, cl, ns, name)
		return err
	})
	if err != nil {
		resp.Diagnostics.AddError(r.k.title+" Not Deleted", fmt.Sprintf("%s %s is still there after %s: %v", r.k.typeName, ref(ns, md), r.k.waitDeleted, err))
	}
}

// ImportState takes "namespace/name" (or "name": the default namespace) for
// namespaced kinds, "name" otherwise; Read fills the rest.
func (r *objectResource[M, O]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importName(ctx, req, resp, r.k.namespaced)
	md := path.Root("metadata")
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, md.AtName("labels"), types.MapNull(types.StringType))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, md.AtName("annotations"), types.MapNull(types.StringType))...)
}
