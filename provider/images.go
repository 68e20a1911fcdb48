package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/slipway-dev/terraform-provider-slipway/bootstrap/remote"
	"github.com/slipway-dev/terraform-provider-slipway/orchestrator/config"
)

// Images of slipway_cluster reach every node as files in the data dir's images/
// folder, which the node imports at start. The bootstrapper has no step for them
// yet, so they are uploaded here, before the install: files Terraform manages are
// named tf-<name>, and the ones no longer wanted are removed. When a file changed on
// a node that is already running, the restart-pending marker makes the install
// restart the service (and wait until it is ready), as it does for a new binary.

const imagePrefix = "tf-"

// syncImages uploads the image tarballs to the host. With trust on first use it
// pins the key it saw in cfg, so the install that follows checks the same host.
func syncImages(ctx context.Context, cfg *remote.Config, images []string, node config.Config) error {
	node.Defaults()
	dir := path.Join(node.DataDir, "images")
	if len(images) == 0 {
		// No connection for clusters without images (most). Images an earlier apply
		// uploaded stay when the list becomes empty; emptying it is not supported yet.
		return nil
	}
	s, err := remote.Dial(ctx, *cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if cfg.TrustOnFirstUse {
		cfg.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey())))
		cfg.TrustOnFirstUse = false
	}
	if _, err := s.RunPrivileged(ctx, "mkdir -p "+remote.ShellQuote(dir)); err != nil {
		return err
	}
	have, err := s.RunPrivileged(ctx, "cd "+remote.ShellQuote(dir)+" && for f in "+imagePrefix+"*; do [ -f \"$f\" ] && sha256sum \"$f\"; done; true")
	if err != nil {
		return err
	}
	onHost := map[string]string{}
	for _, l := range strings.Split(have, "\n") {
		if sum, name, ok := strings.Cut(strings.TrimSpace(l), "  "); ok {
			onHost[name] = sum
		}
	}
	want := map[string]bool{}
	changed := false
	for _, img := range images {
		name := imagePrefix + filepath.Base(img)
		want[name] = true
		sum, err := fileSHA256(expandHome(img))
		if err != nil {
			return fmt.Errorf("read image %s: %w", img, err)
		}
		if onHost[name] == sum {
			continue
		}
		if err := uploadPrivileged(ctx, s, expandHome(img), path.Join(dir, name)); err != nil {
			return fmt.Errorf("upload image %s: %w", img, err)
		}
		changed = true
	}
	for name := range onHost {
		if !want[name] {
			if _, err := s.RunPrivileged(ctx, "rm -f "+remote.ShellQuote(path.Join(dir, name))); err != nil {
				return err
			}
			changed = true
		}
	}
	if changed {
		// A running node imports the new images when it restarts: the install
		// that follows restarts it, as for an earlier run's unfinished change.
		if _, err := s.RunPrivileged(ctx, "if systemctl is-active -q slipway.service; then mkdir -p /run/slipway && touch /run/slipway/restart-pending; fi"); err != nil {
			return err
		}
	}
	return nil
}

// uploadPrivileged puts a local file at dst, through the login user's home when it is
// not root (SFTP writes as the login user).
func uploadPrivileged(ctx context.Context, s *remote.SSH, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if s.IsRoot() {
		return s.Upload(ctx, f, dst, 0o644)
	}
	home, err := s.Run(ctx, `printf '%s' "$HOME"`)
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(home, ".slipway-image-"+hex.EncodeToString(rnd[:]))
	if err := s.Upload(ctx, f, tmp, 0o644); err != nil {
		return err
	}
	_, err = s.RunPrivileged(ctx, fmt.Sprintf("chown root:root %s && mv %s %s", remote.ShellQuote(tmp), remote.ShellQuote(tmp), remote.ShellQuote(dst)))
	return err
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
