package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idplug/idplug/host"
)

// execInfoEnv is the variable in which client-go (kubectl) tells an exec
// credential plugin what it wants: an ExecCredential without status.
const execInfoEnv = "KUBERNETES_EXEC_INFO"

// The API versions of ExecCredential that exec-credential speaks; client-go
// dropped v1alpha1 in Kubernetes 1.24.
const (
	execCredentialV1      = "client.authentication.k8s.io/v1"
	execCredentialV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// execCredential is a client.authentication.k8s.io ExecCredential, whose
// fields are the same in v1 and v1beta1: the request client-go puts in
// KUBERNETES_EXEC_INFO, and, with a status, the answer on stdout.
type execCredential struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Interactive bool `json:"interactive"`
	} `json:"spec"`
	Status *execCredentialStatus `json:"status,omitempty"`
}

// execCredentialStatus is the credential of an ExecCredential.
type execCredentialStatus struct {
	Token               string `json:"token"`
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"` // RFC 3339; absent when the token has no known expiry
}

type execCredentialOptions struct {
	accessToken bool
	login       loginOptions // for a login when not logged in
}

func newExecCredentialCmd(g *globals) *cobra.Command {
	var o execCredentialOptions
	app := g.opts.App
	cmd := &cobra.Command{
		Use:   "exec-credential",
		Short: "Print a kubectl ExecCredential with the profile's ID token",
		Long: `Print a Kubernetes ExecCredential on stdout, for kubectl and every client built
on client-go. Its token is the profile's ID token, which the OpenID Connect
authenticator of an API server checks (--oidc-issuer-url, --oidc-client-id),
or with --access-token the access token; its expirationTimestamp is that
token's expiry. Tokens are refreshed first when they are about to expire; a
cached, valid token is printed without contacting the identity provider.

The ExecCredential is client.authentication.k8s.io/v1, or v1beta1 when kubectl
asks for it in $` + execInfoEnv + `.

When the profile is not logged in and the command may ask the user to sign in,
it runs the device flow, with the URL and the code on stderr, then prints the
credential. kubectl says whether it may in $` + execInfoEnv + ` (yes with
interactiveMode IfAvailable and a terminal, or Always); run by hand, it may
when stdin is a terminal. Otherwise it exits 3 with a hint to run
` + app + ` login. Nothing but the ExecCredential is printed on stdout.

A kubeconfig user that runs this command:

` + kubeconfigUser(app),
		Example: `  ` + app + ` exec-credential --profile work
  ` + app + ` exec-credential --access-token | jq -r .status.expirationTimestamp
  ` + execInfoEnv + `='{"kind":"ExecCredential","apiVersion":"` + execCredentialV1beta1 + `","spec":{"interactive":false}}' ` + app + ` exec-credential`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExecCredential(cmd.Context(), cmd, g, o) },
	}
	// The kubeconfig runs the command by its path: "mytool" with the
	// argument "auth" when mounted under "mytool auth".
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		long := c.Long
		defer func() { c.Long = long }()
		c.Long = strings.Replace(c.Long, kubeconfigUser(app), kubeconfigUser(g.parent.CommandPath()), 1)
		c.Parent().HelpFunc()(c, args) // what cobra does for a command without a help function
	})
	cmd.Flags().BoolVar(&o.accessToken, "access-token", false, "put the access token in the ExecCredential instead of the ID token")
	cmd.Flags().BoolVar(&o.login.noBrowser, "no-browser", false, "when signing in, do not open the verification URL in a browser")
	cmd.Flags().BoolVar(&o.login.qr, "qr", false, "when signing in, draw a QR code of the verification URL, for a phone")
	return cmd
}

// kubeconfigUser is a kubeconfig users entry that runs exec-credential of
// the commands mounted at path ("idplug", or "mytool auth").
func kubeconfigUser(path string) string {
	words := strings.Fields(path)
	args := strings.Join(append(words[1:], "exec-credential", "--profile", "work"), ", ")
	return `  users:
  - name: work
    user:
      exec:
        apiVersion: ` + execCredentialV1 + `
        command: ` + words[0] + `
        args: [` + args + `]
        interactiveMode: IfAvailable
        provideClusterInfo: false`
}

func runExecCredential(ctx context.Context, cmd *cobra.Command, g *globals, o execCredentialOptions) error {
	cred, err := execRequest(os.Getenv(execInfoEnv), isTerminal(g.io.In))
	if err != nil {
		return usageError{err, cmd.CommandPath()}
	}
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	token, expiry, err := credential(ctx, s, o.accessToken)
	if errors.Is(err, host.ErrNotLoggedIn) && cred.Spec.Interactive {
		if err := login(ctx, g, s, o.login); err != nil {
			return err
		}
		token, expiry, err = credential(ctx, s, o.accessToken)
	}
	if err != nil {
		return err
	}
	cred.Status = &execCredentialStatus{Token: token}
	if !expiry.IsZero() {
		cred.Status.ExpirationTimestamp = expiry.UTC().Format(time.RFC3339)
	}
	writeJSON(g.io.Out, cred)
	return nil
}

// execRequest reads info, the value of KUBERNETES_EXEC_INFO, into the
// ExecCredential to answer: its API version, and in its spec whether the
// command may ask the user to sign in. Without info (the command run by
// hand, or by a client that sets none), the answer is v1, and it may ask
// when stdin is a terminal (stdinTTY).
func execRequest(info string, stdinTTY bool) (execCredential, error) {
	var cred execCredential
	if info == "" {
		cred.APIVersion, cred.Spec.Interactive = execCredentialV1, stdinTTY
	} else if err := json.Unmarshal([]byte(info), &cred); err != nil {
		return cred, fmt.Errorf("$%s is not an ExecCredential: %v", execInfoEnv, err)
	}
	switch cred.APIVersion {
	case execCredentialV1, execCredentialV1beta1:
	case "":
		return cred, fmt.Errorf("$%s has no apiVersion; want %s or %s", execInfoEnv, execCredentialV1, execCredentialV1beta1)
	default:
		return cred, fmt.Errorf("$%s asks for apiVersion %q, which is not supported: set apiVersion %s or %s in the kubeconfig's exec section",
			execInfoEnv, cred.APIVersion, execCredentialV1, execCredentialV1beta1)
	}
	cred.Kind, cred.Status = "ExecCredential", nil
	return cred, nil
}

// credential returns the token exec-credential hands out, the ID token or
// with accessToken the access token, and its expiry, refreshing first when
// needed.
func credential(ctx context.Context, s *host.Session, accessToken bool) (string, time.Time, error) {
	if !accessToken {
		return s.IDToken(ctx)
	}
	tok, err := s.Token(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok.AccessToken, tok.Expiry, nil
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
