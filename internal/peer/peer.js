// idplug's conformance peer: panva's oidc-provider (OpenID Certified,
// RFC 8628) on 127.0.0.1 as one tenant per vendor, each on a free port (two
// where the vendor splits its endpoints over two hosts), with a thin shim
// per vendor that reproduces its documented wire behaviour
// (tenants/<vendor>.js says exactly what):
//
//   keycloak    a realm at Keycloak's paths; clients idplug-cli and
//               idplug-pkce, which requires PKCE (S256) on the device grant.
//   auth0       Auth0's paths, statuses 403/429, the API audience required.
//   cognito     a user pool domain, Cognito's claims, no rotation, refresh
//               tokens revoked only;
//   device      the Cognito device-grant service in front of it.
//   gitlab      GitLab's /oauth/ paths; discovery without the device
//               endpoint; groups in userinfo; refresh tokens always.
//   github      github.com's /login/device/code and /login/oauth/access_token
//               (HTTP 200 errors, form-encoded unless JSON is accepted,
//               GitHub's error names, expiring ghu_/ghr_ tokens) in front of a
//               private oidc-provider;
//   githubAPI   the REST API's GET /user.
//   entra       Entra ID's /{tenant}/… paths for the tenant ID, its domain,
//               organizations and common; Entra's discovery shape (the
//               {tenantid} issuer template), errors and claims.
//   google      accounts.google.com: issuer, discovery, verification page;
//   googleAPIs  oauth2.googleapis.com: device, token (428/403 statuses),
//               revoke, userinfo, keys; a client secret required.
//   okta        an org with its org authorization server and the custom
//               server "default", one /activate page for both.
//
// What the shims fake, and nothing else: the oidc-provider instances do all
// the OAuth and OpenID Connect work and sign every token (RS256, a key per
// instance). The shims add `interval` to device authorization responses
// (oidc-provider omits it), rewrite statuses, error names, parameter names
// and paths as the real services send them, turn authorization_pending
// into slow_down on request, can tamper with ID tokens so that tests see a
// verification failure (or have Entra name another tenant in tid), and
// check PKCE where Keycloak does.
//
// Usage: node peer.js '{"accessTokenTTL": 12, …}'. It prints one JSON line
// with the tenants' URLs, clients and secrets once listening, and serves a
// control API under /_peer/ on every port (see control in common.js).
// Options are documented in peer.go.

// A tenant is built on the first request to any of its origins: its RSA
// key is most of the cost, and most tests use one or two tenants. Its
// origins listen from the start, so the peer is ready at once.
import { listen, opts } from './common.js';
import keycloak from './tenants/keycloak.js';
import auth0 from './tenants/auth0.js';
import { cognito, device } from './tenants/cognito.js';
import gitlab from './tenants/gitlab.js';
import github from './tenants/github.js';
import entra from './tenants/entra.js';
import google from './tenants/google.js';
import okta from './tenants/okta.js';

// origins: origin name → [tenant, the handler of the tenant's answer that
// serves it].
const origins = {
  keycloak: ['keycloak', 'handler'],
  auth0: ['auth0', 'handler'],
  cognito: ['cognito', 'handler'],
  device: ['device', 'handler'],
  gitlab: ['gitlab', 'handler'],
  github: ['github', 'handler'],
  githubAPI: ['github', 'apiHandler'],
  entra: ['entra', 'handler'],
  google: ['google', 'handler'],
  googleAPIs: ['google', 'apiHandler'],
  okta: ['okta', 'handler'],
};
const ports = {};
const built = {};
const build = {
  keycloak: () => keycloak({ origin: ports.keycloak }),
  auth0: () => auth0({ origin: ports.auth0 }),
  cognito: () => cognito({ origin: ports.cognito }),
  device: () => device({ origin: ports.device, cognitoOrigin: ports.cognito }),
  gitlab: () => gitlab({ origin: ports.gitlab }),
  github: () => github({ origin: ports.github, apiOrigin: ports.githubAPI }),
  entra: () => entra({ origin: ports.entra }),
  google: () => google({ origin: ports.google, apiOrigin: ports.googleAPIs }),
  okta: () => okta({ origin: ports.okta }),
};
for (const [name, [tenant, handler]] of Object.entries(origins)) {
  ports[name] = await listen(async (req, res) => {
    built[tenant] ||= build[tenant]();
    return (await built[tenant])[handler](req, res);
  });
}

console.log(JSON.stringify({
  ...ports,
  realm: opts.realm,
  userPoolId: opts.userPoolId,
  audience: opts.audience,
  groupsClaim: opts.groupsClaim,
  entraTenant: opts.entraTenant,
  entraDomain: opts.entraDomain,
  entraOtherTenant: opts.entraOtherTenant,
  clients: opts.clients,
  secrets: opts.secrets,
  interval: opts.interval,
  accessTokenTTL: opts.accessTokenTTL,
  deviceCodeTTL: opts.deviceCodeTTL,
  advertisedExpiresIn: opts.advertisedExpiresIn,
}));
