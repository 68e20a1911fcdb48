package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"k8s.io/klog/v2"
)

// overlayfsMagic is statfs's f_type for overlayfs. containerd's overlayfs snapshotter
// cannot stack on an overlay root (a node in a container without a volume for its
// data dir), so such a node uses the native snapshotter.
const overlayfsMagic = 0x794c7630

// containerdConfig is containerd's configuration (version 3, containerd 2.x): its
// own folders under the data dir and /run, so it never meets a containerd the host
// runs for something else, and the CRI plugin set up for this node.
var containerdConfig = template.Must(template.New("containerd").Parse(`version = 3
root = {{printf "%q" .Root}}
state = {{printf "%q" .State}}

[grpc]
  address = {{printf "%q" .Socket}}

[ttrpc]
  address = {{printf "%q" .TTRPCSocket}}

[plugins."io.containerd.cri.v1.images"]
  snapshotter = {{printf "%q" .Snapshotter}}
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = {{printf "%q" .SandboxImage}}

[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = {{.RestrictOOMScoreAdj}}
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [{{printf "%q" .CNIBinDir}}]
    conf_dir = {{printf "%q" .CNIConfDir}}
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = {{printf "%q" .Runc}}
        SystemdCgroup = false

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
`))

type containerdSettings struct {
	Root, State, Socket, TTRPCSocket string
	Snapshotter, SandboxImage        string
	RestrictOOMScoreAdj              bool
	CNIBinDir, CNIConfDir, Runc      string
}

func (n *node) containerdSettings() (containerdSettings, error) {
	snap := "overlayfs"
	if err := os.MkdirAll(n.containerdRoot(), 0o700); err != nil {
		return containerdSettings{}, err
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(n.containerdRoot(), &fs); err == nil && fs.Type == overlayfsMagic {
		snap = "native"
	}
	return containerdSettings{
		Root:                n.containerdRoot(),
		State:               containerdState,
		Socket:              ContainerdSocket,
		TTRPCSocket:         filepath.Join(containerdState, "containerd.sock.ttrpc"),
		Snapshotter:         snap,
		SandboxImage:        n.sandboxImage,
		RestrictOOMScoreAdj: !hasCapability(capSysResource),
		CNIBinDir:           filepath.Join(n.opts.BinDir, "cni"),
		CNIConfDir:          n.cniConfDir(),
		Runc:                filepath.Join(n.opts.BinDir, "runc"),
	}, nil
}

// capSysResource is CAP_SYS_RESOURCE: without it in the bounding set (a node in a
// container), runc cannot give containers the negative oom_score_adj CRI asks for.
const capSysResource = 24

// hasCapability reads the process's capability bounding set.
func hasCapability(bit uint) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return true
			}
			return mask&(1<<bit) != 0
		}
	}
	return true
}

// startContainerd writes containerd's configuration and runs it as a child process
// that dies with this one (the pods' shims live on, and the next containerd picks
// them up). It returns once containerd answers on its socket.
func (n *node) startContainerd(ctx context.Context, exits chan<- componentExit) error {
	s, err := n.containerdSettings()
	if err != nil {
		return fmt.Errorf("containerd: %w", err)
	}
	var cfg bytes.Buffer
	if err := containerdConfig.Execute(&cfg, s); err != nil {
		return err
	}
	if err := writeFile(n.containerdConfigPath(), cfg.Bytes(), 0o600); err != nil {
		return fmt.Errorf("containerd config: %w", err)
	}
	if err := os.MkdirAll(containerdState, 0o711); err != nil {
		return err
	}
	logPath := filepath.Join(n.agentDir(), "containerd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("containerd log: %w", err)
	}
	cmd := exec.Command(filepath.Join(n.opts.BinDir, "containerd"), "--config", n.containerdConfigPath())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// containerd finds the shim, and the shim runc, on PATH.
	cmd.Env = append(os.Environ(), "PATH="+n.opts.BinDir+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("containerd: start: %w", err)
	}
	n.containerd = cmd
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		logFile.Close()
		close(exited)
		if ctx.Err() == nil {
			exits <- componentExit{"containerd", fmt.Errorf("exited (%v); its log is %s", err, logPath)}
		}
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("unix", ContainerdSocket, time.Second)
		if err == nil {
			c.Close()
			klog.Infof("slipway: containerd is ready on %s (snapshotter %s)", ContainerdSocket, s.Snapshotter)
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("containerd exited at start; its log is %s:\n%s", logPath, tail(logPath, 15))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer on %s within a minute; its log is %s", ContainerdSocket, logPath)
		}
	}
}

// ctr runs upstream ctr (inside the bundle's containerd binary) against this node's
// containerd, in the namespace the CRI plugin uses.
func (n *node) ctr(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"ctr", "--address", ContainerdSocket, "--namespace", "k8s.io"}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(n.opts.BinDir, "containerd"), full...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeFile writes data to path atomically (a temporary file renamed into place).
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return os.Chmod(path, mode)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
