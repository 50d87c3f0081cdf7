package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idplug/idplug/internal/edge"
	"github.com/idplug/idplug/sdk"
)

// HookError is a failure caused by what a plugin's hook returned rather than
// by the provider: prepare rewrote a request into one the engine cannot or
// must not send, or interpret rewrote the provider's answer into one the
// engine cannot use. It names the plugin by its configuration key
// (Config.Provider), the hook and the exchange.
type HookError struct {
	Plugin   string       // the plugin's name in the configuration
	Hook     sdk.Hook     // prepare or interpret
	Exchange sdk.Exchange // the exchange whose request or answer it rewrote
	// Err says what the hook returned, as a sentence that follows the
	// hook's name: "returned a request to …", "turned the provider's
	// answer … into …".
	Err error
}

// Error implements error.
func (e *HookError) Error() string {
	return fmt.Sprintf("plugin %q: %s (%s): %v", e.Plugin, e.Hook, e.Exchange, e.Err)
}

// Unwrap returns Err, so that errors.Is and errors.As see what the request
// or answer came to: edge.ErrNotAllowed, or the answer's status for
// retrying a poll.
func (e *HookError) Unwrap() error { return e.Err }

// brokenPlugin ends the message of a hook's output that no provider can
// excuse.
const brokenPlugin = "; the plugin is broken, report it to its author"

// adapter is a provider plugin's hooks with the name errors call the plugin
// by. Its methods call a hook and check what it returned: the engine's own
// requests are well formed, so a request prepare rewrote into an unusable
// one, or an answer interpret rewrote into an unusable one, is the plugin's
// doing, and its error says so rather than blame the provider.
type adapter struct {
	name  string // Config.Provider
	hooks Hooks  // nil: no hooks
}

// fail returns the *HookError of hook h on exchange ex.
func (a adapter) fail(h sdk.Hook, ex sdk.Exchange, err error) error {
	return &HookError{Plugin: a.name, Hook: h, Exchange: ex, Err: err}
}

// prepare passes req through the prepare hook and checks the request it
// returns when it differs from req: an https URL (http only on a loopback
// host), a method and header names that are HTTP tokens, header values
// without control characters (CR and LF among them).
func (a adapter) prepare(ctx context.Context, ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	if a.hooks == nil {
		return req, nil
	}
	in := req
	in.Headers = slices.Clone(req.Headers) // the hook may change them in place
	out, err := a.hooks.Prepare(ctx, ex, in)
	if err != nil {
		return sdk.HTTPRequest{}, err
	}
	if sameRequest(out, req) {
		return out, nil
	}
	if err := checkRequest(out); err != nil {
		return sdk.HTTPRequest{}, a.fail(sdk.HookPrepare, ex, err)
	}
	return out, nil
}

// refused returns the prepare hook's error for err, the error of sending
// req, when the edge refused req's origin and the hook had moved the request
// there from the engine's URL orig; else nil. (With the origin unchanged,
// the edge refused a redirect: the provider's doing.)
func (a adapter) refused(ex sdk.Exchange, orig string, req sdk.HTTPRequest, err error) error {
	from, to := originOf(orig), originOf(req.URL)
	if from == to || !errors.Is(err, edge.ErrNotAllowed) {
		return nil
	}
	return a.fail(sdk.HookPrepare, ex, fmt.Errorf("moved the request from %s to %s, and the host refused to send it: %w", from, to, err))
}

// interpret passes resp, the provider's answer to exchange ex, through the
// interpret hook. When the hook changed its status or body into an answer
// the engine cannot use (see usable), the error is the hook's: it says what
// the provider sent and what the hook made of it, and still unwraps to the
// answer's *statusError. An OAuth error the hook made is not blamed on it:
// turning a provider's answer into one is what the hook is for.
func (a adapter) interpret(ctx context.Context, ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if a.hooks == nil {
		return resp, nil
	}
	in := resp
	in.Headers = slices.Clone(resp.Headers)
	out, err := a.hooks.Interpret(ctx, ex, in)
	if err != nil {
		return sdk.HTTPResponse{}, err
	}
	if out.Status == resp.Status && out.Body == resp.Body {
		return out, nil
	}
	var se *statusError
	// A bad status is the hook's only if the hook set it; a bad body,
	// whichever it changed.
	if errors.As(usable(ex, out), &se) && (se.problem != "" || out.Status != resp.Status) {
		return sdk.HTTPResponse{}, a.fail(sdk.HookInterpret, ex, &rewritten{status: int(resp.Status), answer: se})
	}
	return out, nil
}

// rewritten is an unusable answer the interpret hook made of the provider's.
type rewritten struct {
	status int          // what the provider sent
	answer *statusError // what the hook returned, and what is wrong with it
}

func (e *rewritten) Error() string {
	msg := fmt.Sprintf("turned the provider's answer (HTTP %d %s) into HTTP %s", e.status, http.StatusText(e.status), e.answer.answer())
	if e.answer.problem != "" {
		msg += brokenPlugin
	}
	return msg
}

func (e *rewritten) Unwrap() error { return e.answer }

// sameRequest reports whether a and b are the same request.
func sameRequest(a, b sdk.HTTPRequest) bool {
	return a.Method == b.Method && a.URL == b.URL && a.Body == b.Body && slices.Equal(a.Headers, b.Headers)
}

// checkRequest returns what is wrong with req, a request prepare returned,
// as a sentence that follows the hook's name; nil if the engine may send
// it. No message quotes a header's value, which may be a credential.
func checkRequest(req sdk.HTTPRequest) error {
	if !secureURL(req.URL) {
		return fmt.Errorf("returned a request to %q, which is not an https URL (http:// only on a loopback host)%s", edge.RedactURL(req.URL), brokenPlugin)
	}
	if !token(req.Method) {
		return fmt.Errorf("returned a request with the invalid method %q%s", req.Method, brokenPlugin)
	}
	for _, h := range req.Headers {
		if !token(h.Name) {
			return fmt.Errorf("returned a request with the invalid header name %q%s", h.Name, brokenPlugin)
		}
		if strings.ContainsFunc(h.Value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return fmt.Errorf("returned a request whose header %q has a control character (such as CR or LF) in its value%s", h.Name, brokenPlugin)
		}
	}
	return nil
}

// token reports whether s is an HTTP token (RFC 9110 §5.6.2), as methods
// and header names must be.
func token(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	})
}

// originOf returns the origin of raw for a message: scheme://host with a
// port, lower-cased, the scheme's default port made explicit; "" when raw
// is not an absolute URL.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
