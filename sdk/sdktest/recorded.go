package sdktest

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/idplug/idplug/sdk"
)

// Recorded is one answer of a provider, as its documentation shows it, and
// the OAuth error the host's engine should decide on once the plugin's
// interpret hook has seen it ("" for a success). Plugins keep them in
// testdata/ as JSON: {"status": 403, "body": {...}, "means": "authorization_pending"}.
type Recorded struct {
	Status uint16          `json:"status"`
	Body   json.RawMessage `json:"body"` // a JSON body, or null for an empty one
	Means  string          `json:"means"`
}

// Response returns r as the HTTP response the host would hand the plugin.
func (r Recorded) Response() sdk.HTTPResponse {
	body := string(r.Body)
	if body == "null" {
		body = ""
	}
	return sdk.HTTPResponse{Status: r.Status, Headers: []sdk.Header{{Name: "Content-Type", Value: "application/json"}}, Body: body}
}

// Load decodes the JSON file at path into v, failing the test on error.
func Load(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Interpret runs r through p's interpret hook for exchange ex and checks that
// the engine would then see r.Means, and that a success passes unchanged. It
// returns what the hook returned.
func Interpret(t testing.TB, p *Plugin, ex sdk.Exchange, r Recorded) sdk.HTTPResponse {
	t.Helper()
	in := r.Response()
	out, err := p.Interpret(ex, in)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := out.OAuthError(); code != r.Means {
		t.Errorf("%s %d %s: error %q after interpret (%s), want %q", ex, r.Status, in.Body, code, out.Body, r.Means)
	}
	if r.Means == "" && out.Body != in.Body {
		t.Errorf("%s: a success was rewritten: %s", ex, out.Body)
	}
	return out
}
