package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/safetext"
)

type loginOptions struct {
	noBrowser bool
	qr        bool
	json      bool
}

func newLoginCmd(g *globals) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in with a code you approve on any device",
		Long: `Sign in with the OAuth 2.0 Device Authorization Grant (RFC 8628).

The command shows a URL and a short code. Open the URL on your phone or laptop,
check that the code matches, and approve. The tokens are then kept in the token
store; ` + g.opts.App + ` token and whoami use them. The browser opens by itself when
this machine has a display, unless --no-browser is given.

With --json, progress is printed to stdout as one JSON object per line: first a
"verification" event (verification_uri, verification_uri_complete, user_code,
expires_in, interval), then "pending", "slow_down" or "retrying" events as
polls come back, last an "authorized" event or an "error" event whose "error"
is access_denied, expired_token, configuration, interrupted or failed.

Exit codes: 0 signed in, 1 failure, 2 usage or configuration error, 4 the
sign-in was refused at the identity provider, 5 the code expired before it
was approved.`,
		Example: `  ` + g.opts.App + ` login
  ` + g.opts.App + ` login --profile work --qr --no-browser
  ` + g.opts.App + ` login --json | jq -r 'select(.event=="verification").verification_uri_complete'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLogin(cmd.Context(), g, o) },
	}
	cmd.Flags().BoolVar(&o.noBrowser, "no-browser", false, "do not open the verification URL in a browser")
	cmd.Flags().BoolVar(&o.qr, "qr", false, "draw a QR code of the verification URL, for a phone")
	cmd.Flags().BoolVar(&o.json, "json", false, "print progress as JSON lines on stdout")
	return cmd
}

func runLogin(ctx context.Context, g *globals, o loginOptions) error {
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	return login(ctx, g, s, o)
}

// login runs the device flow of s's profile. Without o.json it writes
// nothing to stdout: the code, the progress and the result go to stderr.
func login(ctx context.Context, g *globals, s *host.Session, o loginOptions) error {
	out := g.io.Out
	var progress *countdown
	opts := host.LoginOptions{
		OnCode: func(da host.DeviceCode) {
			if o.json {
				writeJSON(out, verificationEvent(da))
			} else {
				showCode(g.io.ErrOut, da, o.qr, s.Profile())
			}
			if !o.noBrowser && hasDisplay() {
				g.openBrowser(verificationURL(da))
			}
			switch {
			case !o.json && g.io.ErrOutTTY:
				progress = startCountdown(g.io.ErrOut, da.Expiry)
			case !o.json && !da.Expiry.IsZero():
				// No live countdown off a terminal: say it once.
				fmt.Fprintf(g.io.ErrOut, "Waiting for approval; the code expires in %s.\n", time.Until(da.Expiry).Round(time.Second))
			}
		},
		OnEvent: func(ev host.PollEvent) {
			if ev.Kind == host.PollAuthorized {
				return // reported below, with the identity
			}
			if o.json {
				writeJSON(out, pollEvent(ev))
				return
			}
			if ev.Kind == host.PollRetrying || ev.Kind == host.PollSlowDown {
				if progress != nil {
					progress.note(describePoll(ev))
				} else {
					fmt.Fprintln(g.io.ErrOut, describePoll(ev))
				}
			}
		},
	}
	id, err := s.Login(ctx, opts)
	progress.stop()
	if err != nil {
		if o.json {
			ev := errorJSON{Event: "error", Error: errorCode(err), Message: err.Error()}
			if ctx.Err() != nil {
				ev.Error, ev.Message = "interrupted", "interrupted; nothing was stored"
			}
			writeJSON(out, ev)
		}
		return loginHint(g, s.Profile(), err)
	}
	if o.json {
		writeJSON(out, authorizedJSON{
			Event: "authorized", Profile: id.Profile, Provider: id.Provider,
			Subject: id.Subject, Username: id.Username, ExpiresAt: id.ExpiresAt,
		})
		return nil
	}
	who := id.Username
	if who == "" {
		who = id.Subject
	}
	if id.Email != "" && id.Email != who {
		who += " (" + id.Email + ")"
	}
	fmt.Fprintf(g.io.ErrOut, "Logged in to profile %q as %s.\n", id.Profile, safetext.Line(who))
	return nil
}

func verificationURL(da host.DeviceCode) string {
	if da.VerificationURIComplete != "" {
		return da.VerificationURIComplete
	}
	return da.VerificationURI
}

// The events of login --json, one JSON object per line, in the order and
// with the fields of DESIGN.md §4.
type (
	verificationJSON struct {
		Event                   string `json:"event"` // "verification"
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete,omitempty"` // absent when the provider gave none
		UserCode                string `json:"user_code"`
		ExpiresIn               int64  `json:"expires_in"` // seconds; 0 when the provider gave no lifetime
		Interval                int64  `json:"interval"`   // seconds between polls
	}
	pollJSON struct {
		Event      string `json:"event"` // "pending", "slow_down" or "retrying"
		NextPollIn int64  `json:"next_poll_in"`
		Message    string `json:"message,omitempty"`
	}
	authorizedJSON struct {
		Event     string     `json:"event"` // "authorized"
		Profile   string     `json:"profile"`
		Provider  string     `json:"provider"`
		Subject   string     `json:"subject"`
		Username  string     `json:"username"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	errorJSON struct {
		Event   string `json:"event"` // "error"
		Error   string `json:"error"` // see errorCode
		Message string `json:"message"`
	}
)

func verificationEvent(da host.DeviceCode) verificationJSON {
	ev := verificationJSON{
		Event:                   "verification",
		VerificationURI:         da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete,
		UserCode:                da.UserCode,
		Interval:                int64(da.Interval),
	}
	if !da.Expiry.IsZero() {
		ev.ExpiresIn = max(0, int64(time.Until(da.Expiry).Round(time.Second)/time.Second))
	}
	return ev
}

func pollEvent(ev host.PollEvent) pollJSON {
	m := pollJSON{Event: string(ev.Kind), NextPollIn: max(0, int64(time.Until(ev.Next).Round(time.Second)/time.Second))}
	if ev.Err != nil {
		m.Message = ev.Err.Error()
	}
	return m
}

func describePoll(ev host.PollEvent) string {
	switch ev.Kind {
	case host.PollSlowDown:
		return fmt.Sprintf("The identity provider asked to poll more slowly; next check in %s.", time.Until(ev.Next).Round(time.Second))
	case host.PollRetrying:
		return fmt.Sprintf("The identity provider is not answering (%s); retrying in %s.",
			safetext.Line(fmt.Sprint(ev.Err)), time.Until(ev.Next).Round(time.Second))
	}
	return string(ev.Kind)
}

func showCode(w io.Writer, da host.DeviceCode, qr bool, profile string) {
	fmt.Fprintf(w, "To sign in to profile %q, open this page on any device:\n\n    %s\n\nand enter the code:\n\n    %s\n\n",
		profile, safetext.Line(da.VerificationURI), safetext.Line(da.UserCode))
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(w, "Or open this link, which carries the code:\n    %s\n\n", safetext.Line(da.VerificationURIComplete))
	}
	if qr {
		if err := writeQR(w, verificationURL(da)); err != nil {
			fmt.Fprintf(w, "(cannot draw a QR code: %s)\n", safetext.Line(err.Error()))
		}
	}
}

// errorCode names a login failure in JSON events: "access_denied",
// "expired_token", "configuration" or "failed" ("interrupted" is set by
// runLogin).
func errorCode(err error) string {
	switch ExitCode(err) {
	case ExitAccessDenied:
		return "access_denied"
	case ExitExpired:
		return "expired_token"
	case ExitUsage:
		return "configuration"
	}
	return "failed"
}

// loginHint adds what to do to a login failure of profile.
func loginHint(g *globals, profile string, err error) error {
	switch ExitCode(err) {
	case ExitAccessDenied:
		return hintError{err, fmt.Sprintf("The sign-in was refused. Run `%s --profile %s` to try again, or ask your administrator for access.", g.command("login"), profile)}
	case ExitExpired:
		return hintError{err, fmt.Sprintf("Run `%s --profile %s` to get a new code, and approve it before it expires.", g.command("login"), profile)}
	}
	return err
}

func (g *globals) openBrowser(url string) {
	open := g.opts.OpenBrowser
	if open == nil {
		open = systemBrowser
	}
	if err := open(url); err != nil {
		fmt.Fprintf(g.io.ErrOut, "(could not open a browser: %s)\n", safetext.Line(err.Error()))
	}
}

// systemBrowser opens url with the system's opener. The opener's output is
// discarded, so that nothing but the command's own reaches stdout (login
// --json), and nothing is shared between concurrent logins.
func systemBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it; the browser outlives the opener
	return nil
}

// hasDisplay reports whether a browser could show a window here.
func hasDisplay() bool {
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" || runtime.GOOS == "openbsd" {
		return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
	}
	return true
}

// writeJSON writes v as one line of JSON, with the characters that could
// drive a terminal escaped (safetext.JSON): the values stay exact.
func writeJSON(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "%s\n", safetext.JSON(b))
}

// countdown shows the code's remaining validity on a terminal line, once a
// second, until stopped.
type countdown struct {
	w      io.Writer
	expiry time.Time
	mu     sync.Mutex
	done   chan struct{}
	wg     sync.WaitGroup
}

func startCountdown(w io.Writer, expiry time.Time) *countdown {
	c := &countdown{w: w, expiry: expiry, done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			c.draw()
			select {
			case <-c.done:
				fmt.Fprint(c.w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return c
}

func (c *countdown) draw() {
	c.mu.Lock()
	defer c.mu.Unlock()
	line := "Waiting for approval…"
	if !c.expiry.IsZero() {
		left := time.Until(c.expiry).Round(time.Second)
		if left < 0 {
			left = 0
		}
		line += fmt.Sprintf(" the code expires in %d:%02d", int(left.Minutes()), int(left.Seconds())%60)
	}
	fmt.Fprintf(c.w, "\r\033[K%s", line)
}

// note prints msg on its own line above the countdown.
func (c *countdown) note(msg string) {
	c.mu.Lock()
	fmt.Fprintf(c.w, "\r\033[K%s\n", msg)
	c.mu.Unlock()
	c.draw()
}

func (c *countdown) stop() {
	if c == nil {
		return
	}
	close(c.done)
	c.wg.Wait()
}
