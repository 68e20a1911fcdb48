package provider

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/join"
)

var _ resource.ResourceWithImportState = (*clusterResource)(nil)

// parseHostID reads "host", "user@host", "host:port" or "user@[v6]:port".
func parseHostID(id string) (user, host string, port int, err error) {
	user, rest, ok := strings.Cut(id, "@")
	if !ok {
		user, rest = "root", id
	}
	host, port = rest, 22
	if h, p, e := net.SplitHostPort(rest); e == nil {
		n, e := strconv.Atoi(p)
		if e != nil || n < 1 || n > 65535 {
			return "", "", 0, fmt.Errorf("%q is not a TCP port", p)
		}
		host, port = h, n
	}
	host = strings.Trim(host, "[]")
	if user == "" || host == "" {
		return "", "", 0, fmt.Errorf("want [user@]host[:port], got %q", id)
	}
	return user, host, port, nil
}

// ImportState takes a cluster by its first server's SSH address, [user@]host[:port];
// the credentials come from the provider's ssh_private_key_file or ssh_agent.
func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	user, host, port, err := parseHostID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", "Import a cluster by its first server's SSH address, [user@]host[:port]: "+err.Error())
		return
	}
	m := sshModel{Host: types.StringValue(host), Port: types.Int64Value(int64(port)), User: types.StringValue(user),
		PrivateKey: types.StringNull(), PrivateKeyFile: types.StringNull(), Password: types.StringNull(), Agent: types.BoolNull(),
		SudoPassword: types.StringNull(), HostKey: types.StringNull()}
	cfg := m.remoteConfig(r.data)
	s, err := remote.Dial(ctx, cfg)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("Connecting to %s failed: %v", req.ID, err))
		return
	}
	defer s.Close()
	if m.HostKey.IsNull() {
		m.HostKey = types.StringValue(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey()))))
	}
	raw, err := s.RunPrivileged(ctx, "cat "+config.DefaultPath)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("Reading %s on %s failed: %v", config.DefaultPath, host, err))
		return
	}
	c, err := config.Parse([]byte(raw))
	if err != nil || c.Role != config.RoleServer {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("%s on %s is not a server's settings: %v", config.DefaultPath, host, err))
		return
	}
	kc, err := s.RunPrivileged(ctx, "cat "+remote.ShellQuote(c.WriteKubeconfig))
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("Reading the admin kubeconfig on %s failed: %v", host, err))
		return
	}
	token := c.Token
	if token == "" {
		token, err = s.RunPrivileged(ctx, "cat "+remote.ShellQuote(c.DataDir+"/server/token"))
		if err != nil {
			resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("Reading the join token on %s failed: %v", host, err))
			return
		}
	}
	t, err := join.Parse(strings.TrimSpace(token), false)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("The join token on %s: %v", host, err))
		return
	}
	st := clusterModel{
		ID: types.StringValue(host), Name: types.StringValue("slipway"), SSH: m,
		NodeName: types.StringValue(c.NodeName), NodeIP: optString(c.NodeIP), Bundles: types.MapNull(types.StringType),
		PodCIDR: types.StringValue(c.ClusterCIDR), ServiceCIDR: types.StringValue(c.ServiceCIDR),
		ClusterDNS: types.StringValue(c.ClusterDNS), ClusterDomain: types.StringValue(c.ClusterDomain),
		Scheduler: types.StringValue(c.Scheduler), APIEndpoint: types.StringNull(), Images: types.ListNull(types.StringType),
		Labels: types.MapNull(types.StringType), Taints: types.ListNull(types.ObjectType{AttrTypes: taintAttrTypes}),
		JoinToken: types.StringValue(t.Bootstrap()),
	}
	if c.NodeName == "" {
		name, _ := s.Run(ctx, "cat /proc/sys/kernel/hostname")
		st.NodeName = types.StringValue(strings.TrimSpace(name))
	}
	for _, san := range c.TLSSANs {
		if san != host {
			st.APIEndpoint = types.StringValue(san)
		}
	}
	st.Labels, st.Taints = labelsAndTaints(ctx, c)
	// What apply fills, from what the server has.
	url := st.apiURL()
	kcOut, err := kubeconfigFor([]byte(kc), url, st.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", err.Error())
		return
	}
	ca, err := kubeconfigCA(kcOut)
	if err == nil {
		t.CAHash, err = join.CAHashPEM([]byte(ca))
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("The CA in the admin kubeconfig: %v", err))
		return
	}
	direct, err := kubeconfigFor([]byte(kc), "https://"+net.JoinHostPort(host, strconv.Itoa(c.HTTPSPort)), "import")
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", err.Error())
		return
	}
	cs, err := clientFromKubeconfig(direct)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", err.Error())
		return
	}
	apiToken, err := terraformToken(ctx, cs)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", fmt.Sprintf("Setting up the slipway-terraform service account failed: %v", err))
		return
	}
	st.JoinToken = types.StringValue(t.String())
	st.CACertificate = types.StringValue(ca)
	st.Kubeconfig = types.StringValue(string(kcOut))
	st.APIServerURL = types.StringValue(url)
	st.Connection = types.ObjectValueMust(connectionAttrTypes, map[string]attr.Value{
		"host": types.StringValue(url), "cluster_ca_certificate": types.StringValue(ca),
		"client_certificate": types.StringNull(), "client_key": types.StringNull(), "token": types.StringValue(apiToken),
	})
	bundles := map[string]string{}
	if r.data != nil {
		bundles = r.data.bundles
	}
	bundleVals, _ := types.MapValueFrom(ctx, types.StringType, bundles)
	st.Join = types.ObjectValueMust(joinAttrTypes, map[string]attr.Value{
		"server": types.StringValue(url), "token": st.JoinToken, "ca_certificate": types.StringValue(ca),
		"api_token": types.StringValue(apiToken), "bundles": bundleVals, "images": types.ListValueMust(types.StringType, []attr.Value{}),
	})
	st.ServiceState, st.ConfigChecksum, st.Version, st.Status = types.StringNull(), types.StringNull(), types.StringNull(), types.StringNull()
	resp.Diagnostics.Append(resp.State.Set(ctx, &st)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), host)...)
}

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// labelsAndTaints turns a settings file's node-label and node-taint lists into
// attribute values; null when empty, as an unset attribute is.
func labelsAndTaints(ctx context.Context, c *config.Config) (types.Map, types.List) {
	labels, taints := types.MapNull(types.StringType), types.ListNull(types.ObjectType{AttrTypes: taintAttrTypes})
	if len(c.NodeLabels) > 0 {
		m := map[string]string{}
		for _, l := range c.NodeLabels {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		labels, _ = types.MapValueFrom(ctx, types.StringType, m)
	}
	if len(c.NodeTaints) > 0 {
		var ts []attr.Value
		for _, s := range c.NodeTaints {
			t := parseTaint(s)
			ts = append(ts, types.ObjectValueMust(taintAttrTypes, map[string]attr.Value{
				"key": types.StringValue(t.Key), "value": optString(t.Value), "effect": types.StringValue(string(t.Effect))}))
		}
		taints = types.ListValueMust(types.ObjectType{AttrTypes: taintAttrTypes}, ts)
	}
	return labels, taints
}
