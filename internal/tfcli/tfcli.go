// Package tfcli runs the real terraform CLI for tests, with the provider built from this
// checkout and found through dev_overrides, the way a user runs a local build. Exit codes
// and output are the CLI's own.
package tfcli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/terraform-provider-slipway/internal/testhosts"
)

// Workdir is a Terraform working folder.
type Workdir struct {
	Dir string
	bin string
	rc  string
}

// New builds the provider and makes dir a working folder that uses it. It skips t,
// saying why, when no terraform CLI is found (TF_ACC_TERRAFORM_PATH, then PATH).
func New(t testing.TB, dir string) *Workdir {
	t.Helper()
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			t.Skip("needs the terraform CLI on PATH or in TF_ACC_TERRAFORM_PATH")
		}
		bin = p
	}
	work := t.TempDir()
	providerDir := filepath.Join(work, "provider")
	build := exec.Command("go", "build", "-o", filepath.Join(providerDir, "terraform-provider-slipway"), ".")
	build.Dir = testhosts.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(work, "slipway.tfrc")
	WriteFile(t, rc, fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", "slipway-dev/slipway", providerDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Workdir{Dir: dir, bin: bin, rc: rc}
}

// Run runs `terraform ARGS...` (no colour, no input, where the command takes them) and
// returns its exit code and output.
func (w *Workdir) Run(t testing.TB, args ...string) (int, string) {
	t.Helper()
	cmdArgs := args
	switch args[0] {
	case "state": // its subcommands take neither flag
	case "output":
		cmdArgs = append([]string{args[0], "-no-color"}, args[1:]...)
	default:
		cmdArgs = append([]string{args[0], "-no-color", "-input=false"}, args[1:]...)
	}
	cmd := exec.Command(w.bin, cmdArgs...)
	cmd.Dir = w.Dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+w.rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("terraform %s: %v", args[0], err)
	}
	return code, out.String()
}

// Must runs terraform and fails t unless it exits 0.
func (w *Workdir) Must(t testing.TB, args ...string) string {
	t.Helper()
	code, out := w.Run(t, args...)
	if code != 0 {
		t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// Plan runs `terraform plan -detailed-exitcode ARGS...`: 0 no changes, 2 changes, 1 error.
func (w *Workdir) Plan(t testing.TB, args ...string) (int, string) {
	t.Helper()
	return w.Run(t, append([]string{"plan", "-detailed-exitcode"}, args...)...)
}

// WriteFile writes s to p with mode 0600, failing t on error.
func WriteFile(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
