package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/sdk"
)

func newGitCredentialCmd(g *globals) *cobra.Command {
	app := g.opts.App
	return &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "Give git the profile's access token (a git credential helper)",
		Long: `A git credential helper: git runs it with an operation and writes the request,
key=value lines ending with a blank line, on its stdin.

get answers, on stdout, username (the profile's git_username, default oauth2),
password (a valid access token, refreshed when needed) and password_expiry_utc,
but only when git asks about a host listed in the profile's git_hosts, exactly
as git sends it (with :PORT when the URL has one), over https (or http to a
loopback host), and with no username or the profile's own. For any other
request it prints nothing, so that the token never goes to a server it was not
meant for (after a redirect, for a submodule, through a global helper). It
never starts a login: when the profile is not logged in it prints nothing and
exits 3 with a hint on stderr. A profile without git_hosts is a configuration
error (exit 2).

erase, which git runs when a server refused a password, marks the profile's
access token rejected when that password is it: the next get refreshes it, or
says that a login is needed. store does nothing, and so do operations this
version does not know.`,
		Example: `  git config --global credential.https://gitlab.example.com.helper ''
  git config --global --add credential.https://gitlab.example.com.helper '!` + app + ` --profile work git-credential'
  # with, in the profile: git_hosts = ["gitlab.example.com"]

  printf 'protocol=https\nhost=gitlab.example.com\n\n' | ` + app + ` git-credential get`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"get", "store", "erase"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGitCredential(cmd.Context(), g, cmd.CommandPath(), args[0])
		},
	}
}

// runGitCredential reads git's request from stdin and carries out op; path
// is the command as the user runs it, for hints.
func runGitCredential(ctx context.Context, g *globals, path, op string) error {
	req, err := readGitRequest(g.io.In)
	if op != "get" && op != "erase" {
		// store keeps nothing: the token store already has the tokens. An
		// operation git adds later is ignored, as gitcredentials(7) asks.
		return nil
	}
	if err != nil {
		return usageError{fmt.Errorf("reading git's credential request: %w", err), path}
	}
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	hosts, username, err := s.Git()
	if err != nil {
		return err
	}
	if !req.forUs(hosts) {
		return nil
	}
	if op == "erase" {
		if req["password"] != "" {
			_, err = s.Reject(ctx, req["password"])
		}
		return err
	}
	if req["username"] != "" && req["username"] != username {
		return nil // git wants another account's credential
	}
	tok, err := s.Token(ctx) // refreshes; never logs in
	if err != nil {
		return err
	}
	if !gitValue(username) {
		return fmt.Errorf("git_username of profile %q has a control character; git is given nothing", s.Profile())
	}
	if tok.AccessToken == "" || !gitValue(tok.AccessToken) {
		return fmt.Errorf("the access token of profile %q is empty or has a control character; git is given nothing", s.Profile())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "username=%s\npassword=%s\n", username, tok.AccessToken)
	if !tok.Expiry.IsZero() {
		fmt.Fprintf(&b, "password_expiry_utc=%d\n", tok.Expiry.Unix())
	}
	_, err = io.WriteString(g.io.Out, b.String())
	return err
}

// gitRequest holds the attributes of a credential request by key. A key
// that git sends more than once keeps its last value, as git reads them.
type gitRequest map[string]string

// readGitRequest reads key=value lines up to a blank line or the end of r.
// A value may hold "=" (only the first one splits). Multi-valued keys such
// as wwwauth[] and capability[] are left out; other keys are kept, and only
// protocol, host, username and password are looked at.
func readGitRequest(r io.Reader) (gitRequest, error) {
	req := gitRequest{}
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return req, nil // a blank line, or the end
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			// Not quoted: on erase the request carries a password.
			return nil, fmt.Errorf("line %d is not key=value", n)
		}
		if !strings.HasSuffix(key, "[]") {
			req[key] = value
		}
		if err != nil {
			return req, nil // the last line had no newline
		}
	}
}

// forUs reports whether req is about one of hosts (lower-case host[:port])
// over a protocol that may carry the token: https, or http to a loopback
// host, whose traffic does not leave the machine.
func (req gitRequest) forUs(hosts []string) bool {
	host := strings.ToLower(req["host"])
	if host == "" || !slices.Contains(hosts, host) {
		return false
	}
	switch strings.ToLower(req["protocol"]) {
	case "https":
		return true
	case "http":
		name, _, err := net.SplitHostPort(host)
		if err != nil { // no port
			name = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
		return sdk.IsLoopback(name)
	}
	return false
}

// gitValue reports whether v can be written as the value of a protocol line:
// a control character, a newline above all, could end it and start another.
func gitValue(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
