package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/provider/kube"
	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

var (
	_ resource.ResourceWithConfigure      = (*nodeResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*nodeResource)(nil)
	_ resource.ResourceWithValidateConfig = (*nodeResource)(nil)
)

// NewNodeResource is slipway_node: one more node of a cluster, on its own host.
func NewNodeResource() resource.Resource { return &nodeResource{} }

type nodeResource struct {
	kubeResource
}

type nodeModel struct {
	ID       types.String `tfsdk:"id"`
	Cluster  types.Object `tfsdk:"cluster"`
	SSH      sshModel     `tfsdk:"ssh"`
	Role     types.String `tfsdk:"role"`
	NodeName types.String `tfsdk:"node_name"`
	NodeIP   types.String `tfsdk:"node_ip"`
	Labels   types.Map    `tfsdk:"labels"`
	Taints   types.List   `tfsdk:"taints"`

	ServiceState   types.String `tfsdk:"service_state"`
	ConfigChecksum types.String `tfsdk:"config_checksum"`
	Version        types.String `tfsdk:"version"`
	Ready          types.Bool   `tfsdk:"ready"`
}

// joinModel is slipway_cluster's join attribute.
type joinModel struct {
	Server        types.String `tfsdk:"server"`
	Token         types.String `tfsdk:"token"`
	CACertificate types.String `tfsdk:"ca_certificate"`
	APIToken      types.String `tfsdk:"api_token"`
	Bundles       types.Map    `tfsdk:"bundles"`
	Images        types.List   `tfsdk:"images"`
}

func (r *nodeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node"
}

func (r *nodeResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": computedString("The node's name.", true, false),
		"cluster": schema.SingleNestedAttribute{
			Required: true,
			MarkdownDescription: "The cluster to join: `slipway_cluster.<name>.join`. A changed value (a new token, " +
				"other bundles or images) updates the node in place.",
			Attributes: map[string]schema.Attribute{
				"server":         schema.StringAttribute{Required: true, MarkdownDescription: "API server URL to register with."},
				"token":          schema.StringAttribute{Required: true, Sensitive: true, MarkdownDescription: "Join token (full form, with the CA hash)."},
				"ca_certificate": schema.StringAttribute{Required: true, MarkdownDescription: "PEM CA certificate of the cluster."},
				"api_token":      schema.StringAttribute{Required: true, Sensitive: true, MarkdownDescription: "Bearer token to check, label and drain the node with."},
				"bundles":        schema.MapAttribute{Required: true, ElementType: types.StringType, MarkdownDescription: "Node bundles per architecture."},
				"images":         schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Image tarballs for the node."},
			},
		},
		"ssh": sshSchema(),
		"role": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(config.RoleAgent),
			MarkdownDescription: "Role of the node: `agent` (default). More servers (`server`) come with highly available clusters.",
			Validators:          []validator.String{oneOf{config.RoleAgent, config.RoleServer}},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"node_name": schema.StringAttribute{
			Optional: true, Computed: true,
			MarkdownDescription: "Name of the Node (default: the host name). Changing it replaces the node.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
		},
		"node_ip": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Address other nodes reach this one on (default: the address of the default route's interface).",
		},
		"labels": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Labels of the Node, set through the API too. Labels others set are left alone.",
			Validators:          []validator.Map{validators.Labels()},
		},
		"taints": taintsSchema(),
		"ready": schema.BoolAttribute{
			Computed:            true,
			MarkdownDescription: "Whether the Node was Ready when last read. Plan wants `true`, so a node that is not plans an update that repairs it.",
			PlanModifiers:       []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
		},
	}
	driftAttributes(attrs)
	resp.Schema = schema.Schema{
		MarkdownDescription: "A node of a Slipway cluster on its own host, reached over SSH: Create installs the bundle and " +
			"joins the cluster, waiting until the Node is Ready. One failing host fails only its own node. Read checks the " +
			"host (service state, settings checksum, version) and the Node (Ready), so drift shows in `terraform plan`. " +
			"Update reconfigures the node in place; labels and taints change through the API too. Destroy drains the node, " +
			"deletes the Node and resets the host.",
		Attributes: attrs,
	}
}

func (r *nodeResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m nodeModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Role.ValueString() == config.RoleServer {
		resp.Diagnostics.AddAttributeError(path.Root("role"), "More Servers Not Supported Yet",
			"A slipway_node with role server would join the cluster's etcd; that comes with highly available clusters. "+
				"Use role agent (the default).")
	}
	checkNodeName(m.NodeName, &resp.Diagnostics)
	checkIP(m.NodeIP, path.Root("node_ip"), &resp.Diagnostics)
	checkTaints(ctx, m.Taints, &resp.Diagnostics)
	if j, ok := joinOf(ctx, m.Cluster); ok {
		checkBundleFiles(ctx, j.Bundles, &resp.Diagnostics)
	}
}

// joinOf reads the cluster attribute; false while it is unknown.
func joinOf(ctx context.Context, o types.Object) (joinModel, bool) {
	var j joinModel
	if o.IsNull() || o.IsUnknown() {
		return j, false
	}
	if d := o.As(ctx, &j, basetypes.ObjectAsOptions{}); d.HasError() {
		return j, false
	}
	return j, true
}

// agentConfig is the agent's settings file.
func (m *nodeModel) agentConfig(ctx context.Context, j joinModel) (config.Config, diag.Diagnostics) {
	labels, diags := stringMap(ctx, m.Labels)
	taints, d := taintStrings(ctx, m.Taints)
	diags.Append(d...)
	return config.Config{
		Role:       config.RoleAgent,
		Server:     j.Server.ValueString(),
		Token:      j.Token.ValueString(),
		NodeName:   m.NodeName.ValueString(),
		NodeIP:     m.NodeIP.ValueString(),
		NodeLabels: labelStrings(labels),
		NodeTaints: taints,
	}, diags
}

func (r *nodeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan nodeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.SSH.HostKey.IsUnknown() && !req.State.Raw.IsNull() {
		var st nodeModel
		resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
		plan.SSH.HostKey = st.SSH.HostKey
	}
	plan.ServiceState = types.StringValue("active")
	plan.Ready = types.BoolValue(true)
	plan.Version, plan.ConfigChecksum = types.StringUnknown(), types.StringUnknown()
	if j, ok := joinOf(ctx, plan.Cluster); ok {
		if bundles, d := stringMap(ctx, j.Bundles); !d.HasError() && !j.Bundles.IsUnknown() {
			v := ""
			for _, p := range bundles {
				if bv := bundleVersion(p); bv != "" && (v == "" || v == bv) {
					v = bv
				}
			}
			if v != "" {
				plan.Version = types.StringValue(v)
			}
		}
		if knownAll(j.Server, j.Token, plan.NodeName, plan.NodeIP) && !plan.Labels.IsUnknown() && !plan.Taints.IsUnknown() {
			if cfg, d := plan.agentConfig(ctx, j); !d.HasError() {
				if b, err := cfg.Render(); err == nil {
					plan.ConfigChecksum = types.StringValue(config.Checksum(b))
				}
			}
		}
	}
	if plan.NodeName.IsUnknown() {
		plan.ID = types.StringUnknown()
	} else {
		plan.ID = plan.NodeName
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// apiClient is a client for the cluster the node joins.
func (r *nodeResource) apiClient(j joinModel) (*kubernetes.Clientset, error) {
	c := kube.Connection{Host: j.Server.ValueString(), ClusterCACertificate: j.CACertificate.ValueString(), Token: j.APIToken.ValueString()}
	if r.data != nil && r.data.clients != nil {
		return r.data.clients.For(c)
	}
	return (&kube.Clients{}).For(c)
}

func (r *nodeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan nodeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, nil, &resp.Diagnostics)
	if !plan.ID.IsUnknown() && !plan.ID.IsNull() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

func (r *nodeResource) apply(ctx context.Context, m *nodeModel, prior *nodeModel, diags *diag.Diagnostics) {
	j, ok := joinOf(ctx, m.Cluster)
	if !ok {
		diags.AddAttributeError(path.Root("cluster"), "Unknown Cluster", "The cluster's join information is not known.")
		return
	}
	bundles, d := stringMap(ctx, j.Bundles)
	diags.Append(d...)
	images, d := stringList(ctx, j.Images)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	sshCfg := m.SSH.remoteConfig(r.data)
	if err := resolveNodeName(ctx, &m.NodeName, sshCfg); err != nil {
		diags.AddError("Cannot Reach The Host", fmt.Sprintf("Reading the node name of %s failed: %v", m.SSH.Host.ValueString(), err))
		return
	}
	cfg, d := m.agentConfig(ctx, j)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	host := &bootstrap.Host{Name: m.SSH.Host.ValueString(), SSH: sshCfg, Config: cfg}
	start := time.Now()
	cs, err := r.apiClient(j)
	if err != nil {
		diags.AddError("Cannot Connect To The Cluster", err.Error())
		return
	}
	// The Node's last heartbeat before any restart: waitNodeReady wants a later one.
	beatBefore := readyHeartbeat(ctx, cs, m.NodeName.ValueString())
	if err := syncImages(ctx, &host.SSH, images, cfg); err != nil {
		diags.AddError("Cannot Upload Images", fmt.Sprintf("Uploading the images to %s failed: %v", host.Name, err))
		return
	}
	if err := bootstrap.Install(ctx, []*bootstrap.Host{host}, bootstrapOptions(ctx, bundles)); err != nil {
		diags.AddError("Cannot Install The Node", fmt.Sprintf("Installing the node on %s failed: %v", host.Name, err))
		return
	}
	if m.SSH.HostKey.IsUnknown() || m.SSH.HostKey.IsNull() {
		m.SSH.HostKey = types.StringValue(host.HostKey)
	}
	name := m.NodeName.ValueString()
	m.ID = m.NodeName
	if !host.ServiceStarted {
		beatBefore = time.Time{} // the kubelet kept running: its Ready is current
	}
	if err := waitNodeReady(ctx, cs, name, 5*time.Minute, beatBefore); err != nil {
		diags.AddError("Node Not Ready", fmt.Sprintf("The node on %s joined, but: %v", host.Name, err))
		return
	}
	tflog.Info(ctx, fmt.Sprintf("%s: node %s Ready after %s", host.Name, name, time.Since(start).Round(time.Second)))
	hadLabels, hadTaints := types.MapNull(types.StringType), types.ListNull(types.ObjectType{AttrTypes: taintAttrTypes})
	if prior != nil {
		hadLabels, hadTaints = prior.Labels, prior.Taints
	}
	if err := applyNodeMeta(ctx, cs, name, hadLabels, hadTaints, m.Labels, cfg.NodeTaints); err != nil {
		diags.AddError("Cannot Set Node Labels", err.Error())
		return
	}
	rendered, _ := cfg.Render()
	m.ConfigChecksum = types.StringValue(config.Checksum(rendered))
	m.ServiceState = types.StringValue("active")
	m.Ready = types.BoolValue(true)
	if drift, err := inspectHost(ctx, host.SSH); err == nil {
		m.Version = types.StringValue(drift.Version)
	} else if m.Version.IsUnknown() {
		m.Version = types.StringValue("")
	}
}

func (r *nodeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var st nodeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	drift, sshErr := inspectHost(ctx, st.SSH.remoteConfig(r.data))
	found, ready := false, false
	var apiErr error
	if j, ok := joinOf(ctx, st.Cluster); ok {
		if cs, err := r.apiClient(j); err != nil {
			apiErr = err
		} else {
			var why string
			found, ready, why, apiErr = nodeReady(ctx, cs, st.NodeName.ValueString())
			if !ready && apiErr == nil {
				tflog.Info(ctx, fmt.Sprintf("node %s not Ready: %s", st.NodeName.ValueString(), why))
			}
		}
	}
	if sshErr != nil && apiErr == nil && !found {
		resp.Diagnostics.AddWarning("Node Gone",
			fmt.Sprintf("Host %s cannot be reached and the cluster has no Node %s: the node is removed from state, "+
				"and the next apply creates it again. The cause: %v", st.SSH.Host.ValueString(), st.NodeName.ValueString(), sshErr))
		resp.State.RemoveResource(ctx)
		return
	}
	if sshErr != nil {
		resp.Diagnostics.AddWarning("Cannot Check The Node",
			fmt.Sprintf("Checking %s over SSH failed, so the plan proposes to repair it: %v", st.SSH.Host.ValueString(), sshErr))
	}
	if apiErr != nil {
		resp.Diagnostics.AddWarning("Cannot Check The Node",
			fmt.Sprintf("Reading Node %s from the cluster failed: %v", st.NodeName.ValueString(), apiErr))
	}
	st.ServiceState = types.StringValue(drift.ServiceState)
	st.ConfigChecksum = types.StringValue(drift.ConfigChecksum)
	st.Version = types.StringValue(drift.Version)
	st.Ready = types.BoolValue(ready)
	resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
}

func (r *nodeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, st nodeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.SSH.HostKey.IsUnknown() {
		plan.SSH.HostKey = st.SSH.HostKey
	}
	r.apply(ctx, &plan, &st, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *nodeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var st nodeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := st.NodeName.ValueString()
	if j, ok := joinOf(ctx, st.Cluster); ok {
		cs, err := r.apiClient(j)
		if err == nil {
			err = drainAndDelete(ctx, cs, name, 5*time.Minute, func(f string, a ...any) { tflog.Info(ctx, fmt.Sprintf(f, a...)) })
		}
		if err != nil {
			resp.Diagnostics.AddWarning("Cannot Drain The Node",
				fmt.Sprintf("Draining and deleting Node %s failed, so its pods were not moved first; the host is reset anyway: %v", name, err))
		}
	}
	host := &bootstrap.Host{Name: st.SSH.Host.ValueString(), SSH: st.SSH.remoteConfig(r.data)}
	if err := bootstrap.Reset(ctx, []*bootstrap.Host{host}, bootstrapOptions(ctx, nil)); err != nil {
		resp.Diagnostics.AddError("Cannot Reset The Node", fmt.Sprintf("Resetting %s failed: %v", host.Name, err))
	}
}

var _ resource.ResourceWithImportState = (*nodeResource)(nil)

// ImportState takes a node by its cluster and name, <cluster import ID>/[user@]<node
// name> (the cluster's first server as [user@]host[:port], then the Node's name): the
// first server gives the join information and the Node's address, which is then
// reached on the same port, as user (default: the server's user). The older form, the
// node host's own [user@]host[:port], works too, but leaves `cluster` for the next
// apply to fill (an update that changes nothing on the host). Credentials come from
// the provider.
func (r *nodeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	clusterID, wantName, byCluster := strings.Cut(req.ID, "/")
	joinInfo := types.ObjectNull(joinAttrTypes)
	user, host, port, err := parseHostID(clusterID)
	if u, n, ok := strings.Cut(wantName, "@"); ok {
		user, wantName = u, n
	}
	if err == nil && byCluster && (wantName == "" || user == "") {
		err = fmt.Errorf("want a node name (and optionally its SSH user, user@name) after %q", clusterID+"/")
	}
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", "Import a node by its cluster and name, [user@]server[:port]/[user@]<node name>: "+err.Error())
		return
	}
	if byCluster {
		cl, cs, err := importCluster(ctx, r.data, clusterID)
		if err != nil {
			resp.Diagnostics.AddError("Cannot Import The Node", fmt.Sprintf("Reading the cluster from %s failed: %v", clusterID, err))
			return
		}
		node, err := cs.CoreV1().Nodes().Get(ctx, wantName, metav1.GetOptions{})
		if err != nil {
			resp.Diagnostics.AddError("Cannot Import The Node", fmt.Sprintf("Node %s: %v", wantName, err))
			return
		}
		host = ""
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				host = a.Address
				break
			}
		}
		if host == "" {
			resp.Diagnostics.AddError("Cannot Import The Node", fmt.Sprintf("Node %s reports no internal address to reach it over SSH", wantName))
			return
		}
		joinInfo = cl.Join
	}
	m := sshModel{Host: types.StringValue(host), Port: types.Int64Value(int64(port)), User: types.StringValue(user),
		PrivateKey: types.StringNull(), PrivateKeyFile: types.StringNull(), Password: types.StringNull(), Agent: types.BoolNull(),
		SudoPassword: types.StringNull(), HostKey: types.StringNull()}
	h := &bootstrap.Host{SSH: m.remoteConfig(r.data)}
	if err := bootstrap.Inspect(ctx, []*bootstrap.Host{h}, bootstrapOptions(ctx, nil)); err != nil {
		resp.Diagnostics.AddError("Cannot Import The Node", fmt.Sprintf("Checking %s failed: %v", req.ID, err))
		return
	}
	c, err := h.Facts.ExistingConfig()
	if err != nil || c == nil || c.Role != config.RoleAgent {
		resp.Diagnostics.AddError("Cannot Import The Node", fmt.Sprintf("%s on %s holds no agent's settings (%v)", config.DefaultPath, host, err))
		return
	}
	m.HostKey = types.StringValue(h.HostKey)
	st := nodeModel{
		Cluster: joinInfo,
		SSH:     m, Role: types.StringValue(config.RoleAgent), NodeIP: optString(c.NodeIP),
		Labels: types.MapNull(types.StringType), Taints: types.ListNull(types.ObjectType{AttrTypes: taintAttrTypes}),
		ServiceState: types.StringNull(), ConfigChecksum: types.StringNull(), Version: types.StringNull(), Ready: types.BoolNull(),
	}
	name := c.NodeName
	if name == "" {
		name = h.Facts.Hostname
	}
	if byCluster && !strings.EqualFold(name, wantName) {
		resp.Diagnostics.AddError("Cannot Import The Node", fmt.Sprintf("The host at %s is node %s, not %s", host, name, wantName))
		return
	}
	st.NodeName, st.ID = types.StringValue(name), types.StringValue(name)
	st.Labels, st.Taints = labelsAndTaints(ctx, c)
	resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
}
