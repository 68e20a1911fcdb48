package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"sigs.k8s.io/yaml"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
	"github.com/slipway-dev/terraform-provider-slipway/provider/validators"
)

var (
	_ resource.ResourceWithConfigure      = (*clusterResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*clusterResource)(nil)
	_ resource.ResourceWithValidateConfig = (*clusterResource)(nil)
)

// NewClusterResource is slipway_cluster: a cluster, created on its first server.
func NewClusterResource() resource.Resource { return &clusterResource{} }

type clusterResource struct {
	kubeResource
}

type clusterModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	SSH           sshModel     `tfsdk:"ssh"`
	NodeName      types.String `tfsdk:"node_name"`
	NodeIP        types.String `tfsdk:"node_ip"`
	Bundles       types.Map    `tfsdk:"bundles"`
	PodCIDR       types.String `tfsdk:"pod_cidr"`
	ServiceCIDR   types.String `tfsdk:"service_cidr"`
	ClusterDNS    types.String `tfsdk:"cluster_dns"`
	ClusterDomain types.String `tfsdk:"cluster_domain"`
	Scheduler     types.String `tfsdk:"scheduler"`
	APIEndpoint   types.String `tfsdk:"api_endpoint"`
	Images        types.List   `tfsdk:"images"`
	Labels        types.Map    `tfsdk:"labels"`
	Taints        types.List   `tfsdk:"taints"`

	APIServerURL   types.String `tfsdk:"api_server_url"`
	CACertificate  types.String `tfsdk:"ca_certificate"`
	Kubeconfig     types.String `tfsdk:"kubeconfig"`
	JoinToken      types.String `tfsdk:"join_token"`
	Connection     types.Object `tfsdk:"cluster_connection"`
	Join           types.Object `tfsdk:"join"`
	ServiceState   types.String `tfsdk:"service_state"`
	ConfigChecksum types.String `tfsdk:"config_checksum"`
	Version        types.String `tfsdk:"version"`
	Status         types.String `tfsdk:"status"`
}

var connectionAttrTypes = map[string]attr.Type{
	"host": types.StringType, "cluster_ca_certificate": types.StringType,
	"client_certificate": types.StringType, "client_key": types.StringType, "token": types.StringType,
}

var joinAttrTypes = map[string]attr.Type{
	"server": types.StringType, "token": types.StringType, "ca_certificate": types.StringType,
	"api_token": types.StringType, "bundles": types.MapType{ElemType: types.StringType},
	"images": types.ListType{ElemType: types.StringType},
}

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func computedString(desc string, keep bool, sensitive bool) schema.StringAttribute {
	a := schema.StringAttribute{Computed: true, Sensitive: sensitive, MarkdownDescription: desc}
	if keep {
		a.PlanModifiers = []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	}
	return a
}

func replaceString(desc, def string, v ...validator.String) schema.StringAttribute {
	return schema.StringAttribute{
		Optional: true, Computed: true, Default: stringdefault.StaticString(def), MarkdownDescription: desc,
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}, Validators: v,
	}
}

// driftAttributes are what Read finds on a host; plan sets the wanted values.
func driftAttributes(attrs map[string]schema.Attribute) {
	attrs["service_state"] = computedString("State of the `slipway` service as Read found it (`active` when it runs; "+
		"`inactive`, `failed`, `not-installed` or `unreachable` otherwise). Plan wants `active`, so a stopped service plans an update that starts it.", false, false)
	attrs["config_checksum"] = computedString("sha256 of the node's settings file, /etc/slipway/config.yaml, as Read found it. "+
		"Plan wants the checksum of the settings from this configuration, so a hand-edited file plans an update that rewrites it.", false, false)
	attrs["version"] = computedString("Slipway version installed on the host, as Read found it. Plan wants the bundle's "+
		"version (from its file name), so a host with another version plans an update that installs the bundle.", false, false)
}

func (r *clusterResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": computedString("The first server's SSH address.", true, false),
		"name": replaceString("Name of the cluster, used for the kubeconfig's cluster, user and context (default `slipway`). "+
			"Changing it replaces the cluster.", "slipway", validators.DNSLabel()),
		"ssh": sshSchema(),
		"node_name": schema.StringAttribute{
			Optional: true, Computed: true,
			MarkdownDescription: "Name of the first server's Node (default: the host name). Changing it replaces the cluster.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace(), stringplanmodifier.UseStateForUnknown()},
		},
		"node_ip": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Address other nodes reach the server on (default: the address of the interface " +
				"holding the host's default route).",
		},
		"bundles": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Node bundle per architecture (`amd64`, `arm64`): local paths of " +
				"`dist/slipway-<version>-linux-<arch>.tar`, uploaded to the hosts. Default: the provider's `bundles`. " +
				"Nodes take them from `join`.",
		},
		"pod_cidr": replaceString("Range pod addresses come from (default `10.42.0.0/16`). Changing it replaces the cluster.", "10.42.0.0/16"),
		"service_cidr": replaceString("Range Service cluster IPs come from (default `10.43.0.0/16`). Changing it replaces the cluster.",
			"10.43.0.0/16"),
		"cluster_dns": schema.StringAttribute{
			Optional: true, Computed: true,
			MarkdownDescription: "Cluster IP of the DNS service (default: the tenth address of `service_cidr`, `10.43.0.10`). " +
				"Changing it replaces the cluster.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"cluster_domain": replaceString("DNS domain of the cluster (default `cluster.local`). Changing it replaces the cluster.", "cluster.local"),
		"scheduler": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(config.SchedulerBinpack),
			MarkdownDescription: "Scheduling policy: `binpack` (fill nodes, the default) or `spread`.",
			Validators:          []validator.String{oneOf{config.SchedulerBinpack, config.SchedulerSpread}},
		},
		"api_endpoint": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Address clients and nodes reach the API on: a DNS name or IP address, optionally with " +
				"`:port`, such as a load balancer in front of the servers. It is added to the API server's certificate. " +
				"Default: the server's SSH `host`, port 6443.",
		},
		"images": schema.ListAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Local image tarballs (`docker save` / OCI archives) uploaded to every node and imported " +
				"at start, for workloads that pull from no registry. Nodes take them from `join`.",
		},
		"labels": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Labels of the server's Node. Labels others set are left alone.",
			Validators:          []validator.Map{validators.Labels()},
		},
		"taints": taintsSchema(),

		"api_server_url": computedString("URL of the cluster's API (`https://<api_endpoint or host>:6443`).", false, false),
		"ca_certificate": computedString("PEM certificate of the cluster's CA. Its private key never leaves the servers.", true, false),
		"kubeconfig":     computedString("Admin kubeconfig of the cluster, pointing at `api_server_url`.", false, true),
		"join_token": computedString("Token nodes join with (`slipway:<id>.<secret>:sha256:<CA hash>`), which also pins "+
			"the cluster's CA.", true, true),
		"cluster_connection": schema.SingleNestedAttribute{
			Computed: true,
			MarkdownDescription: "Connection for workload resources (`cluster = slipway_cluster.<name>.cluster_connection`): the API " +
				"URL, the CA and the token of the `slipway-terraform` service account (cluster-admin). It stays the same when " +
				"the admin certificate changes, so workload resources plan no change.",
			PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
			Attributes: map[string]schema.Attribute{
				"host":                   schema.StringAttribute{Computed: true, MarkdownDescription: "API server URL."},
				"cluster_ca_certificate": schema.StringAttribute{Computed: true, MarkdownDescription: "PEM CA certificate."},
				"client_certificate":     schema.StringAttribute{Computed: true, MarkdownDescription: "Unset: the token authenticates."},
				"client_key":             schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: "Unset: the token authenticates."},
				"token":                  schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: "Bearer token of `slipway-terraform`."},
			},
		},
		"join": schema.SingleNestedAttribute{
			Computed: true,
			MarkdownDescription: "What a `slipway_node` needs to join (`cluster = slipway_cluster.<name>.join`): the server URL, " +
				"the join token, the CA, an API token to check and drain the node with, the bundles and the images.",
			PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
			Attributes: map[string]schema.Attribute{
				"server":         schema.StringAttribute{Computed: true, MarkdownDescription: "API server URL nodes register with."},
				"token":          schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: "Join token."},
				"ca_certificate": schema.StringAttribute{Computed: true, MarkdownDescription: "PEM CA certificate."},
				"api_token":      schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: "Bearer token for the API."},
				"bundles":        schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Node bundles per architecture."},
				"images":         schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Image tarballs."},
			},
		},
		"status": computedString("`ready` once the server runs and its Node is Ready.", false, false),
	}
	driftAttributes(attrs)
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Slipway cluster, created on its first server over SSH: the bundle is uploaded, the " +
			"settings written, the service started, and the server waited for until its Node is Ready. Every other node " +
			"is a `slipway_node`. Read checks the host (service state, settings checksum, version), so `terraform plan` " +
			"shows a stopped service or a hand-edited settings file as a change, which apply repairs. Destroy resets the host.",
		Attributes: attrs,
	}
}

// ValidateConfig rejects bad input at plan time; unknown values pass.
func (r *clusterResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m clusterModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	checkNodeName(m.NodeName, &resp.Diagnostics)
	checkIP(m.NodeIP, path.Root("node_ip"), &resp.Diagnostics)
	checkBundleFiles(ctx, m.Bundles, &resp.Diagnostics)
	checkImageFiles(m.Images, path.Root("images"), &resp.Diagnostics)
	checkTaints(ctx, m.Taints, &resp.Diagnostics)
	var pod, svc netip.Prefix
	var podOK, svcOK bool
	parse := func(v types.String, attr string) (netip.Prefix, bool) {
		if v.IsNull() || v.IsUnknown() {
			return netip.Prefix{}, false
		}
		p, err := netip.ParsePrefix(v.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid CIDR",
				fmt.Sprintf("%q is not a CIDR range (like 10.42.0.0/16): %v", v.ValueString(), err))
			return p, false
		}
		if p.Masked() != p {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid CIDR",
				fmt.Sprintf("%q has host bits set: did you mean %s?", v.ValueString(), p.Masked()))
			return p, false
		}
		return p, true
	}
	pod, podOK = parse(m.PodCIDR, "pod_cidr")
	svc, svcOK = parse(m.ServiceCIDR, "service_cidr")
	if m.PodCIDR.IsNull() {
		pod, podOK = netip.MustParsePrefix("10.42.0.0/16"), true
	}
	if m.ServiceCIDR.IsNull() {
		svc, svcOK = netip.MustParsePrefix("10.43.0.0/16"), true
	}
	if podOK && svcOK && pod.Overlaps(svc) {
		resp.Diagnostics.AddAttributeError(path.Root("service_cidr"), "Overlapping CIDRs",
			fmt.Sprintf("service_cidr %s overlaps pod_cidr %s: pod and Service addresses must come from separate ranges.", svc, pod))
	}
	if !m.ClusterDNS.IsNull() && !m.ClusterDNS.IsUnknown() {
		ip, err := netip.ParseAddr(m.ClusterDNS.ValueString())
		switch {
		case err != nil:
			resp.Diagnostics.AddAttributeError(path.Root("cluster_dns"), "Invalid IP Address",
				fmt.Sprintf("%q is not an IP address.", m.ClusterDNS.ValueString()))
		case svcOK && !svc.Contains(ip):
			resp.Diagnostics.AddAttributeError(path.Root("cluster_dns"), "Cluster DNS Outside The Service CIDR",
				fmt.Sprintf("cluster_dns %s is not in service_cidr %s.", ip, svc))
		}
	}
	if !m.ClusterDomain.IsNull() && !m.ClusterDomain.IsUnknown() && !dns1123.MatchString(m.ClusterDomain.ValueString()) {
		resp.Diagnostics.AddAttributeError(path.Root("cluster_domain"), "Invalid Cluster Domain",
			fmt.Sprintf("%q is not a DNS domain.", m.ClusterDomain.ValueString()))
	}
	if !m.APIEndpoint.IsNull() && !m.APIEndpoint.IsUnknown() {
		if _, _, err := splitEndpoint(m.APIEndpoint.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("api_endpoint"), "Invalid API Endpoint", err.Error())
		}
	}
}

// splitEndpoint reads "host", "host:port" or "[v6]:port".
func splitEndpoint(s string) (string, int, error) {
	if strings.Contains(s, "://") {
		return "", 0, fmt.Errorf("%q: give a host name or address, optionally with :port, without a scheme", s)
	}
	host, port := s, 6443
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("%q: %q is not a TCP port", s, p)
		}
		host, port = h, n
	}
	host = strings.Trim(host, "[]")
	if net.ParseIP(host) == nil && !dns1123.MatchString(host) {
		return "", 0, fmt.Errorf("%q is neither an IP address nor a DNS name", host)
	}
	return host, port, nil
}

// defaultClusterDNS is the tenth address of the service range.
func defaultClusterDNS(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return ""
	}
	a := p.Masked().Addr()
	for range 10 {
		a = a.Next()
	}
	return a.String()
}

// apiURL is the API URL clients and nodes use.
func (m *clusterModel) apiURL() string {
	host, port := m.SSH.Host.ValueString(), 6443
	if !m.APIEndpoint.IsNull() {
		if h, p, err := splitEndpoint(m.APIEndpoint.ValueString()); err == nil {
			host, port = h, p
		}
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// serverConfig is the server's settings file, from the model. token is the bare
// bootstrap token (<id>.<secret>).
func (m *clusterModel) serverConfig(ctx context.Context, token string) (config.Config, diag.Diagnostics) {
	labels, diags := stringMap(ctx, m.Labels)
	taints, d := taintStrings(ctx, m.Taints)
	diags.Append(d...)
	cfg := config.Config{
		Role:          config.RoleServer,
		NodeName:      m.NodeName.ValueString(),
		NodeIP:        m.NodeIP.ValueString(),
		Token:         token,
		ClusterCIDR:   m.PodCIDR.ValueString(),
		ServiceCIDR:   m.ServiceCIDR.ValueString(),
		ClusterDNS:    m.ClusterDNS.ValueString(),
		ClusterDomain: m.ClusterDomain.ValueString(),
		Scheduler:     m.Scheduler.ValueString(),
		NodeLabels:    labelStrings(labels),
		NodeTaints:    taints,
	}
	if cfg.ClusterDNS == "" {
		cfg.ClusterDNS = defaultClusterDNS(cfg.ServiceCIDR)
	}
	sans := []string{strings.Trim(m.SSH.Host.ValueString(), "[]")}
	if !m.APIEndpoint.IsNull() {
		if h, _, err := splitEndpoint(m.APIEndpoint.ValueString()); err == nil && h != sans[0] {
			sans = append(sans, h)
		}
	}
	cfg.TLSSANs = sans
	return cfg, diags
}

// bareToken is the <id>.<secret> part of the join token in state.
func bareToken(joinToken string) string {
	t, err := join.Parse(joinToken, false)
	if err != nil {
		return ""
	}
	return t.Bootstrap()
}

func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.ClusterDNS.IsUnknown() && !plan.ServiceCIDR.IsUnknown() {
		plan.ClusterDNS = types.StringValue(defaultClusterDNS(plan.ServiceCIDR.ValueString()))
	}
	if plan.SSH.HostKey.IsUnknown() && !req.State.Raw.IsNull() {
		var st clusterModel
		resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
		plan.SSH.HostKey = st.SSH.HostKey
	}
	plan.ServiceState = types.StringValue("active")
	plan.Status = types.StringValue("ready")
	plan.ID = types.StringValue(plan.SSH.Host.ValueString())
	if plan.SSH.Host.IsUnknown() {
		plan.ID = types.StringUnknown()
	}
	plan.APIServerURL = types.StringUnknown()
	if !plan.SSH.Host.IsUnknown() && !plan.APIEndpoint.IsUnknown() {
		plan.APIServerURL = types.StringValue(plan.apiURL())
	}
	plan.Version = types.StringUnknown()
	if bundles, d := bundlesFor(ctx, plan.Bundles, r.data); !d.HasError() && !plan.Bundles.IsUnknown() {
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
	// The settings checksum, when everything it depends on is known.
	plan.ConfigChecksum = types.StringUnknown()
	token := ""
	if !plan.JoinToken.IsUnknown() {
		token = bareToken(plan.JoinToken.ValueString())
	}
	if token != "" && knownAll(plan.NodeName, plan.NodeIP, plan.PodCIDR, plan.ServiceCIDR, plan.ClusterDNS, plan.ClusterDomain,
		plan.Scheduler, plan.SSH.Host, plan.APIEndpoint) && !plan.Labels.IsUnknown() && !plan.Taints.IsUnknown() {
		if cfg, d := plan.serverConfig(ctx, token); !d.HasError() {
			if b, err := cfg.Render(); err == nil {
				plan.ConfigChecksum = types.StringValue(config.Checksum(b))
			}
		}
	}
	// Kubeconfig and the join info follow the API URL and bundles.
	if !req.State.Raw.IsNull() {
		var st clusterModel
		resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
		if !plan.APIServerURL.Equal(st.APIServerURL) {
			plan.Kubeconfig, plan.Connection, plan.Join = types.StringUnknown(),
				types.ObjectUnknown(connectionAttrTypes), types.ObjectUnknown(joinAttrTypes)
		} else {
			plan.Kubeconfig = st.Kubeconfig
		}
		if !plan.Bundles.Equal(st.Bundles) || !plan.Images.Equal(st.Images) {
			plan.Join = types.ObjectUnknown(joinAttrTypes)
		}
	} else {
		plan.Kubeconfig = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func knownAll(vs ...types.String) bool {
	for _, v := range vs {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	tok, err := join.Generate("")
	if err != nil {
		resp.Diagnostics.AddError("Cannot Create The Join Token", err.Error())
		return
	}
	r.apply(ctx, &plan, tok.Bootstrap(), nil, &resp.Diagnostics)
	if plan.ID.IsUnknown() || plan.ID.IsNull() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply installs or reconfigures the server and fills the computed attributes.
// prior is the state before an update (nil on create).
func (r *clusterResource) apply(ctx context.Context, m *clusterModel, token string, prior *clusterModel, diags *diag.Diagnostics) {
	bundles, d := bundlesFor(ctx, m.Bundles, r.data)
	diags.Append(d...)
	sshCfg := m.SSH.remoteConfig(r.data)
	if err := resolveNodeName(ctx, &m.NodeName, sshCfg); err != nil {
		diags.AddError("Cannot Reach The Host", fmt.Sprintf("Reading the node name of %s failed: %v", m.SSH.Host.ValueString(), err))
		return
	}
	cfg, d := m.serverConfig(ctx, token)
	diags.Append(d...)
	images, d := stringList(ctx, m.Images)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	host := &bootstrap.Host{Name: m.SSH.Host.ValueString(), SSH: sshCfg, Config: cfg}
	opts := bootstrapOptions(ctx, bundles)
	start := time.Now()
	err := syncImages(ctx, &host.SSH, images, cfg)
	if err != nil {
		diags.AddError("Cannot Upload Images", fmt.Sprintf("Uploading the images to %s failed: %v", host.Name, err))
		return
	}
	if err := bootstrap.Install(ctx, []*bootstrap.Host{host}, opts); err != nil {
		diags.AddError("Cannot Install The Server", fmt.Sprintf("Installing the first server on %s failed: %v", host.Name, err))
		if prior == nil && host.HostKey != "" {
			// Nothing in state yet: the next apply starts over (the install converges).
			tflog.Warn(ctx, "server install failed; the next apply retries it")
		}
		return
	}
	tflog.Info(ctx, fmt.Sprintf("%s: server installed in %s", host.Name, time.Since(start).Round(time.Second)))
	if m.SSH.HostKey.IsUnknown() || m.SSH.HostKey.IsNull() {
		m.SSH.HostKey = types.StringValue(host.HostKey)
	}
	if m.ClusterDNS.IsUnknown() || m.ClusterDNS.IsNull() {
		m.ClusterDNS = types.StringValue(cfg.ClusterDNS)
	}
	url := m.apiURL()
	kc, err := kubeconfigFor(host.Kubeconfig, url, m.Name.ValueString())
	if err != nil {
		diags.AddError("Cannot Read The Kubeconfig", fmt.Sprintf("The admin kubeconfig from %s could not be read: %v", host.Name, err))
		return
	}
	ca, err := kubeconfigCA(kc)
	if err != nil {
		diags.AddError("Cannot Read The Kubeconfig", fmt.Sprintf("The admin kubeconfig from %s has no CA: %v", host.Name, err))
		return
	}
	hash, err := join.CAHashPEM([]byte(ca))
	if err != nil {
		diags.AddError("Cannot Read The CA", err.Error())
		return
	}
	t, _ := join.Parse(token, false)
	t.CAHash = hash
	m.JoinToken = types.StringValue(t.String())
	m.CACertificate = types.StringValue(ca)
	m.Kubeconfig = types.StringValue(string(kc))
	m.APIServerURL = types.StringValue(url)
	m.ID = types.StringValue(m.SSH.Host.ValueString())

	// The admin kubeconfig from the host points at the host itself (the server's
	// certificate has its address); api_endpoint may be a load balancer not yet up.
	cs, err := clientFromKubeconfig(host.Kubeconfig)
	if err != nil {
		diags.AddError("Cannot Connect To The Cluster", err.Error())
		return
	}
	apiToken, err := terraformToken(ctx, cs)
	if err != nil {
		diags.AddError("Cannot Create Terraform's Service Account", fmt.Sprintf("Setting up the slipway-terraform service account failed: %v", err))
		return
	}
	hadLabels, hadTaints := types.MapNull(types.StringType), types.ListNull(types.ObjectType{AttrTypes: taintAttrTypes})
	if prior != nil {
		hadLabels, hadTaints = prior.Labels, prior.Taints
	}
	if err := applyNodeMeta(ctx, cs, m.NodeName.ValueString(), hadLabels, hadTaints, m.Labels, cfg.NodeTaints); err != nil {
		diags.AddError("Cannot Set Node Labels", err.Error())
		return
	}
	m.Connection = types.ObjectValueMust(connectionAttrTypes, map[string]attr.Value{
		"host": types.StringValue(url), "cluster_ca_certificate": types.StringValue(ca),
		"client_certificate": types.StringNull(), "client_key": types.StringNull(), "token": types.StringValue(apiToken),
	})
	bundleVals, _ := types.MapValueFrom(ctx, types.StringType, bundles)
	imageVals, _ := types.ListValueFrom(ctx, types.StringType, images)
	if images == nil {
		imageVals = types.ListValueMust(types.StringType, []attr.Value{})
	}
	in := clusterInputs{Name: m.Name.ValueString(), HostKey: m.SSH.HostKey.ValueString(), JoinServer: url, JoinBundles: bundles, JoinImages: images}
	if in.JoinImages == nil {
		in.JoinImages = []string{}
	}
	if !m.APIEndpoint.IsNull() {
		e := m.APIEndpoint.ValueString()
		in.APIEndpoint = &e
	}
	if !m.Bundles.IsNull() {
		in.Bundles, _ = stringMap(ctx, m.Bundles)
	}
	if !m.Images.IsNull() {
		in.Images, in.ImagesSet = images, true
	}
	if err := recordInputs(ctx, cs, in); err != nil {
		diags.AddError("Cannot Record The Cluster's Inputs", err.Error())
		return
	}
	m.Join = types.ObjectValueMust(joinAttrTypes, map[string]attr.Value{
		"server": types.StringValue(url), "token": m.JoinToken, "ca_certificate": types.StringValue(ca),
		"api_token": types.StringValue(apiToken), "bundles": bundleVals, "images": imageVals,
	})
	// What Read would find now.
	rendered, _ := cfg.Render()
	m.ConfigChecksum = types.StringValue(config.Checksum(rendered))
	m.ServiceState = types.StringValue("active")
	m.Status = types.StringValue("ready")
	if drift, err := inspectHost(ctx, host.SSH); err == nil {
		m.Version = types.StringValue(drift.Version)
		m.ServiceState = types.StringValue(drift.ServiceState)
	} else if m.Version.IsUnknown() {
		m.Version = types.StringValue("")
	}
}

func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var st clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	drift, err := inspectHost(ctx, st.SSH.remoteConfig(r.data))
	if err != nil {
		resp.Diagnostics.AddWarning("Cannot Check The Server",
			fmt.Sprintf("Checking %s over SSH failed, so the plan proposes to repair it: %v", st.SSH.Host.ValueString(), err))
	}
	st.ServiceState = types.StringValue(drift.ServiceState)
	st.ConfigChecksum = types.StringValue(drift.ConfigChecksum)
	st.Version = types.StringValue(drift.Version)
	st.Status = types.StringValue("ready")
	if drift.ServiceState != "active" {
		st.Status = types.StringValue("degraded")
	} else if cs, err := clientFromKubeconfig([]byte(st.Kubeconfig.ValueString())); err == nil {
		if _, ready, why, err := nodeReady(ctx, cs, st.NodeName.ValueString()); err != nil || !ready {
			st.Status = types.StringValue("degraded")
			tflog.Info(ctx, fmt.Sprintf("server node %s not Ready: %s %v", st.NodeName.ValueString(), why, err))
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, st clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	token := bareToken(st.JoinToken.ValueString())
	if plan.SSH.HostKey.IsUnknown() {
		plan.SSH.HostKey = st.SSH.HostKey
	}
	r.apply(ctx, &plan, token, &st, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *clusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var st clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &st)...)
	if resp.Diagnostics.HasError() {
		return
	}
	host := &bootstrap.Host{Name: st.SSH.Host.ValueString(), SSH: st.SSH.remoteConfig(r.data)}
	if err := bootstrap.Reset(ctx, []*bootstrap.Host{host}, bootstrapOptions(ctx, nil)); err != nil {
		resp.Diagnostics.AddError("Cannot Reset The Server", fmt.Sprintf("Resetting %s failed: %v", host.Name, err))
	}
}

// kubeconfigFor renames the admin kubeconfig's cluster, user and context to the
// cluster's name and points it at url.
func kubeconfigFor(raw []byte, url, name string) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	clusters, _ := doc["clusters"].([]any)
	users, _ := doc["users"].([]any)
	if len(clusters) != 1 || len(users) != 1 {
		return nil, fmt.Errorf("want one cluster and one user, found %d and %d", len(clusters), len(users))
	}
	c, _ := clusters[0].(map[string]any)
	u, _ := users[0].(map[string]any)
	cc, _ := c["cluster"].(map[string]any)
	if cc == nil {
		return nil, fmt.Errorf("the cluster entry is empty")
	}
	cc["server"] = url
	c["name"], u["name"] = name, name+"-admin"
	doc["contexts"] = []any{map[string]any{"name": name, "context": map[string]any{"cluster": name, "user": name + "-admin"}}}
	doc["current-context"] = name
	return yaml.Marshal(doc)
}

// kubeconfigCA is the PEM CA of a kubeconfig's cluster.
func kubeconfigCA(kc []byte) (string, error) {
	var doc struct {
		Clusters []struct {
			Cluster struct {
				CA string `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	if err := yaml.Unmarshal(kc, &doc); err != nil {
		return "", err
	}
	if len(doc.Clusters) == 0 || doc.Clusters[0].Cluster.CA == "" {
		return "", fmt.Errorf("no certificate-authority-data")
	}
	b, err := base64.StdEncoding.DecodeString(doc.Clusters[0].Cluster.CA)
	return string(b), err
}

// stringList converts a Terraform list of strings to Go.
func stringList(ctx context.Context, l types.List) ([]string, diag.Diagnostics) {
	if l.IsNull() || l.IsUnknown() {
		return nil, nil
	}
	var out []string
	diags := l.ElementsAs(ctx, &out, false)
	return out, diags
}
