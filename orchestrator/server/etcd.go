package server

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"

	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/pki"
)

// startEtcd starts the embedded etcd: TLS with client-certificate authentication on
// loopback, data under <data-dir>/server/db/etcd. It returns once etcd serves.
func startEtcd(ctx context.Context, l *layout, timeout time.Duration) (*embed.Etcd, error) {
	p := l.pki
	client := url.URL{Scheme: "https", Host: "127.0.0.1:" + strconv.Itoa(l.ports.EtcdClient)}
	peer := url.URL{Scheme: "https", Host: "127.0.0.1:" + strconv.Itoa(l.ports.EtcdPeer)}

	cfg := embed.NewConfig()
	cfg.Name = l.cfg.NodeName
	cfg.Dir = l.etcdDir()
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.InitialClusterToken = "slipway"
	cfg.ClientTLSInfo = transport.TLSInfo{
		CertFile:       p.Cert(pki.EtcdServer),
		KeyFile:        p.Key(pki.EtcdServer),
		TrustedCAFile:  p.Cert(pki.EtcdCA),
		ClientCertAuth: true,
	}
	cfg.PeerTLSInfo = transport.TLSInfo{
		CertFile:       p.Cert(pki.EtcdPeer),
		KeyFile:        p.Key(pki.EtcdPeer),
		TrustedCAFile:  p.Cert(pki.EtcdCA),
		ClientCertAuth: true,
	}
	cfg.LogLevel = "warn"
	// Compact history hourly, as the apiserver also does; keeps the database small.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		stopEtcd(e)
		return nil, err
	case <-time.After(timeout):
		stopEtcd(e)
		return nil, fmt.Errorf("not ready after %s", timeout)
	case <-ctx.Done():
		stopEtcd(e)
		return nil, ctx.Err()
	}
}

// stopEtcd closes etcd, waiting at most 3 seconds. A graceful close waits up to 7s
// for the apiserver's watch streams, and by then the controller-manager, unable to
// renew its lease, would exit the process with status 1. Not waiting loses nothing:
// etcd syncs every commit to its write-ahead log before acknowledging it.
func stopEtcd(e *embed.Etcd) {
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}
