// Package kube connects the provider's workload resources to a cluster's API and
// holds what they share: clients, server-side apply, and reading back only the fields
// Slipway manages.
package kube

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager is the name Slipway applies under; its fields are the ones it owns.
// Not "slipway": that is the name Kubernetes gives the components running inside
// the node binary (a manager's name comes from the client's program name, as with
// k3s), so the controllers' own updates would look like the user's.
const FieldManager = "terraform-provider-slipway"

// Connection says how to reach a cluster's API. Either the explicit fields, or a
// kubeconfig file (with an optional context).
type Connection struct {
	Host                 string
	ClusterCACertificate string // PEM
	ClientCertificate    string // PEM
	ClientKey            string // PEM
	Token                string

	KubeconfigPath    string
	KubeconfigContext string
}

// IsZero reports whether nothing was set.
func (c Connection) IsZero() bool { return c == Connection{} }

// RESTConfig builds a client configuration. A connection with a host and no CA is
// refused: TLS is always verified.
func (c Connection) RESTConfig() (*rest.Config, error) {
	if c.Host != "" {
		if c.ClusterCACertificate == "" {
			return nil, errors.New("the connection has a host but no cluster_ca_certificate: the API server's certificate must be verified")
		}
		if c.Token == "" && (c.ClientCertificate == "" || c.ClientKey == "") {
			return nil, errors.New("the connection needs a token, or a client_certificate with its client_key")
		}
		cfg := &rest.Config{
			Host:        c.Host,
			BearerToken: c.Token,
			TLSClientConfig: rest.TLSClientConfig{
				CAData:   []byte(c.ClusterCACertificate),
				CertData: []byte(c.ClientCertificate),
				KeyData:  []byte(c.ClientKey),
			},
		}
		return withDefaults(cfg), nil
	}
	if c.KubeconfigPath != "" {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.KubeconfigPath}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: c.KubeconfigContext}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", c.KubeconfigPath, err)
		}
		return withDefaults(cfg), nil
	}
	return nil, errors.New("no cluster connection: set the resource's connection (for example from slipway_cluster.<name>.connection) or the provider's kubeconfig_path")
}

func withDefaults(cfg *rest.Config) *rest.Config {
	cfg.UserAgent = "terraform-provider-slipway"
	cfg.Timeout = 60 * time.Second
	// Plans refresh many resources at once; client-go's default 5 QPS would make a
	// 200-resource refresh take a minute for nothing.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.WarningHandlerWithContext = warningHandler{}
	return cfg
}

// Clients hands out one clientset per distinct connection, so resources that share a
// cluster share connections.
type Clients struct {
	mu      sync.Mutex
	cache   map[Connection]*kubernetes.Clientset
	dynamic map[Connection]*dynamic.DynamicClient
	mappers map[Connection]*restmapper.DeferredDiscoveryRESTMapper
}

// Mapping finds the API resource of a kind (and whether it is namespaced) by the
// cluster's discovery, cached per connection. A kind the cache does not know yet
// (a custom resource whose definition the same apply just created) refreshes it once.
func (cs *Clients) Mapping(c Connection, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := cs.mapper(c)
	if err != nil {
		return nil, err
	}
	mapping, err := m.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		m.Reset()
		mapping, err = m.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return mapping, err
}

func (cs *Clients) mapper(c Connection) (*restmapper.DeferredDiscoveryRESTMapper, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if m, ok := cs.mappers[c]; ok {
		return m, nil
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes discovery client: %w", err)
	}
	m := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	if cs.mappers == nil {
		cs.mappers = map[Connection]*restmapper.DeferredDiscoveryRESTMapper{}
	}
	cs.mappers[c] = m
	return m, nil
}

// Dynamic returns the dynamic client for c, for kinds applied as unstructured objects.
func (cs *Clients) Dynamic(c Connection) (*dynamic.DynamicClient, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl, ok := cs.dynamic[c]; ok {
		return cl, nil
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	cl, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	if cs.dynamic == nil {
		cs.dynamic = map[Connection]*dynamic.DynamicClient{}
	}
	cs.dynamic[c] = cl
	return cl, nil
}

// For returns the clientset for c.
func (cs *Clients) For(c Connection) (*kubernetes.Clientset, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cl, ok := cs.cache[c]; ok {
		return cl, nil
	}
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	cl, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	if cs.cache == nil {
		cs.cache = map[Connection]*kubernetes.Clientset{}
	}
	cs.cache[c] = cl
	return cl, nil
}
