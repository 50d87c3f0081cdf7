package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/host"
)

// TestVerificationEventWithoutComplete: a provider that gives no
// verification_uri_complete (RFC 8628 §3.2: it is optional) gets no such
// key in the login --json event, rather than an empty string.
func TestVerificationEventWithoutComplete(t *testing.T) {
	var b bytes.Buffer
	writeJSON(&b, verificationEvent(host.DeviceCode{VerificationURI: "https://idp/device", UserCode: "AB", Expiry: time.Now().Add(time.Minute), Interval: 5}))
	if strings.Contains(b.String(), "verification_uri_complete") || !strings.Contains(b.String(), `"verification_uri":"https://idp/device"`) {
		t.Errorf("verification event: %s", b.String())
	}
}
