// Okta: one org, two authorization servers, each an oidc-provider:
//
//   default  the custom authorization server "default": issuer
//            {origin}/oauth2/default, endpoints /oauth2/default/v1/…
//            (device/authorize, token, revoke, userinfo, keys, logout,
//            authorize, introspect), discovery at
//            /oauth2/default/.well-known/openid-configuration. Its groups
//            claim is configured for the ID token, as an admin adds it.
//   org      the org authorization server: issuer {origin}, endpoints
//            /oauth2/v1/…, discovery at /.well-known/openid-configuration;
//            groups with the groups scope.
//
// Both send devices to {origin}/activate (user codes of eight letters),
// which takes the user code and leads to the code page of the server that
// issued it. Claims: sub the Okta user ID (00u…), preferred_username the
// Okta login (an e-mail address), name, email, groups (with Everyone), ver
// 1. Errors have RFC names and the statuses and descriptions of Okta's
// error catalogue: access_denied 403, invalid_client 401, the rest 400.
// Both servers share the control state (slow-down, break-id-tokens, stats)
// and the token lookup.

import {
  GT_DEVICE, attach, control, fullName, mount, newProvider, newState, normalizeUserCode, opts, page, readBody, redirect,
} from '../common.js';

const oktaShape = (u) => ({
  ver: 1,
  name: fullName(u),
  given_name: u.given,
  family_name: u.family,
  locale: 'en-US',
  zoneinfo: 'America/Los_Angeles',
  preferred_username: u.email,
  email: u.email,
  email_verified: true,
  groups: ['Everyone', ...u.groups],
});

// Okta's statuses and descriptions (its OAuth 2.0 error catalogue).
const errors = {
  authorization_pending: [400, 'The device authorization is pending. Please try again later.'],
  slow_down: [400, 'Slow down the polling frequency. Please try again later.'],
  expired_token: [400, 'The device code has expired.'],
  access_denied: [403, 'The resource owner or authorization server denied the request.'],
  [`invalid_grant ${GT_DEVICE}`]: [400, 'The device code is invalid or has expired.'],
  'invalid_grant refresh_token': [400, 'The refresh token is invalid or expired.'],
  invalid_client: [401, 'No client credentials found.'],
};

export default async function okta({ origin }) {
  const clients = [{ client_id: opts.clients.okta }];
  const routes = (v1) => ({
    authorization: `${v1}/authorize`,
    device_authorization: `${v1}/device/authorize`,
    code_verification: `${v1}/device/verify`,
    token: `${v1}/token`,
    userinfo: `${v1}/userinfo`,
    revocation: `${v1}/revoke`,
    introspection: `${v1}/introspect`,
    end_session: `${v1}/logout`,
    jwks: `${v1}/keys`,
  });
  const common = { clients, sub: (u) => u.oktaId, shape: oktaShape, scopes: ['groups'] };
  const custom = await newProvider(`${origin}/oauth2/default`, {
    ...common,
    claims: {
      openid: ['sub', 'ver', 'groups'],
      profile: ['name', 'given_name', 'family_name', 'locale', 'zoneinfo', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    routes: routes('/v1'),
    cookiePrefix: '_default',
    userCodeMask: '********',
  });
  const org = await newProvider(origin, {
    ...common,
    claims: {
      openid: ['sub', 'ver'],
      profile: ['name', 'given_name', 'family_name', 'locale', 'zoneinfo', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    routes: routes('/oauth2/v1'),
    userCodeMask: '********',
  });
  const state = newState('okta');
  const shim = {
    after(ctx, form) {
      const route = ctx.oidc?.route;
      if (route === 'device_authorization' && ctx.status === 200) {
        ctx.body.verification_uri = `${origin}/activate`;
        ctx.body.verification_uri_complete = `${origin}/activate?user_code=${encodeURIComponent(ctx.body.user_code)}`;
      }
      const err = ctx.body?.error;
      if (!err || (route !== 'token' && route !== 'device_authorization')) return;
      const grant = form.get('grant_type');
      const [status, description] = (err === 'invalid_grant' && errors[`invalid_grant ${grant}`]) || errors[err] || [];
      if (status) {
        ctx.status = status;
        ctx.body = { error: err, error_description: description };
      }
    },
  };
  attach(state, custom, shim);
  attach(state, org, shim);
  const customApp = custom.callback();
  const orgApp = org.callback();

  // codePage is the server's own code page that knows userCode.
  const codePage = async (userCode) => {
    const code = normalizeUserCode(userCode);
    if (await custom.DeviceCode.findByUserCode(code, { ignoreExpiration: true })) return `${origin}/oauth2/default/v1/device/verify`;
    if (await org.DeviceCode.findByUserCode(code, { ignoreExpiration: true })) return `${origin}/oauth2/v1/device/verify`;
    return undefined;
  };
  const activate = (res, msg = 'Enter the code displayed on your device') => page(res, 200, 'Activate', `<h1>Activate your device</h1><p>${msg}</p>
<form method="post" action="/activate"><input type="text" name="user_code" autocomplete="off"><button type="submit">Next</button></form>`);

  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (url.pathname === '/activate') {
      const userCode = req.method === 'POST'
        ? new URLSearchParams(await readBody(req)).get('user_code')
        : url.searchParams.get('user_code');
      if (!userCode) return activate(res);
      const to = await codePage(userCode);
      if (!to) return activate(res, 'The code you entered is incorrect. Try again');
      return redirect(res, `${to}?user_code=${encodeURIComponent(userCode)}`, 303);
    }
    if (url.pathname.startsWith('/oauth2/default/')) return mount(customApp, req, res, '/oauth2/default');
    return mount(orgApp, req, res);
  };
  return { handler };
}
