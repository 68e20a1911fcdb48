package provider

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
)

var (
	_ resource.ResourceWithImportState = (*manifestResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*manifestResource)(nil)
)

// NewManifestResource returns the slipway_manifest resource.
func NewManifestResource() resource.Resource { return &manifestResource{} }

// manifestResource applies any one Kubernetes object by server-side apply: a kind
// Slipway has no resource for, or a custom resource.
type manifestResource struct {
	kubeResource
}

func (r *manifestResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_manifest"
}

func (r *manifestResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Any one Kubernetes object, applied by server-side apply: a kind Slipway has no resource " +
			"for, or a custom resource. The object is written in HCL, or read from YAML with `yamldecode(file(...))`. " +
			"As with the other resources, plans compare only what the manifest sets: what controllers and other " +
			"managers add never shows, a field the manifest sets that someone changed does. A change of kind, " +
			"namespace or name replaces the object.",
		Attributes: map[string]schema.Attribute{
			"id": idSchema("`apiVersion/kind/namespace/name` (namespace empty for cluster-scoped kinds); import takes the same."),
			"manifest": schema.DynamicAttribute{
				Required: true,
				MarkdownDescription: "The object: `apiVersion`, `kind`, `metadata` (with `name`, and `namespace` for " +
					"namespaced kinds, default `default`) and the rest of its fields as Kubernetes names them.",
			},
			"uid": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The object's unique id, assigned by the API server.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"cluster": connectionSchema(),
		},
	}
}

// manifestObject is a manifest's object and where it lives.
type manifestObject struct {
	obj     *unstructured.Unstructured
	gvk     k8sschema.GroupVersionKind
	ns      string
	name    string
	mapping *meta.RESTMapping
	client  dynamic.ResourceInterface
}

func (o manifestObject) id() string {
	return o.gvk.GroupVersion().String() + "/" + o.gvk.Kind + "/" + o.ns + "/" + o.name
}

// parseManifest reads the object of a manifest value, without the cluster.
func parseManifest(v tftypes.Value) (*unstructured.Unstructured, error) {
	j, err := fromTF(v)
	if err != nil {
		return nil, err
	}
	m, ok := j.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the manifest must be an object, not %T", j)
	}
	obj := &unstructured.Unstructured{Object: m}
	switch {
	case obj.GetAPIVersion() == "" || obj.GetKind() == "":
		return nil, fmt.Errorf("the manifest needs apiVersion and kind")
	case obj.GetName() == "":
		return nil, fmt.Errorf("the manifest needs metadata.name")
	}
	return obj, nil
}

// locate parses a manifest and finds its API resource on the cluster.
func (r *manifestResource) locate(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics, raw tftypes.Value) (manifestObject, diag.Diagnostics) {
	var diags diag.Diagnostics
	var o manifestObject
	var mv tftypes.Value
	if err := tftypesAt(raw, "manifest", &mv); err != nil {
		diags.AddError("Invalid Manifest", err.Error())
		return o, diags
	}
	obj, err := parseManifest(mv)
	if err != nil {
		diags.AddError("Invalid Manifest", err.Error())
		return o, diags
	}
	var conn *connectionModel
	diags.Append(get(ctx, path.Root("cluster"), &conn)...)
	c, d := r.connection(conn)
	diags.Append(d...)
	if diags.HasError() {
		return o, diags
	}
	o.obj, o.gvk, o.name = obj, obj.GroupVersionKind(), obj.GetName()
	o.mapping, err = r.data.clients.Mapping(c, o.gvk)
	if err != nil {
		diags.AddError("Unknown Kind", fmt.Sprintf("find the API resource of %s: %v", o.gvk, err))
		return o, diags
	}
	dyn, err := r.data.clients.Dynamic(c)
	if err != nil {
		diags.AddError("Cannot Connect To The Cluster", err.Error())
		return o, diags
	}
	o.client = dyn.Resource(o.mapping.Resource)
	if o.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		o.ns = obj.GetNamespace()
		if o.ns == "" {
			o.ns = "default"
			obj.SetNamespace(o.ns)
		}
		o.client = dyn.Resource(o.mapping.Resource).Namespace(o.ns)
	}
	return o, diags
}

func (r *manifestResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.State.Raw = req.Plan.Raw
	if !r.apply(ctx, req.Plan, &resp.State, &resp.Diagnostics) {
		resp.State.RemoveResource(ctx)
	}
}

func (r *manifestResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw
	if !r.apply(ctx, req.Plan, &resp.State, &resp.Diagnostics) {
		resp.State.Raw = req.State.Raw
	}
}

// apply applies the plan's object; state keeps the manifest as configured.
func (r *manifestResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics) bool {
	// A custom resource whose definition the same apply has just created is
	// served once the definition is established: a few seconds.
	var o manifestObject
	deadline := time.Now().Add(kindWait)
	for {
		var d diag.Diagnostics
		o, d = r.locate(ctx, plan.GetAttribute, plan.Raw)
		if !d.HasError() || !unknownKind(d) || time.Now().After(deadline) {
			diags.Append(d...)
			break
		}
		select {
		case <-ctx.Done():
			diags.Append(d...)
			return false
		case <-time.After(time.Second):
		}
	}
	if diags.HasError() {
		return false
	}
	actx, warnings := kube.WithWarnings(ctx)
	live, err := o.client.Apply(actx, o.name, o.obj, metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true})
	addWarnings(diags, warnings, "server-side apply of "+o.id())
	if err != nil {
		diags.AddError("Cannot Apply Manifest", fmt.Sprintf("server-side apply of %s: %v", o.id(), err))
		return false
	}
	diags.Append(state.SetAttribute(ctx, path.Root("id"), o.id())...)
	diags.Append(state.SetAttribute(ctx, path.Root("uid"), string(live.GetUID()))...)
	return true
}

// kindWait is how long apply waits for a kind the cluster does not serve yet.
const kindWait = 30 * time.Second

func unknownKind(d diag.Diagnostics) bool {
	for _, e := range d.Errors() {
		if e.Summary() == "Unknown Kind" {
			return true
		}
	}
	return false
}

func (r *manifestResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	o, diags := r.locate(ctx, req.State.GetAttribute, req.State.Raw)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	live, err := o.client.Get(ctx, o.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && live.GetDeletionTimestamp() != nil) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot Read Manifest", fmt.Sprintf("read %s: %v", o.id(), err))
		return
	}
	var uid types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("uid"), &uid)...)
	var got any
	if uid.IsNull() {
		// Import: what users' managers set.
		got = importManifest(live.Object, userManaged(live))
	} else {
		// What the manifest sets, as the server has it now. Equal, it keeps the
		// manifest's own value (and spelling); otherwise the plan shows the change.
		got = projectManifest(live.Object, o.obj.Object)
		want, _ := fromTF(mustAt(req.State.Raw, "manifest"))
		if wm, ok := want.(map[string]any); ok && o.ns != "" {
			if md, ok := wm["metadata"].(map[string]any); ok && md["namespace"] == nil {
				// The default namespace was filled in on apply, not configured.
				if gm, ok := got.(map[string]any)["metadata"].(map[string]any); ok {
					delete(gm, "namespace")
				}
			}
		}
		if reflect.DeepEqual(got, want) {
			got = nil
		}
	}
	if got != nil {
		mv, err := types.DynamicType.ValueFromTerraform(ctx, toTF(got))
		if err != nil {
			resp.Diagnostics.AddError("Cannot Read Manifest", err.Error())
			return
		}
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("manifest"), mv)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), o.id())...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("uid"), string(live.GetUID()))...)
}

func mustAt(obj tftypes.Value, name string) tftypes.Value {
	var v tftypes.Value
	_ = tftypesAt(obj, name, &v)
	return v
}

func (r *manifestResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	o, diags := r.locate(ctx, req.State.GetAttribute, req.State.Raw)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	policy := metav1.DeletePropagationForeground
	err := o.client.Delete(ctx, o.name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot Delete Manifest", fmt.Sprintf("delete %s: %v", o.id(), err))
		return
	}
	err = waitGone(ctx, 5*time.Minute, func(ctx context.Context) error {
		_, err := o.client.Get(ctx, o.name, metav1.GetOptions{})
		return err
	})
	if err != nil {
		resp.Diagnostics.AddError("Manifest Not Deleted", fmt.Sprintf("%s is still there: %v", o.id(), err))
	}
}

// ImportState takes apiVersion/kind/namespace/name, with an empty namespace for
// cluster-scoped kinds ("v1/Namespace//shop", "apps/v1/Deployment/shop/web").
func (r *manifestResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	if len(parts) < 4 || len(parts) > 5 || parts[len(parts)-1] == "" {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("import id %q: want apiVersion/kind/namespace/name", req.ID))
		return
	}
	n := len(parts)
	apiVersion, kind, ns, name := strings.Join(parts[:n-3], "/"), parts[n-3], parts[n-2], parts[n-1]
	if apiVersion == "" || kind == "" {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("import id %q: want apiVersion/kind/namespace/name", req.ID))
		return
	}
	md := map[string]any{"name": name}
	if ns != "" {
		md["namespace"] = ns
	}
	mv, err := types.DynamicType.ValueFromTerraform(ctx, toTF(map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": md}))
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("manifest"), mv)...)
}

// ModifyPlan replaces the object when its kind, namespace or name changes, and
// asks the API server by a dry run whether it would take the planned object.
func (r *manifestResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	planned := mustAt(req.Plan.Raw, "manifest")
	if !planned.IsFullyKnown() {
		return
	}
	obj, err := parseManifest(planned)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("manifest"), "Invalid Manifest", err.Error())
		return
	}
	if !req.State.Raw.IsNull() {
		if prior, err := parseManifest(mustAt(req.State.Raw, "manifest")); err == nil && identity(prior) != identity(obj) {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("manifest"))
			return
		}
		if req.Plan.Raw.Equal(req.State.Raw) {
			return
		}
	}
	cluster := mustAt(req.Plan.Raw, "cluster")
	if !cluster.IsFullyKnown() {
		return // the cluster does not exist yet
	}
	o, d := r.locate(ctx, req.Plan.GetAttribute, req.Plan.Raw)
	if d.HasError() {
		return // unreachable, or a kind whose definition the same apply creates
	}
	dctx, cancel := context.WithTimeout(ctx, dryRunTimeout)
	defer cancel()
	dctx, warnings := kube.WithWarnings(dctx)
	_, err = o.client.Apply(dctx, o.name, o.obj, metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	addWarnings(&resp.Diagnostics, warnings, "a dry run of "+o.id()+" during plan")
	if apierrors.IsInvalid(err) && !(req.State.Raw.IsNull() && onlyImmutable(err)) {
		resp.Diagnostics.AddError("Manifest Refused By The API Server", fmt.Sprintf("a dry run of %s during plan: %v", o.id(), err))
	}
}

// identity is what names an object: group, kind, namespace and name (the version
// may change in place).
// An unset namespace is the default one (cluster-scoped kinds have none at all).
func identity(o *unstructured.Unstructured) string {
	gvk, ns := o.GroupVersionKind(), o.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	return gvk.Group + "/" + gvk.Kind + "/" + ns + "/" + o.GetName()
}
