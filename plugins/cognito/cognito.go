// Package cognito is the Amazon Cognito provider plugin.
//
// Cognito user pools have no device grant. AWS's documented pattern (the
// aws-samples/cognito-device-grant-flow project, described on the AWS
// Security Blog) puts a device-grant service in front of the user pool: the
// device asks it for codes and polls it, with every parameter in the query
// string, and gets the user pool's own tokens. Refresh, userinfo and
// revocation then go to the user pool domain itself.
//
// It registers itself with sdk.Register; programs that embed the host link
// it through package plugins, and ./cmd builds it as a WebAssembly module or
// a subprocess plugin (make plugins).
package cognito

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/idplug/idplug/sdk"
)

func init() { sdk.Register(Provider{}) }

// Provider is the Amazon Cognito provider.
type Provider struct{}

// Describe implements sdk.Provider.
func (Provider) Describe() sdk.PluginInfo {
	return sdk.PluginInfo{
		Name:    "cognito",
		Version: "1.0.0",
		Summary: "Amazon Cognito user pools behind AWS's device-grant service (aws-samples/cognito-device-grant-flow)",
		Settings: []sdk.SettingSpec{
			{
				Name: "domain", Type: sdk.SettingURL, Required: true,
				Help: "the user pool domain, which serves /oauth2/token, /oauth2/userInfo and /oauth2/revoke: https://<prefix>.auth.<region>.amazoncognito.com or a custom domain",
			},
			{
				Name: "device_endpoint", Type: sdk.SettingURL, Required: true,
				Help: "the base URL of the device-grant service in front of the user pool; idplug asks <device_endpoint>/token for codes and tokens",
			},
			{
				Name: "region", Type: sdk.SettingString, Required: true,
				Help: "the AWS region of the user pool, such as us-east-1",
			},
			{
				Name: "user_pool_id", Type: sdk.SettingString, Required: true,
				Help: "the user pool ID, such as us-east-1_Example",
			},
			{
				Name: "issuer", Type: sdk.SettingURL,
				Help: "the issuer of the ID tokens, whose keys are at <issuer>/.well-known/jwks.json; default https://cognito-idp.<region>.amazonaws.com/<user_pool_id>",
			},
		},
	}
}

// patterns of a region and a user pool ID, compiled on first use: the
// provider is linked into every idplug process, most of which never
// configure it.
var patterns = sync.OnceValue(func() (p struct{ region, poolID *regexp.Regexp }) {
	p.region = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	p.poolID = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-[0-9]+)_[0-9A-Za-z]+$`)
	return p
})

var examples = map[string]string{"region": "us-east-1", "user_pool_id": "us-east-1_Example"}

// Configure implements sdk.Provider.
func (Provider) Configure(settings map[string]string, client sdk.Client) (sdk.ProviderSpec, []sdk.ConfigError) {
	var errs []sdk.ConfigError
	fail := func(setting, msg string) { errs = append(errs, sdk.ConfigError{Setting: setting, Message: msg}) }
	// The host checked the url settings and that the required ones are set.
	domain := strings.TrimSuffix(settings["domain"], "/")
	device := strings.TrimSuffix(settings["device_endpoint"], "/")
	reg, pool := strings.TrimSpace(settings["region"]), strings.TrimSpace(settings["user_pool_id"])
	for _, s := range []struct {
		name, value string
		re          *regexp.Regexp
	}{{"region", reg, patterns().region}, {"user_pool_id", pool, patterns().poolID}} {
		if !s.re.MatchString(s.value) {
			fail(s.name, `must look like "`+examples[s.name]+`", got "`+s.value+`"`)
		}
	}
	if m := patterns().poolID.FindStringSubmatch(pool); m != nil && patterns().region.MatchString(reg) && m[1] != reg {
		fail("region", `is "`+reg+`" but user pool `+pool+` is in `+m[1]+`; set region = "`+m[1]+`"`)
	}
	issuer := "https://cognito-idp." + reg + ".amazonaws.com/" + pool
	if settings["issuer"] != "" {
		issuer = strings.TrimSuffix(settings["issuer"], "/")
	}
	if len(errs) > 0 {
		return sdk.ProviderSpec{}, errs
	}
	var style sdk.AuthStyle // none for a public client
	if client.ClientSecret != "" {
		style = sdk.AuthBasic // both the service and Cognito take Basic
	}
	return sdk.ProviderSpec{
		Issuer: issuer,
		Endpoints: sdk.Endpoints{
			DeviceAuthorization: device + "/token",
			Token:               device + "/token",
			Refresh:             domain + "/oauth2/token",
			Userinfo:            domain + "/oauth2/userInfo",
			Revocation:          domain + "/oauth2/revoke",
			JWKS:                issuer + "/.well-known/jwks.json",
			EndSession:          domain + "/logout",
		},
		AuthStyle: style,
		// Cognito refuses scopes it does not know, offline_access among
		// them; its authorization-code grant always returns a refresh token.
		DefaultScopes: []string{"openid", "email", "profile"},
	}, nil
}

// Prepare implements sdk.Preparer. The device-grant service reads its
// parameters from the query string only: the device-code request carries
// client_id (and scope), each poll client_id, device_code and grant_type.
func (Provider) Prepare(ex sdk.Exchange, req sdk.HTTPRequest) (sdk.HTTPRequest, error) {
	if ex != sdk.ExchangeDeviceAuthorization && ex != sdk.ExchangeTokenPoll {
		return req, nil
	}
	form, err := url.ParseQuery(req.Body)
	if err != nil {
		return req, err
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return req, err
	}
	q := u.Query()
	if form.Get("client_id") == "" {
		// A confidential client authenticates with Basic; the service
		// wants its client_id in the query all the same.
		if id, ok := basicUser(req.Headers); ok {
			q.Set("client_id", id)
		}
	}
	for k, vs := range form {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	req.URL, req.Body = u.String(), ""
	headers := req.Headers[:0:0]
	for _, h := range req.Headers {
		if !strings.EqualFold(h.Name, "Content-Type") {
			headers = append(headers, h)
		}
	}
	req.Headers = headers
	return req, nil
}

// basicUser returns the client_id of an HTTP Basic Authorization header,
// which RFC 6749 §2.3.1 form-encodes.
func basicUser(headers []sdk.Header) (string, bool) {
	for _, h := range headers {
		scheme, cred, ok := strings.Cut(h.Value, " ")
		if !strings.EqualFold(h.Name, "Authorization") || !ok || !strings.EqualFold(scheme, "Basic") {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		user, _, ok := strings.Cut(string(b), ":")
		if err != nil || !ok {
			return "", false
		}
		id, err := url.QueryUnescape(user)
		return id, err == nil
	}
	return "", false
}

// Interpret implements sdk.Interpreter. The device-grant service answers a
// denied login with "denied", which becomes RFC 8628's access_denied, and
// refuses a client or a request with an empty 401 or 405, which become
// invalid_client and invalid_request with what to check.
func (Provider) Interpret(ex sdk.Exchange, resp sdk.HTTPResponse) (sdk.HTTPResponse, error) {
	if ex != sdk.ExchangeDeviceAuthorization && ex != sdk.ExchangeTokenPoll {
		return resp, nil
	}
	code, desc := resp.OAuthError()
	switch {
	case code == "denied":
		return resp.WithOAuthError("access_denied", desc), nil
	case code == "" && resp.Status == 401:
		return resp.WithOAuthError("invalid_client", "the device-grant service does not know this client; check client_id (and client_secret) against the user pool's app client"), nil
	case code == "" && resp.Status == 405:
		return resp.WithOAuthError("invalid_request", "the device-grant service refused the request's parameters; check device_endpoint"), nil
	}
	return resp, nil
}

// Identity implements sdk.Identifier with Cognito's claims: the username is
// cognito:username in the ID token (username in userInfo), groups are
// cognito:groups, which only the ID token carries.
func (Provider) Identity(idTokenClaims, userinfo sdk.Claims) (sdk.Identity, error) {
	id := sdk.StandardIdentity(idTokenClaims, userinfo)
	for _, u := range []string{idTokenClaims.String("cognito:username"), userinfo.String("username")} {
		if u != "" {
			id.Username = u
			break
		}
	}
	id.Groups = idTokenClaims.Strings("cognito:groups")
	if id.Groups == nil {
		id.Groups = []string{}
	}
	return id, nil
}
