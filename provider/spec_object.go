package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/provider/kschema"
	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

// specKind describes a kind whose spec schema is derived from its k8s.io/api type.
type specKind struct {
	typeName   string // after "slipway_"
	title      string // for diagnostics
	desc       string
	gvr        k8sschema.GroupVersionResource
	kind       string
	spec       reflect.Type
	namespaced bool
	// wait, when set, waits after apply for the object to settle (a rollout, a
	// claim's binding) and gives the reason when it cannot.
	wait *waitKind
	// replaceImmutable plans a change the API server refuses as immutable (found
	// by the plan's dry run) as a replacement, for kinds where a new object is what
	// users expect (a pod, a job); for the others such a change is an error.
	replaceImmutable bool
}

// waitKind is a wait after apply: three attributes (whether to wait, for how long,
// and whether the last wait completed) and the function that waits.
type waitKind struct {
	what        string // "rollout", for messages
	enable      string // "wait_for_rollout"
	timeout     string // "rollout_timeout"
	done        string // "rolled_out"
	byDefault   bool
	defaultTime string // "10m"
	enableDesc  string
	doneDesc    string
	// fn waits until the object is settled. errNotWaited says there is nothing to
	// wait for (a claim whose binding waits for its first pod).
	fn func(ctx context.Context, cs kubernetes.Interface, ns, name string) error
}

// errNotWaited is what a wait returns when the object cannot settle on its own yet
// and that is normal: the wait ends and the done attribute stays null.
var errNotWaited = errors.New("nothing to wait for")

// rolloutWait is the wait of deployments, stateful sets and daemon sets.
func rolloutWait(fn func(context.Context, kubernetes.Interface, string, string) error) *waitKind {
	return &waitKind{
		what: "rollout", enable: "wait_for_rollout", timeout: "rollout_timeout", done: "rolled_out",
		byDefault: true, defaultTime: "10m",
		enableDesc: "Wait after apply until the rollout completes (default true). A rollout that cannot " +
			"complete (image pull error, crash loop, unschedulable) fails the apply with the reason, and the next " +
			"plan shows the change again.",
		doneDesc: "Whether the last apply's rollout completed: false after a failed or timed-out rollout, and then " +
			"the next plan applies again; null when apply did not wait.",
		fn: fn,
	}
}

// specResource runs a specKind: server-side apply of metadata + spec, Read of what
// the configuration sets, import of what users set (managed fields), rollout waits.
type specResource struct {
	kubeResource
	k specKind
}

var (
	_ resource.ResourceWithImportState = (*specResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*specResource)(nil)
)

func (r *specResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + r.k.typeName
}

func (r *specResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	spec := kschema.Attributes(r.k.spec)
	attrs := map[string]schema.Attribute{
		"id":       idSchema("`namespace/name`."),
		"metadata": metadataSchema(r.k.namespaced, validators.DNSSubdomain()),
		"spec": schema.SingleNestedAttribute{
			Required: true,
			MarkdownDescription: fmt.Sprintf("The %s's spec: every field of Kubernetes' `%s`, in snake_case. "+
				"Fields left out keep the API server's defaults and are never shown as changes.", r.k.kind, r.k.spec.Name()),
			Attributes: spec,
			CustomType: kschema.ObjectType(spec),
		},
		"cluster": connectionSchema(),
	}
	if w := r.k.wait; w != nil {
		attrs[w.enable] = schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(w.byDefault),
			MarkdownDescription: w.enableDesc,
		}
		attrs[w.timeout] = schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(w.defaultTime),
			MarkdownDescription: fmt.Sprintf("How long apply waits for the %s, as a Go duration (default `%s`). "+
				"Failures that waiting cannot fix end the wait sooner.", w.what, w.defaultTime),
			Validators: []validator.String{validators.Duration()},
		}
		// No UseStateForUnknown: every apply waits anew, so its outcome is unknown
		// until then.
		attrs[w.done] = schema.BoolAttribute{Computed: true, MarkdownDescription: w.doneDesc}
	}
	resp.Schema = schema.Schema{MarkdownDescription: r.k.desc, Attributes: attrs}
}

// parts reads metadata and connection from a plan or state.
func (r *specResource) parts(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics) (namespacedMetadataModel, *connectionModel, diag.Diagnostics) {
	var md namespacedMetadataModel
	var diags diag.Diagnostics
	if r.k.namespaced {
		diags.Append(get(ctx, path.Root("metadata"), &md)...)
	} else {
		diags.Append(get(ctx, path.Root("metadata"), &md.metadataModel)...)
	}
	var conn *connectionModel
	diags.Append(get(ctx, path.Root("cluster"), &conn)...)
	return md, conn, diags
}

// dynamic returns the client for the kind, and a typed clientset for rollout waits.
func (r *specResource) dynamic(conn *connectionModel) (dynamic.ResourceInterface, kubernetes.Interface, diag.Diagnostics) {
	c, diags := r.connection(conn)
	if diags.HasError() {
		return nil, nil, diags
	}
	dyn, err := r.data.clients.Dynamic(c)
	if err != nil {
		diags.AddError("Cannot Connect To The Cluster", err.Error())
		return nil, nil, diags
	}
	cs, err := r.data.clients.For(c)
	if err != nil {
		diags.AddError("Cannot Connect To The Cluster", err.Error())
		return nil, nil, diags
	}
	return dyn.Resource(r.k.gvr), cs, diags
}

func (r *specResource) ns(md namespacedMetadataModel) string {
	if r.k.namespaced {
		return md.Namespace.ValueString()
	}
	return ""
}

func (r *specResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.State.Raw = req.Plan.Raw
	if !r.apply(ctx, req.Plan, &resp.State, &resp.Diagnostics) {
		// Nothing was created: no state.
		resp.State.RemoveResource(ctx)
	}
}

func (r *specResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.State.Raw = req.Plan.Raw
	if !r.apply(ctx, req.Plan, &resp.State, &resp.Diagnostics) {
		// The server did not take the change: state stays what it was, so the next
		// plan shows the change again.
		resp.State.Raw = req.State.Raw
	}
}

// object is the object a plan applies: its metadata and spec as JSON for
// server-side apply, and the spec's Terraform value.
func (r *specResource) object(ctx context.Context, plan tfsdk.Plan, md namespacedMetadataModel) (*unstructured.Unstructured, tftypes.Value, diag.Diagnostics) {
	var diags diag.Diagnostics
	var spec tftypes.Value
	if err := tftypesAt(plan.Raw, "spec", &spec); err != nil {
		diags.AddError("Invalid Plan", err.Error())
		return nil, spec, diags
	}
	specJSON, _, err := kschema.ToJSON(spec, r.k.spec)
	if err != nil {
		diags.AddError("Invalid Spec", fmt.Sprintf("convert spec: %v", err))
		return nil, spec, diags
	}
	labels, annotations, d := metadataMaps(ctx, &md.metadataModel)
	diags.Append(d...)
	if diags.HasError() {
		return nil, spec, diags
	}
	meta := map[string]any{"name": md.Name.ValueString()}
	if r.k.namespaced {
		meta["namespace"] = md.Namespace.ValueString()
	}
	if labels != nil {
		meta["labels"] = toAny(labels)
	}
	if annotations != nil {
		meta["annotations"] = toAny(annotations)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": r.k.gvr.GroupVersion().String(),
		"kind":       r.k.kind,
		"metadata":   meta,
	}}
	if specJSON != nil {
		obj.Object["spec"] = specJSON
	}
	return obj, spec, diags
}

// apply server-side-applies the plan, writes the result into state and waits; it
// reports whether the server took the change (a failed wait after that still
// leaves state, with the done attribute false).
func (r *specResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics) bool {
	md, conn, d := r.parts(ctx, plan.GetAttribute)
	diags.Append(d...)
	if diags.HasError() {
		return false
	}
	obj, spec, d := r.object(ctx, plan, md)
	diags.Append(d...)
	if diags.HasError() {
		return false
	}
	client, typed, d := r.dynamic(conn)
	diags.Append(d...)
	if diags.HasError() {
		return false
	}
	ns, name := r.ns(md), md.Name.ValueString()
	actx, warnings := kube.WithWarnings(ctx)
	live, err := namespaced(client, ns).Apply(actx, name, obj, metav1.ApplyOptions{FieldManager: kube.FieldManager, Force: true})
	addWarnings(diags, warnings, fmt.Sprintf("server-side apply of %s %s", r.k.typeName, objRef(ns, name)))
	if err != nil {
		diags.AddError("Cannot Apply "+r.k.title, fmt.Sprintf("server-side apply of %s %s: %v", r.k.typeName, objRef(ns, name), err))
		return false
	}
	diags.Append(r.fill(ctx, live, spec, md, false, state)...)
	if diags.HasError() {
		return true
	}
	if w := r.k.wait; w != nil {
		diags.Append(r.wait(ctx, w, plan, state, typed, ns, name)...)
	}
	return true
}

// wait runs the kind's wait when the plan asks for it and records the outcome.
func (r *specResource) wait(ctx context.Context, w *waitKind, plan tfsdk.Plan, state *tfsdk.State, cs kubernetes.Interface, ns, name string) diag.Diagnostics {
	var diags diag.Diagnostics
	var enabled types.Bool
	var timeout types.String
	diags.Append(plan.GetAttribute(ctx, path.Root(w.enable), &enabled)...)
	diags.Append(plan.GetAttribute(ctx, path.Root(w.timeout), &timeout)...)
	done := types.BoolNull()
	if enabled.ValueBool() {
		d, err := time.ParseDuration(timeout.ValueString())
		if err != nil {
			d, _ = time.ParseDuration(w.defaultTime)
		}
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		switch err := w.fn(wctx, cs, ns, name); {
		case err == nil:
			done = types.BoolValue(true)
		case errors.Is(err, errNotWaited):
		default:
			done = types.BoolValue(false)
			diags.AddError(r.k.title+" Not Ready",
				fmt.Sprintf("%s %s was applied, but its %s did not complete: %v. The next plan shows the change "+
					"again; fix the cause and apply, or apply the previous configuration to roll back.", r.k.typeName, objRef(ns, name), w.what, err))
		}
	}
	diags.Append(state.SetAttribute(ctx, path.Root(w.done), done)...)
	return diags
}

// fill writes the live object into state, guided by the configuration's spec (or, on
// import, by the fields users' managers set).
func (r *specResource) fill(ctx context.Context, live *unstructured.Unstructured, prior tftypes.Value, md namespacedMetadataModel, importing bool, state *tfsdk.State) diag.Diagnostics {
	var diags diag.Diagnostics
	var managed kschema.Managed
	if importing {
		managed = userManaged(live)
	}
	var specManaged kschema.Managed
	if importing {
		specManaged, _ = managed["f:spec"].(map[string]any)
		if specManaged == nil {
			specManaged = kschema.Managed{}
		}
	}
	spec, err := kschema.Project(live.Object["spec"], prior, specManaged, importing, r.k.spec)
	if err != nil {
		diags.AddError("Cannot Read "+r.k.title, fmt.Sprintf("read spec of %s %s: %v", r.k.typeName, objRef(live.GetNamespace(), live.GetName()), err))
		return diags
	}
	specType, _ := state.Schema.TypeAtPath(ctx, path.Root("spec"))
	sv, err := specType.ValueFromTerraform(ctx, spec)
	if err != nil {
		diags.AddError("Cannot Read "+r.k.title, err.Error())
		return diags
	}
	diags.Append(state.SetAttribute(ctx, path.Root("spec"), sv)...)

	meta := metav1.ObjectMeta{Name: live.GetName(), Namespace: live.GetNamespace(), Labels: live.GetLabels(), Annotations: live.GetAnnotations()}
	if importing {
		// Only what users' managers set: a controller's annotations (a volume's
		// bound-by-controller) are not the configuration's.
		mm, _ := managed["f:metadata"].(map[string]any)
		meta.Labels = ownedKeys(meta.Labels, mm, "labels")
		meta.Annotations = ownedKeys(meta.Annotations, mm, "annotations")
	}
	if r.k.namespaced {
		fillNamespacedMetadata(&md, &meta, importing)
		md.UID = types.StringValue(string(live.GetUID()))
		diags.Append(state.SetAttribute(ctx, path.Root("metadata"), md)...)
		diags.Append(state.SetAttribute(ctx, path.Root("id"), live.GetNamespace()+"/"+live.GetName())...)
	} else {
		fillMetadata(&md.metadataModel, &meta, importing)
		md.UID = types.StringValue(string(live.GetUID()))
		diags.Append(state.SetAttribute(ctx, path.Root("metadata"), md.metadataModel)...)
		diags.Append(state.SetAttribute(ctx, path.Root("id"), live.GetName())...)
	}
	return diags
}

// ownedKeys returns the entries of live (labels or annotations) that the managed
// metadata tree mm names under field.
func ownedKeys(live map[string]string, mm map[string]any, field string) map[string]string {
	owned, _ := mm["f:"+field].(map[string]any)
	out := map[string]string{}
	for k, v := range live {
		if _, ok := owned["f:"+k]; ok {
			out[k] = v
		}
	}
	return out
}

// userManaged merges the managed fields of every manager but Kubernetes' own
// controllers: what users and their tools set.
func userManaged(obj *unstructured.Unstructured) kschema.Managed {
	out := kschema.Managed{}
	for _, e := range obj.GetManagedFields() {
		if e.FieldsV1 == nil || e.Subresource != "" || kube.IsControllerManager(e.Manager) {
			continue
		}
		m, err := kschema.ParseManaged(e.FieldsV1.Raw)
		if err == nil {
			out.Merge(m)
		}
	}
	return out
}

// target is the object a state names and the client to reach it.
func (r *specResource) target(ctx context.Context, state tfsdk.State) (client dynamic.ResourceInterface, md namespacedMetadataModel, ns, name string, diags diag.Diagnostics) {
	md, conn, diags := r.parts(ctx, state.GetAttribute)
	if diags.HasError() {
		return nil, md, "", "", diags
	}
	c, _, d := r.dynamic(conn)
	diags.Append(d...)
	if diags.HasError() {
		return nil, md, "", "", diags
	}
	ns = r.ns(md)
	return namespaced(c, ns), md, ns, md.Name.ValueString(), diags
}

func (r *specResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client, md, ns, name, diags := r.target(ctx, req.State)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	live, err := client.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot Read "+r.k.title, fmt.Sprintf("read %s %s: %v", r.k.typeName, objRef(ns, name), err))
		return
	}
	if live.GetDeletionTimestamp() != nil {
		resp.State.RemoveResource(ctx)
		return
	}
	var prior tftypes.Value
	if err := tftypesAt(req.State.Raw, "spec", &prior); err != nil {
		resp.Diagnostics.AddError("Invalid State", err.Error())
		return
	}
	importing := md.UID.IsNull()
	resp.Diagnostics.Append(r.fill(ctx, live, prior, md, importing, &resp.State)...)
	if w := r.k.wait; importing && w != nil {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(w.enable), w.byDefault)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(w.timeout), w.defaultTime)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(w.done), types.BoolNull())...)
	}
}

func (r *specResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client, _, ns, name, diags := r.target(ctx, req.State)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Foreground: the call returns once dependents (replica sets, pods) are going.
	policy := metav1.DeletePropagationForeground
	err := client.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		resp.Diagnostics.AddError("Cannot Delete "+r.k.title, fmt.Sprintf("delete %s %s: %v", r.k.typeName, objRef(ns, name), err))
		return
	}
	err = waitGone(ctx, 5*time.Minute, func(ctx context.Context) error {
		_, err := client.Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if err != nil {
		why := ""
		if _, conn, d := r.parts(ctx, req.State.GetAttribute); !d.HasError() {
			if _, cs, d := r.dynamic(conn); !d.HasError() {
				why = stuckPods(ctx, cs, ns)
			}
		}
		resp.Diagnostics.AddError(r.k.title+" Not Deleted", fmt.Sprintf("%s %s is still there: %v%s", r.k.typeName, objRef(ns, name), err, why))
	}
}

// stuckPods explains a delete that does not finish: its pods are still terminating,
// typically on a node that is down, whose kubelet can never confirm they stopped.
func stuckPods(ctx context.Context, cs kubernetes.Interface, ns string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var stuck []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			continue
		}
		where := "not yet on a node"
		if n := p.Spec.NodeName; n != "" {
			where = "on node " + n
			if found, ready, _, err := nodeReady(ctx, cs, n); err == nil && (!found || !ready) {
				where += " (not Ready)"
			}
		}
		stuck = append(stuck, p.Name+" "+where)
	}
	if len(stuck) == 0 {
		return ""
	}
	return ".\nPods still terminating in " + ns + ": " + strings.Join(stuck, ", ") +
		".\nA node that is down cannot confirm its pods stopped: bring it back, or remove it from the cluster " +
		"(its pods are then deleted), then apply or destroy again."
}

// ModifyPlan asks the API server whether it would take the planned object, and
// plans an update when the last wait did not complete (case W4): the user is never
// told all is well while old pods serve.
func (r *specResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	if req.State.Raw.IsNull() || !req.Plan.Raw.Equal(req.State.Raw) {
		// Only what is about to change: a plan that changes nothing asks nothing.
		// On a create, an immutable-field refusal means the object already exists:
		// this is the create half of a replacement (the old object goes first), or
		// apply will adopt an object someone else made. Neither fails the plan.
		creating := req.State.Raw.IsNull()
		if r.dryRun(ctx, resp.Plan, &resp.Diagnostics, r.k.replaceImmutable || creating) && !creating {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("spec"))
		}
	}
	w := r.k.wait
	if w == nil {
		return
	}
	var done, enabled types.Bool
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(w.enable), &enabled)...)
	if !enabled.IsUnknown() && !enabled.ValueBool() {
		// No wait, no outcome: null now, not "known after apply".
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(w.done), types.BoolNull())...)
		return
	}
	if req.State.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(w.done), &done)...)
	if !done.IsNull() && !done.ValueBool() && enabled.ValueBool() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(w.done), types.BoolUnknown())...)
	}
}

// dryRun asks the API server, during plan, whether it would take the object: a
// server-side apply with dry run, so a bad value or a changed immutable field fails
// the plan rather than the apply. Only the server's verdict that the object is
// invalid is reported: a cluster that does not exist yet (its connection unknown),
// cannot be reached, or lacks a namespace the same apply creates is no reason to
// fail a plan.
//
// With tolerateImmutable, a refusal only because an immutable field changes is no
// error: dryRun reports it (true), and the plan replaces the object.
func (r *specResource) dryRun(ctx context.Context, plan tfsdk.Plan, diags *diag.Diagnostics, tolerateImmutable bool) (immutable bool) {
	if r.data == nil {
		return false
	}
	for _, attr := range []string{"metadata", "spec", "cluster"} {
		var v tftypes.Value
		if err := tftypesAt(plan.Raw, attr, &v); err != nil || !known(v, "uid") {
			return false
		}
	}
	md, conn, d := r.parts(ctx, plan.GetAttribute)
	if d.HasError() {
		return false
	}
	obj, _, d := r.object(ctx, plan, md)
	if d.HasError() {
		diags.Append(d...)
		return false
	}
	client, _, d := r.dynamic(conn)
	if d.HasError() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, dryRunTimeout)
	defer cancel()
	ctx, warnings := kube.WithWarnings(ctx)
	ns, name := r.ns(md), md.Name.ValueString()
	_, err := namespaced(client, ns).Apply(ctx, name, obj, metav1.ApplyOptions{
		FieldManager: kube.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
	})
	addWarnings(diags, warnings, fmt.Sprintf("a dry run of %s %s during plan", r.k.typeName, objRef(ns, name)))
	if !apierrors.IsInvalid(err) {
		return false
	}
	if tolerateImmutable && onlyImmutable(err) {
		return true
	}
	diags.AddError(r.k.title+" Refused By The API Server",
		fmt.Sprintf("a dry run of %s %s during plan: %v", r.k.typeName, objRef(ns, name), err))
	return false
}

// onlyImmutable reports whether every cause of an Invalid error is a change to a
// field that cannot change ("field is immutable", "pod updates may not change
// fields other than ...").
func onlyImmutable(err error) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if !strings.Contains(c.Message, "immutable") && !strings.Contains(c.Message, "may not change") {
			return false
		}
	}
	return true
}

// addWarnings shows the API server's warnings about a request as Terraform
// warnings.
func addWarnings(diags *diag.Diagnostics, w *kube.Warnings, what string) {
	for _, msg := range w.List() {
		diags.AddWarning("Kubernetes API Server Warning", what+": "+msg)
	}
}

// dryRunTimeout bounds the plan-time dry run, so a cluster that does not answer
// slows a plan only a little.
const dryRunTimeout = 5 * time.Second

func (r *specResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importName(ctx, req, resp, r.k.namespaced)
}

func namespaced(c dynamic.ResourceInterface, ns string) dynamic.ResourceInterface {
	if nc, ok := c.(dynamic.NamespaceableResourceInterface); ok && ns != "" {
		return nc.Namespace(ns)
	}
	return c
}

func objRef(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// tftypesAt reads a top-level attribute of an object value.
func tftypesAt(obj tftypes.Value, name string, out *tftypes.Value) error {
	var attrs map[string]tftypes.Value
	if err := obj.As(&attrs); err != nil {
		return err
	}
	v, ok := attrs[name]
	if !ok {
		return fmt.Errorf("no attribute %q", name)
	}
	*out = v
	return nil
}

// known reports whether v is fully known, but for the attributes named (computed
// ones, like a uid the server assigns on create).
func known(v tftypes.Value, except ...string) bool {
	var attrs map[string]tftypes.Value
	if v.IsNull() || !v.IsKnown() || !v.Type().Is(tftypes.Object{}) || v.As(&attrs) != nil {
		return v.IsFullyKnown()
	}
	for name, a := range attrs {
		if !slices.Contains(except, name) && !a.IsFullyKnown() {
			return false
		}
	}
	return true
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
