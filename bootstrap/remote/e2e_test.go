package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/terraform-provider-slipway/internal/testhosts"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/bundle"
)

// TestE2ETestHostsSSH starts two real hosts (systemd, OpenSSH, sudo) and reaches each
// as root and as sudo users, with the host key checked against the inventory.
func TestE2ETestHostsSSH(t *testing.T) {
	testhosts.SkipUnlessEnabled(t)
	inv := testhosts.Start(t, "e2e-ssh", 2)
	key := inv.PrivateKeyPEM(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	a, b := inv.Hosts[0], inv.Hosts[1]
	if a.HostPublicKey == b.HostPublicKey {
		t.Fatalf("both hosts present the same host key %q: each must generate its own", a.HostPublicKey)
	}

	dial := func(h testhosts.Host, u testhosts.User, hostKey, sudoPass string) (*SSH, error) {
		return Dial(ctx, Config{Address: h.Address, Port: h.Port, User: u.Name, PrivateKey: key,
			HostKey: hostKey, SudoPassword: sudoPass})
	}
	machineIDs := map[string]string{}
	for _, h := range inv.Hosts {
		for _, u := range h.Users {
			t.Run(h.Name+"/"+u.Name, func(t *testing.T) {
				s, err := dial(h, u, h.HostPublicKey, u.SudoPassword)
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				defer s.Close()
				if out, err := s.Run(ctx, "hostname; id -un"); err != nil || out != h.Name+"\n"+u.Name+"\n" {
					t.Fatalf("hostname; id -un = %q, %v", out, err)
				}
				if s.IsRoot() != (u.Name == "root") {
					t.Fatalf("IsRoot = %v for %s", s.IsRoot(), u.Name)
				}
				// A privileged step: as root nothing is prefixed, others go through sudo.
				out, err := s.RunPrivileged(ctx, "id -u && touch /etc/slipway-probe && rm /etc/slipway-probe")
				if err != nil || strings.TrimSpace(out) != "0" {
					t.Fatalf("privileged command = %q, %v", out, err)
				}
				id, err := s.Run(ctx, "cat /etc/machine-id")
				if err != nil {
					t.Fatal(err)
				}
				machineIDs[h.Name] = strings.TrimSpace(id)
			})
		}
	}
	if machineIDs[a.Name] == "" || machineIDs[a.Name] == machineIDs[b.Name] {
		t.Errorf("machine ids must be set and differ: %v", machineIDs)
	}

	t.Run("sudo without its password fails once, saying why", func(t *testing.T) {
		s, err := dial(a, a.User(t, "sudopw"), a.HostPublicKey, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = s.RunPrivileged(ctx, "true")
		if err == nil || !strings.Contains(err.Error(), "sudo needs a password") {
			t.Fatalf("want a clear sudo password error, got %v", err)
		}
	})

	t.Run("the other host's key is refused", func(t *testing.T) {
		_, err := dial(a, a.User(t, "root"), b.HostPublicKey, "")
		var hk *HostKeyError
		if !errors.As(err, &hk) {
			t.Fatalf("want *HostKeyError, got %v", err)
		}
	})

	t.Run("the bundle's binary runs on a host", func(t *testing.T) {
		bundlePath := os.Getenv("SLIPWAY_BUNDLE")
		if bundlePath == "" {
			t.Skip("SLIPWAY_BUNDLE is not set: run through make e2e / make test, which build the bundle")
		}
		s, err := dial(a, a.User(t, "admin"), a.HostPublicKey, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f, err := os.Open(bundlePath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		remote := "/tmp/" + filepath.Base(bundlePath)
		if err := s.Upload(ctx, f, remote, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := s.Run(ctx, "d=$(mktemp -d) && "+bundle.UnpackScript(ShellQuote(remote), "\"$d\"")+" && \"$d/bin/slipway\" version")
		if err != nil {
			t.Fatal(err)
		}
		wantVersion := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(bundlePath), "slipway-"), "-linux-amd64.tar")
		for _, want := range []string{"slipway " + wantVersion + "\n", "kubernetes v1.37.2\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("slipway version on the host printed %q, want a line %q", out, want)
			}
		}
	})
}
