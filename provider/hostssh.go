package provider

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap"
	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
)

// What slipway_cluster and slipway_node share: the SSH connection to a host, the
// bundles, the node's labels and taints, and the attributes Read fills from the host
// so plan shows drift.

// sshModel is how to reach a host over SSH.
type sshModel struct {
	Host           types.String `tfsdk:"host"`
	Port           types.Int64  `tfsdk:"port"`
	User           types.String `tfsdk:"user"`
	PrivateKey     types.String `tfsdk:"private_key"`
	PrivateKeyFile types.String `tfsdk:"private_key_file"`
	Password       types.String `tfsdk:"password"`
	Agent          types.Bool   `tfsdk:"agent"`
	SudoPassword   types.String `tfsdk:"sudo_password"`
	HostKey        types.String `tfsdk:"host_key"`
}

func sshSchema() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		Required: true,
		MarkdownDescription: "How to reach the host over SSH. Credentials not given here come from the provider's " +
			"`ssh_private_key_file` and `ssh_agent`.",
		Attributes: map[string]schema.Attribute{
			"host": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Host name, IPv4 or IPv6 address of the host. Changing it replaces the node.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"port": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(22),
				MarkdownDescription: "SSH port (default 22).",
			},
			"user": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("root"),
				MarkdownDescription: "Login user (default `root`). Other users work through sudo.",
			},
			"private_key": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "PEM private key to log in with.",
			},
			"private_key_file": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Path of a PEM private key, read when `private_key` is unset (`~` expands).",
			},
			"password": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "Login password.",
			},
			"agent": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Authenticate with the keys in ssh-agent (`$SSH_AUTH_SOCK`).",
			},
			"sudo_password": schema.StringAttribute{
				Optional: true, Sensitive: true,
				MarkdownDescription: "Password sudo asks for, when the user is not root and sudo needs one.",
			},
			"host_key": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "The host's SSH public key (`ssh-ed25519 AAAA...`), checked on every connection. " +
					"When unset, the provider's `ssh_known_hosts_file` is used if given; otherwise the key the host presents " +
					"first is trusted and kept in state, and checked from then on.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				Validators:    []validator.String{hostKeyValidator{}},
			},
		},
	}
}

// remoteConfig turns the model into the SSH runner's settings, with the provider's
// defaults for what the resource leaves unset.
func (m sshModel) remoteConfig(d *providerData) remote.Config {
	cfg := remote.Config{
		Address:        m.Host.ValueString(),
		Port:           int(m.Port.ValueInt64()),
		User:           m.User.ValueString(),
		PrivateKey:     []byte(m.PrivateKey.ValueString()),
		PrivateKeyFile: m.PrivateKeyFile.ValueString(),
		Password:       m.Password.ValueString(),
		Agent:          m.Agent.ValueBool(),
		SudoPassword:   m.SudoPassword.ValueString(),
		HostKey:        m.HostKey.ValueString(),
	}
	if cfg.User == "" {
		cfg.User = "root"
	}
	if len(cfg.PrivateKey) == 0 {
		cfg.PrivateKey = nil
	}
	if d != nil {
		if len(cfg.PrivateKey) == 0 && cfg.PrivateKeyFile == "" && d.ssh.PrivateKeyFile != "" {
			cfg.PrivateKeyFile = d.ssh.PrivateKeyFile
		}
		if m.Agent.IsNull() && d.ssh.Agent {
			cfg.Agent = true
		}
	}
	if cfg.HostKey == "" {
		if d != nil && d.ssh.KnownHostsFile != "" {
			cfg.KnownHostsFiles = []string{d.ssh.KnownHostsFile}
		} else {
			cfg.TrustOnFirstUse = true
		}
	}
	cfg.ConnectTimeout = 60 * time.Second
	return cfg
}

// sshDefaults are the provider-level SSH settings.
type sshDefaults struct {
	PrivateKeyFile string
	Agent          bool
	KnownHostsFile string
}

// bootstrapOptions are the options of one bootstrap operation, logging to Terraform.
func bootstrapOptions(ctx context.Context, bundles map[string]string) bootstrap.Options {
	return bootstrap.Options{
		Bundles:      bundles,
		Logf:         func(format string, args ...any) { tflog.Info(ctx, fmt.Sprintf(format, args...)) },
		ReadyTimeout: 6 * time.Minute,
	}
}

// bundlesFor resolves a resource's bundles: its own, else the provider's.
func bundlesFor(ctx context.Context, m types.Map, d *providerData) (map[string]string, diag.Diagnostics) {
	out, diags := stringMap(ctx, m)
	if len(out) == 0 && d != nil {
		out = d.bundles
	}
	if len(out) == 0 {
		diags.AddAttributeError(path.Root("bundles"), "No Node Bundle",
			"Set bundles (architecture to the path of dist/slipway-<version>-linux-<arch>.tar) here or in the provider.")
	}
	return out, diags
}

// bundleVersion reads the Slipway version from a bundle's file name
// (slipway-<version>-linux-<arch>.tar); "" when the name does not tell.
func bundleVersion(p string) string {
	m := bundleName.FindStringSubmatch(filepath.Base(p))
	if m == nil {
		return ""
	}
	return m[1]
}

var bundleName = regexp.MustCompile(`^slipway-(.+)-linux-[a-z0-9]+\.tar$`)

// taintModel is one node taint.
type taintModel struct {
	Key    types.String `tfsdk:"key"`
	Value  types.String `tfsdk:"value"`
	Effect types.String `tfsdk:"effect"`
}

var taintAttrTypes = map[string]attr.Type{"key": types.StringType, "value": types.StringType, "effect": types.StringType}

func taintsSchema() schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		Optional:            true,
		MarkdownDescription: "Taints of the node: pods without a matching toleration are kept off it.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"key":    schema.StringAttribute{Required: true, MarkdownDescription: "Taint key."},
			"value":  schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value."},
			"effect": schema.StringAttribute{Required: true, MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`."},
		}},
	}
}

// taintStrings renders taints as the settings file has them: key=value:Effect.
func taintStrings(ctx context.Context, l types.List) ([]string, diag.Diagnostics) {
	if l.IsNull() || l.IsUnknown() {
		return nil, nil
	}
	var ts []taintModel
	diags := l.ElementsAs(ctx, &ts, false)
	var out []string
	for _, t := range ts {
		s := t.Key.ValueString()
		if v := t.Value.ValueString(); v != "" {
			s += "=" + v
		}
		out = append(out, s+":"+t.Effect.ValueString())
	}
	return out, diags
}

// labelStrings renders labels as key=value, sorted.
func labelStrings(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// hostDrift is what Read found on a host, as attribute values.
type hostDrift struct {
	ServiceState   string
	ConfigChecksum string
	Version        string
}

// inspectHost reads a host's state. A host that cannot be reached reports
// "unreachable", so plan proposes to repair it and apply retries.
func inspectHost(ctx context.Context, cfg remote.Config) (hostDrift, error) {
	h := &bootstrap.Host{SSH: cfg}
	err := bootstrap.Inspect(ctx, []*bootstrap.Host{h}, bootstrapOptions(ctx, nil))
	if err != nil || h.Facts == nil {
		return hostDrift{ServiceState: "unreachable"}, err
	}
	f := h.Facts
	state := f.ServiceState
	if !f.Installed() {
		state = "not-installed"
	} else if state == "" {
		state = "unknown"
	}
	return hostDrift{ServiceState: state, ConfigChecksum: f.ConfigChecksum, Version: f.Version}, nil
}

// resolveNodeName fills an unset node name with the host's name (slipway's own
// default) before the settings are rendered, so the settings file always names the
// node: later plans, which know the name from state, then render the same file.
func resolveNodeName(ctx context.Context, name *types.String, cfg remote.Config) error {
	if !name.IsUnknown() && !name.IsNull() {
		return nil
	}
	h := &bootstrap.Host{SSH: cfg}
	if err := bootstrap.Inspect(ctx, []*bootstrap.Host{h}, bootstrapOptions(ctx, nil)); err != nil {
		return err
	}
	if h.Facts == nil || h.Facts.Hostname == "" {
		return fmt.Errorf("the host did not tell its name")
	}
	*name = types.StringValue(h.Facts.Hostname)
	return nil
}

// checkBundleFiles reports bundles that are not files, at plan time.
func checkBundleFiles(ctx context.Context, m types.Map, diags *diag.Diagnostics) {
	if m.IsNull() || m.IsUnknown() {
		return
	}
	for arch, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() || s.IsNull() {
			continue
		}
		if arch != "amd64" && arch != "arm64" {
			diags.AddAttributeError(path.Root("bundles").AtMapKey(arch), "Unknown Architecture",
				fmt.Sprintf("%q is not an architecture Slipway ships: use amd64 or arm64.", arch))
		}
		st, err := os.Stat(expandHome(s.ValueString()))
		if err != nil {
			diags.AddAttributeError(path.Root("bundles").AtMapKey(arch), "Bundle Not Found",
				fmt.Sprintf("Reading the %s node bundle %s failed: %v", arch, s.ValueString(), err))
		} else if st.IsDir() {
			diags.AddAttributeError(path.Root("bundles").AtMapKey(arch), "Bundle Not Found",
				fmt.Sprintf("The %s node bundle %s is a folder: give the .tar file.", arch, s.ValueString()))
		}
	}
	tflog.Debug(ctx, "checked bundle files")
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// checkImageFiles reports image tarballs that are not files, at plan time.
func checkImageFiles(l types.List, attr path.Path, diags *diag.Diagnostics) {
	if l.IsNull() || l.IsUnknown() {
		return
	}
	for i, v := range l.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() || s.IsNull() {
			continue
		}
		if st, err := os.Stat(expandHome(s.ValueString())); err != nil || st.IsDir() {
			diags.AddAttributeError(attr.AtListIndex(i), "Image Not Found",
				fmt.Sprintf("The image tarball %s is not a readable file: %v", s.ValueString(), err))
		}
	}
}

// checkTaints validates taint effects and keys at plan time.
func checkTaints(ctx context.Context, l types.List, diags *diag.Diagnostics) {
	if l.IsNull() || l.IsUnknown() {
		return
	}
	var ts []taintModel
	if d := l.ElementsAs(ctx, &ts, true); d.HasError() {
		return
	}
	for i, t := range ts {
		switch e := t.Effect.ValueString(); {
		case t.Effect.IsUnknown():
		case e == "NoSchedule" || e == "PreferNoSchedule" || e == "NoExecute":
		default:
			diags.AddAttributeError(path.Root("taints").AtListIndex(i).AtName("effect"), "Invalid Taint Effect",
				fmt.Sprintf("%q is not a taint effect: use NoSchedule, PreferNoSchedule or NoExecute.", e))
		}
	}
}

// checkNodeName validates a node name at plan time.
func checkNodeName(v types.String, diags *diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	n := v.ValueString()
	if len(n) > 253 || !dns1123.MatchString(n) {
		diags.AddAttributeError(path.Root("node_name"), "Invalid Node Name",
			fmt.Sprintf("%q is not a valid node name: use lowercase letters, digits, '-' and '.', starting and ending "+
				"with a letter or digit (no uppercase, no underscores).", n))
	}
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// checkIP validates an optional IP address attribute.
func checkIP(v types.String, p path.Path, diags *diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if _, err := netip.ParseAddr(v.ValueString()); err != nil {
		diags.AddAttributeError(p, "Invalid IP Address", fmt.Sprintf("%q is not an IP address.", v.ValueString()))
	}
}

// hostKeyValidator accepts one SSH public key in authorized_keys form.
type hostKeyValidator struct{}

func (hostKeyValidator) Description(context.Context) string {
	return "one SSH public key (ssh-ed25519 AAAA...)"
}
func (v hostKeyValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (hostKeyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := remote.ParseHostKey(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Host Key",
			fmt.Sprintf("The host key must be the host's SSH public key, as in ssh-keyscan's output without the host name: %v", err))
	}
}

// oneOf accepts one of a few strings.
type oneOf []string

func (o oneOf) Description(context.Context) string {
	return "one of " + strings.Join(o, ", ")
}
func (o oneOf) MarkdownDescription(ctx context.Context) string { return o.Description(ctx) }

func (o oneOf) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, v := range o {
		if req.ConfigValue.ValueString() == v {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Value",
		fmt.Sprintf("%q is not allowed here: use %s.", req.ConfigValue.ValueString(), strings.Join(o, " or ")))
}
