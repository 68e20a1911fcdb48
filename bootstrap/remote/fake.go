package remote

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
)

// Fake is an in-process Runner for unit tests: it records every command and upload,
// answers commands from scripted handlers, and keeps uploaded files in memory.
type Fake struct {
	Name string // Host(); default "fake:22"
	// Root says whether the login user is root. RunPrivileged never adds a prefix
	// here; Call.Privileged records which way a command went.
	Root bool
	// Secrets are redacted in the errors the Fake returns, as SSH does.
	Secrets []string
	// Unscripted answers commands no handler matches; nil fails them (exit 127), so a
	// test notices commands it did not expect.
	Unscripted func(c Call) (string, error)

	mu       sync.Mutex
	calls    []Call
	files    map[string]FakeFile
	handlers []fakeHandler
	nextPID  int
}

var _ Runner = (*Fake)(nil)

// Call is one thing the Fake was asked to do.
type Call struct {
	Cmd        string
	Privileged bool
	Upload     string // the path, for an upload
	Hold       bool
}

// FakeFile is an uploaded file.
type FakeFile struct {
	Data []byte
	Mode os.FileMode
}

type fakeHandler struct {
	re *regexp.Regexp
	fn func(c Call, m []string) (string, error)
}

// On answers commands matching the regular expression pattern with fn, which gets the
// submatches. Handlers added later take precedence, so a test can override one.
func (f *Fake) On(pattern string, fn func(c Call, m []string) (string, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers = append(f.handlers, fakeHandler{regexp.MustCompile(pattern), fn})
}

// Respond answers commands matching pattern with out.
func (f *Fake) Respond(pattern, out string) {
	f.On(pattern, func(Call, []string) (string, error) { return out, nil })
}

// Fail makes commands matching pattern exit with code and print stderr.
func (f *Fake) Fail(pattern string, code int, stderr string) {
	f.On(pattern, func(c Call, _ []string) (string, error) { return "", f.Exit(c, code, "", stderr) })
}

// Exit builds the error a command that exited with code returns.
func (f *Fake) Exit(c Call, code int, stdout, stderr string) error {
	r := &Redactor{}
	r.Add(f.Secrets...)
	return &CommandError{Host: f.Host(), Command: r.String(c.Cmd), ExitCode: code,
		Stdout: r.String(stdout), Stderr: r.String(stderr)}
}

// Calls returns what ran so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Reset forgets the recorded calls (not the files or handlers).
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// File returns an uploaded file.
func (f *Fake) File(path string) (FakeFile, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ff, ok := f.files[path]
	return ff, ok
}

// SetFile puts a file in place, as if uploaded; nil data removes it.
func (f *Fake) SetFile(path string, data []byte, mode os.FileMode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil {
		f.files = map[string]FakeFile{}
	}
	if data == nil {
		delete(f.files, path)
		return
	}
	f.files[path] = FakeFile{Data: append([]byte(nil), data...), Mode: mode}
}

// Host names the fake host.
func (f *Fake) Host() string {
	if f.Name == "" {
		return "fake:22"
	}
	return f.Name
}

// Run answers cmd from the handlers.
func (f *Fake) Run(ctx context.Context, cmd string) (string, error) {
	return f.run(ctx, Call{Cmd: cmd})
}

// RunPrivileged answers cmd from the handlers, recording it as privileged.
func (f *Fake) RunPrivileged(ctx context.Context, cmd string) (string, error) {
	return f.run(ctx, Call{Cmd: cmd, Privileged: true})
}

func (f *Fake) run(ctx context.Context, c Call) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	var fn func(Call, []string) (string, error)
	var m []string
	for i := len(f.handlers) - 1; i >= 0; i-- {
		if m = f.handlers[i].re.FindStringSubmatch(c.Cmd); m != nil {
			fn = f.handlers[i].fn
			break
		}
	}
	f.mu.Unlock()
	switch {
	case fn != nil:
		return fn(c, m)
	case f.Unscripted != nil:
		return f.Unscripted(c)
	}
	return "", f.Exit(c, 127, "", "fake: no script for this command")
}

// Upload stores the file in memory.
func (f *Fake) Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("%s: upload %s: %w", f.Host(), path, err)
	}
	f.mu.Lock()
	f.calls = append(f.calls, Call{Upload: path})
	f.mu.Unlock()
	f.SetFile(path, data, mode)
	return nil
}

// Hold records the command and reports a made-up process id as its first line.
func (f *Fake) Hold(ctx context.Context, cmd string) (string, func(), error) {
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}
	f.mu.Lock()
	f.calls = append(f.calls, Call{Cmd: cmd, Hold: true})
	f.nextPID++
	pid := 4000 + f.nextPID
	f.mu.Unlock()
	return fmt.Sprint(pid), func() {}, nil
}

// Close does nothing.
func (f *Fake) Close() error { return nil }
