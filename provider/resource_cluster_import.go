package provider

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"golang.org/x/crypto/ssh"
	"k8s.io/client-go/kubernetes"

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
	if _, _, _, err := parseHostID(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", "Import a cluster by its first server's SSH address, [user@]host[:port]: "+err.Error())
		return
	}
	st, _, err := importCluster(ctx, r.data, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot Import The Cluster", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, st)...)
}

// importCluster reads a cluster from its first server, reached at id
// ([user@]host[:port]): the server's settings and credentials, and the inputs the
// cluster resource recorded in the cluster. It returns the state and an admin
// client that talks to that server directly.
func importCluster(ctx context.Context, data *providerData, id string) (*clusterModel, *kubernetes.Clientset, error) {
	user, host, port, err := parseHostID(id)
	if err != nil {
		return nil, nil, err
	}
	m := sshModel{Host: types.StringValue(host), Port: types.Int64Value(int64(port)), User: types.StringValue(user),
		PrivateKey: types.StringNull(), PrivateKeyFile: types.StringNull(), Password: types.StringNull(), Agent: types.BoolNull(),
		SudoPassword: types.StringNull(), HostKey: types.StringNull()}
	cfg := m.remoteConfig(data)
	s, err := remote.Dial(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("Connecting to %s failed: %w", id, err)
	}
	defer s.Close()
	if m.HostKey.IsNull() {
		m.HostKey = types.StringValue(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey()))))
	}
	raw, err := s.RunPrivileged(ctx, "cat "+config.DefaultPath)
	if err != nil {
		return nil, nil, fmt.Errorf("Reading %s on %s failed: %w", config.DefaultPath, host, err)
	}
	c, err := config.Parse([]byte(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%s on %s: %w", config.DefaultPath, host, err)
	}
	if c.Role != config.RoleServer {
		return nil, nil, fmt.Errorf("%s on %s is a %s's settings, not a server's", config.DefaultPath, host, c.Role)
	}
	kc, err := s.RunPrivileged(ctx, "cat "+remote.ShellQuote(c.WriteKubeconfig))
	if err != nil {
		return nil, nil, fmt.Errorf("Reading the admin kubeconfig on %s failed: %w", host, err)
	}
	token := c.Token
	if token == "" {
		token, err = s.RunPrivileged(ctx, "cat "+remote.ShellQuote(c.DataDir+"/server/token"))
		if err != nil {
			return nil, nil, fmt.Errorf("Reading the join token on %s failed: %w", host, err)
		}
	}
	t, err := join.Parse(strings.TrimSpace(token), false)
	if err != nil {
		return nil, nil, fmt.Errorf("The join token on %s: %w", host, err)
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
	direct, err := kubeconfigFor([]byte(kc), "https://"+net.JoinHostPort(host, strconv.Itoa(c.HTTPSPort)), "import")
	if err != nil {
		return nil, nil, err
	}
	cs, err := clientFromKubeconfig(direct)
	if err != nil {
		return nil, nil, err
	}
	in, err := readInputs(ctx, cs)
	if err != nil {
		return nil, nil, err
	}
	if in != nil {
		st.restoreInputs(ctx, in)
		// The handshake above took the host's preferred key; a configuration may pin
		// another of its keys. Keep the recorded one once the host proves it holds it.
		if in.HostKey != "" && in.HostKey != st.SSH.HostKey.ValueString() {
			pinned := st.SSH
			pinned.HostKey = types.StringValue(in.HostKey)
			if s2, err := remote.Dial(ctx, pinned.remoteConfig(data)); err == nil {
				s2.Close()
				st.SSH.HostKey = pinned.HostKey
			}
		}
	}
	// What apply fills, from what the server has.
	url := st.apiURL()
	kcOut, err := kubeconfigFor([]byte(kc), url, st.Name.ValueString())
	if err != nil {
		return nil, nil, err
	}
	ca, err := kubeconfigCA(kcOut)
	if err == nil {
		t.CAHash, err = join.CAHashPEM([]byte(ca))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("The CA in the admin kubeconfig: %w", err)
	}
	apiToken, err := terraformToken(ctx, cs)
	if err != nil {
		return nil, nil, fmt.Errorf("Setting up the slipway-terraform service account failed: %w", err)
	}
	st.JoinToken = types.StringValue(t.String())
	st.CACertificate = types.StringValue(ca)
	st.Kubeconfig = types.StringValue(string(kcOut))
	st.APIServerURL = types.StringValue(url)
	st.Connection = types.ObjectValueMust(connectionAttrTypes, map[string]attr.Value{
		"host": types.StringValue(url), "cluster_ca_certificate": types.StringValue(ca),
		"client_certificate": types.StringNull(), "client_key": types.StringNull(), "token": types.StringValue(apiToken),
	})
	// Without a record, the provider's bundles are the best guess of what nodes got.
	joinBundles, joinImages := map[string]string{}, []string{}
	if data != nil {
		joinBundles = data.bundles
	}
	if in != nil {
		joinBundles, joinImages = in.JoinBundles, in.JoinImages
	}
	bundleVals, _ := types.MapValueFrom(ctx, types.StringType, joinBundles)
	imageVals, _ := types.ListValueFrom(ctx, types.StringType, joinImages)
	if joinImages == nil {
		imageVals = types.ListValueMust(types.StringType, []attr.Value{})
	}
	st.Join = types.ObjectValueMust(joinAttrTypes, map[string]attr.Value{
		"server": types.StringValue(url), "token": st.JoinToken, "ca_certificate": types.StringValue(ca),
		"api_token": types.StringValue(apiToken), "bundles": bundleVals, "images": imageVals,
	})
	st.ServiceState, st.ConfigChecksum, st.Version, st.Status = types.StringNull(), types.StringNull(), types.StringNull(), types.StringNull()
	return &st, cs, nil
}

// restoreInputs puts back what the cluster resource recorded (recordInputs).
func (st *clusterModel) restoreInputs(ctx context.Context, in *clusterInputs) {
	st.Name = types.StringValue(in.Name)
	st.APIEndpoint = types.StringNull()
	if in.APIEndpoint != nil {
		st.APIEndpoint = types.StringValue(*in.APIEndpoint)
	}
	st.Bundles = types.MapNull(types.StringType)
	if in.Bundles != nil {
		st.Bundles, _ = types.MapValueFrom(ctx, types.StringType, in.Bundles)
	}
	st.Images = types.ListNull(types.StringType)
	if in.ImagesSet {
		st.Images, _ = types.ListValueFrom(ctx, types.StringType, in.Images)
		if in.Images == nil {
			st.Images = types.ListValueMust(types.StringType, []attr.Value{})
		}
	}
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
