// Package config describes a node's settings file, /etc/slipway/config.yaml: the one
// place a node's settings live. The bootstrapper renders it and the node binary reads
// it, both through this package, so install and upgrade can never render the same
// settings differently. It has no Kubernetes dependencies: bootstrap/ imports it.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// DefaultPath is where a node's settings file lives.
const DefaultPath = "/etc/slipway/config.yaml"

// Roles a node can have.
const (
	RoleServer = "server"
	RoleAgent  = "agent"
)

// Scheduler policies.
const (
	SchedulerBinpack = "binpack"
	SchedulerSpread  = "spread"
)

// Components that can be switched off with `disable`.
var Components = []string{"dns", "metrics-server", "local-storage", "servicelb"}

// Config is a node's settings. Field names are the file's keys and the flags' names.
type Config struct {
	Role     string `json:"role"`
	NodeName string `json:"node-name,omitempty"`
	DataDir  string `json:"data-dir,omitempty"`
	// NodeIP is the address other nodes reach this one on; default: the address of
	// the interface holding the default route.
	NodeIP string `json:"node-ip,omitempty"`

	// Server is the API URL an agent (or a joining server) registers with.
	Server string `json:"server,omitempty"`
	// Token joins the cluster; on the first server it is generated when empty.
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"token-file,omitempty"`

	HTTPSPort     int      `json:"https-port,omitempty"`
	TLSSANs       []string `json:"tls-san,omitempty"`
	ClusterCIDR   string   `json:"cluster-cidr,omitempty"`
	ServiceCIDR   string   `json:"service-cidr,omitempty"`
	ClusterDNS    string   `json:"cluster-dns,omitempty"`
	ClusterDomain string   `json:"cluster-domain,omitempty"`
	Scheduler     string   `json:"scheduler,omitempty"`
	Disable       []string `json:"disable,omitempty"`
	DisableAgent  bool     `json:"disable-agent,omitempty"`
	// DatastoreEndpoint points at an external etcd ("https://a:2379,https://b:2379");
	// empty means embedded etcd.
	DatastoreEndpoint string `json:"datastore-endpoint,omitempty"`
	// The TLS files for an external etcd: its CA, and this server's client certificate
	// and key. Only with datastore-endpoint.
	DatastoreCAFile   string `json:"datastore-cafile,omitempty"`
	DatastoreCertFile string `json:"datastore-certfile,omitempty"`
	DatastoreKeyFile  string `json:"datastore-keyfile,omitempty"`
	// WriteKubeconfig is where a server writes the admin kubeconfig.
	WriteKubeconfig string `json:"write-kubeconfig,omitempty"`

	NodeLabels []string `json:"node-label,omitempty"` // key=value
	NodeTaints []string `json:"node-taint,omitempty"` // key=value:Effect

	// Failure timing for lost nodes.
	NodeMonitorGracePeriod       Duration `json:"node-monitor-grace-period,omitempty"`
	NotReadyTolerationSeconds    int64    `json:"default-not-ready-toleration-seconds,omitempty"`
	UnreachableTolerationSeconds int64    `json:"default-unreachable-toleration-seconds,omitempty"`
}

// Duration is a time.Duration written as "40s" in the file.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "40s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration (like 40s or 1m30s): %q", s)
	}
	d.Duration = v
	return nil
}

// Defaults fills every unset field with its documented default.
func (c *Config) Defaults() {
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.DataDir, "/var/lib/slipway")
	set(&c.ClusterCIDR, "10.42.0.0/16")
	set(&c.ServiceCIDR, "10.43.0.0/16")
	set(&c.ClusterDNS, "10.43.0.10")
	set(&c.ClusterDomain, "cluster.local")
	set(&c.Scheduler, SchedulerBinpack)
	set(&c.WriteKubeconfig, "/etc/slipway/admin.kubeconfig")
	if c.HTTPSPort == 0 {
		c.HTTPSPort = 6443
	}
	if c.NodeMonitorGracePeriod.Duration == 0 {
		c.NodeMonitorGracePeriod.Duration = 20 * time.Second
	}
	if c.NotReadyTolerationSeconds == 0 {
		c.NotReadyTolerationSeconds = 30
	}
	if c.UnreachableTolerationSeconds == 0 {
		c.UnreachableTolerationSeconds = 30
	}
}

var (
	dns1123      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	labelKey     = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValue   = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
	taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}
)

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	switch c.Role {
	case RoleServer, RoleAgent:
	case "":
		bad("role", "missing: set server or agent")
	default:
		bad("role", "%q is not a role: use server or agent", c.Role)
	}
	if c.NodeName != "" && (len(c.NodeName) > 253 || !dns1123.MatchString(c.NodeName)) {
		bad("node-name", "%q is not a valid node name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", c.NodeName)
	}
	if c.NodeIP != "" {
		if _, err := netip.ParseAddr(c.NodeIP); err != nil {
			bad("node-ip", "%q is not an IP address", c.NodeIP)
		}
	}
	if c.Role == RoleAgent && c.Server == "" {
		bad("server", "an agent needs the URL of a server to join (https://host:6443)")
	}
	if c.Server != "" && !strings.HasPrefix(c.Server, "https://") {
		bad("server", "%q must be an https:// URL", c.Server)
	}
	if c.Role == RoleAgent && c.Token == "" && c.TokenFile == "" {
		bad("token", "an agent needs a join token (token or token-file)")
	}
	if c.HTTPSPort < 1 || c.HTTPSPort > 65535 {
		bad("https-port", "%d is not a TCP port", c.HTTPSPort)
	}
	cluster, err1 := netip.ParsePrefix(c.ClusterCIDR)
	if err1 != nil {
		bad("cluster-cidr", "%q is not a CIDR (like 10.42.0.0/16)", c.ClusterCIDR)
	}
	service, err2 := netip.ParsePrefix(c.ServiceCIDR)
	if err2 != nil {
		bad("service-cidr", "%q is not a CIDR (like 10.43.0.0/16)", c.ServiceCIDR)
	}
	if err1 == nil && err2 == nil && cluster.Overlaps(service) {
		bad("service-cidr", "%s overlaps cluster-cidr %s", c.ServiceCIDR, c.ClusterCIDR)
	}
	if dnsIP, err := netip.ParseAddr(c.ClusterDNS); err != nil {
		bad("cluster-dns", "%q is not an IP address", c.ClusterDNS)
	} else if err2 == nil && !service.Contains(dnsIP) {
		bad("cluster-dns", "%s is outside service-cidr %s", c.ClusterDNS, c.ServiceCIDR)
	}
	if !dns1123.MatchString(c.ClusterDomain) {
		bad("cluster-domain", "%q is not a DNS domain", c.ClusterDomain)
	}
	if c.Scheduler != SchedulerBinpack && c.Scheduler != SchedulerSpread {
		bad("scheduler", "%q is not a policy: use binpack or spread", c.Scheduler)
	}
	for _, d := range c.Disable {
		if !slices.Contains(Components, d) {
			bad("disable", "%q is not a component: choose from %s", d, strings.Join(Components, ", "))
		}
	}
	for _, san := range c.TLSSANs {
		if net.ParseIP(san) == nil && !dns1123.MatchString(san) {
			bad("tls-san", "%q is neither an IP address nor a DNS name", san)
		}
	}
	for _, l := range c.NodeLabels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || !labelKey.MatchString(k) || !labelValue.MatchString(v) {
			bad("node-label", "%q is not key=value with a valid label key and value", l)
		}
	}
	for _, t := range c.NodeTaints {
		if err := validTaint(t); err != nil {
			bad("node-taint", "%q: %v", t, err)
		}
	}
	if c.DatastoreEndpoint != "" {
		for _, ep := range strings.Split(c.DatastoreEndpoint, ",") {
			if !strings.HasPrefix(ep, "https://") && !strings.HasPrefix(ep, "http://") {
				bad("datastore-endpoint", "%q must be an http(s):// URL", ep)
			}
		}
	} else if c.DatastoreCAFile != "" || c.DatastoreCertFile != "" || c.DatastoreKeyFile != "" {
		bad("datastore-cafile", "datastore-cafile, datastore-certfile and datastore-keyfile need datastore-endpoint")
	}
	if (c.DatastoreCertFile == "") != (c.DatastoreKeyFile == "") {
		bad("datastore-certfile", "datastore-certfile and datastore-keyfile go together")
	}
	if c.NodeMonitorGracePeriod.Duration < 0 || c.NotReadyTolerationSeconds < 0 || c.UnreachableTolerationSeconds < 0 {
		bad("node-monitor-grace-period", "failure timings must not be negative")
	}
	return errors.Join(errs...)
}

// validTaint checks key[=value]:Effect.
func validTaint(t string) error {
	kv, effect, ok := strings.Cut(t, ":")
	if !ok {
		return errors.New("want key=value:Effect")
	}
	if !slices.Contains(taintEffects, effect) {
		return fmt.Errorf("effect %q is not one of %s", effect, strings.Join(taintEffects, ", "))
	}
	k, v, _ := strings.Cut(kv, "=")
	if !labelKey.MatchString(k) || !labelValue.MatchString(v) {
		return errors.New("invalid taint key or value")
	}
	return nil
}

// Parse reads a settings file strictly: an unknown key is an error, not a silently
// ignored typo. Defaults are applied and the result validated.
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("invalid settings: %w", err)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid settings:\n%w", err)
	}
	return c, nil
}

// Load reads and parses the settings file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Render writes the settings canonically: defaults applied, lists sorted where order
// has no meaning, keys in a fixed order. Equal settings give identical bytes, so a
// checksum of the file tells whether a host has the settings it should.
func (c Config) Render() ([]byte, error) {
	c.Defaults()
	c.TLSSANs = sortedCopy(c.TLSSANs)
	c.Disable = sortedCopy(c.Disable)
	c.NodeLabels = sortedCopy(c.NodeLabels)
	c.NodeTaints = sortedCopy(c.NodeTaints)
	body, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# Slipway node settings. Written by the bootstrapper: change them in Terraform.\n")
	b.Write(body)
	return b.Bytes(), nil
}

// Checksum is the sha256 of the rendered settings.
func Checksum(rendered []byte) string {
	s := sha256.Sum256(rendered)
	return hex.EncodeToString(s[:])
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// Disabled tells whether a component (one of Components) is switched off.
func (c *Config) Disabled(component string) bool { return slices.Contains(c.Disable, component) }
