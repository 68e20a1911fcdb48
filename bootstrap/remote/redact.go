package remote

import (
	"sort"
	"strings"
)

// redactedMark replaces every secret in errors and logs.
const redactedMark = "[redacted]"

// Redactor hides known secret values (tokens, passwords, keys) in text that leaves the
// process: errors, log lines, diagnostics.
type Redactor struct {
	secrets []string
}

// Add registers secrets to hide. Empty and very short values are ignored: hiding "1"
// everywhere would garble output without protecting anything.
func (r *Redactor) Add(secrets ...string) {
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		r.secrets = append(r.secrets, s)
		// A multi-line secret (a private key) may show up one line at a time.
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 {
				r.secrets = append(r.secrets, line)
			}
		}
	}
	// Longest first, so a secret that contains another is hidden whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// String returns s with every registered secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redactedMark)
	}
	return s
}
