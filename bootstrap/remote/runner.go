// Package remote runs commands on a host: the small interface every host operation in
// bootstrap/ is written against, with an SSH/SFTP implementation.
package remote

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Runner runs commands on one host and moves files to it.
type Runner interface {
	// Run runs cmd as the login user and returns its standard output. A command that
	// exits non-zero returns a *CommandError carrying its exit status and output.
	Run(ctx context.Context, cmd string) (string, error)
	// RunPrivileged runs cmd as root: unchanged when the login user is root, through
	// sudo otherwise.
	RunPrivileged(ctx context.Context, cmd string) (string, error)
	// Upload writes r to path as the login user, atomically: readers of path see the old
	// file or the whole new one, never a part.
	Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error
	// Hold starts cmd as the login user with its standard input held open until
	// release is called or the connection ends, and returns the first line cmd
	// prints. Host locks use it: a holder that reads its input to the end lives
	// exactly as long as the client that started it.
	Hold(ctx context.Context, cmd string) (firstLine string, release func(), err error)
	// Host names the host for log lines and errors ("10.0.0.5:22").
	Host() string
	Close() error
}

// CommandError is a command that ran and failed. Its message keeps the command and
// what it printed, with secrets redacted, so a failure explains itself.
type CommandError struct {
	Host     string
	Command  string
	ExitCode int // -1 when the command did not exit normally (signal, lost connection)
	Stdout   string
	Stderr   string
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: command %q ", e.Host, e.Command)
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, "exited with status %d", e.ExitCode)
	} else {
		b.WriteString("did not exit normally")
	}
	if out := strings.TrimSpace(e.Stderr); out != "" {
		fmt.Fprintf(&b, ": %s", tail(out, 2000))
	} else if out := strings.TrimSpace(e.Stdout); out != "" {
		fmt.Fprintf(&b, ": %s", tail(out, 2000))
	}
	return b.String()
}

// tail keeps the end of long output: the last lines are where the reason usually is.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// ShellQuote quotes s as one word for a POSIX shell.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
