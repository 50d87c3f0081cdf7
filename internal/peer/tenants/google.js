// Google: one oidc-provider on two origins, as accounts.google.com and
// oauth2.googleapis.com:
//
//   google      the issuer (the origin, no trailing slash), discovery at
//               /.well-known/openid-configuration naming the other origin's
//               endpoints, /o/oauth2/v2/auth, and the verification page
//               /device (www.google.com/device).
//   googleAPIs  /device/code, /token, /revoke, /v1/userinfo
//               (openidconnect.googleapis.com) and /oauth2/v3/certs
//               (www.googleapis.com).
//
// The client is a "TVs and Limited Input devices" client with a secret
// (client_secret_post): a device request without it answers 401
// invalid_client. Only openid, email and profile may be asked for (also as
// https://www.googleapis.com/auth/userinfo.email and .profile); any other
// scope answers 400 invalid_scope. The device response says
// verification_url, not verification_uri, and has no
// verification_uri_complete. Polls answer authorization_pending 428,
// slow_down 403, access_denied 403, expired_token 400. Google has no
// offline_access scope but issues refresh tokens: the shim asks upstream
// for offline_access. A refresh returns neither a new refresh token (the old
// one stays valid) nor an ID token. Revocation (RFC 7009) takes the token in
// the form or the query string, needs no client authentication and ends
// the whole grant.

import {
  attach, control, fullName, mount, newProvider, newState, opts, send,
} from '../common.js';

const SCOPE_URL = 'https://www.googleapis.com/auth/userinfo.';
// The scopes a device may ask for, by any of Google's names, and their
// upstream names.
const allowed = {
  openid: 'openid',
  email: 'email',
  profile: 'profile',
  [`${SCOPE_URL}email`]: 'email',
  [`${SCOPE_URL}profile`]: 'profile',
};
// Google's token answers name scopes so.
const answered = { openid: 'openid', email: `${SCOPE_URL}email`, profile: `${SCOPE_URL}profile` };
const statuses = {
  authorization_pending: [428, 'Precondition Required'],
  slow_down: [403, 'Forbidden'],
  access_denied: [403, 'Forbidden'],
  expired_token: [400, 'Bad Request'],
};
// Paths of the googleapis.com origin; the accounts origin serves the rest.
const apiPaths = new Set(['/device/code', '/token', '/revoke', '/v1/userinfo', '/oauth2/v3/certs']);

export default async function google({ origin, apiOrigin }) {
  const clientId = opts.clients.google;
  const provider = await newProvider(origin, {
    clients: [{ client_id: clientId, client_secret: opts.secrets.google, token_endpoint_auth_method: 'client_secret_post' }],
    claims: {
      openid: ['sub', 'azp'],
      profile: ['name', 'given_name', 'family_name', 'picture'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => u.googleId,
    shape: (u, use) => ({
      ...(use === 'id_token' && { azp: clientId }),
      name: fullName(u),
      given_name: u.given,
      family_name: u.family,
      picture: `https://lh3.googleusercontent.com/a/${u.googleId}=s96-c`,
      email: u.email,
      email_verified: true,
    }),
    routes: {
      authorization: '/o/oauth2/v2/auth',
      device_authorization: '/device/code',
      code_verification: '/device',
      token: '/token',
      userinfo: '/v1/userinfo',
      revocation: '/revoke',
      jwks: '/oauth2/v3/certs',
    },
    rotateRefreshToken: () => false,
  });
  const state = attach(newState('google'), provider, {
    async before(ctx, form, st) {
      if (ctx.method !== 'POST') return false;
      if (ctx.path === '/device/code') {
        const basic = /^basic /i.test(ctx.get('authorization'));
        if (form.get('client_id') === clientId && !form.get('client_secret') && !basic) {
          ctx.status = 401;
          ctx.body = { error: 'invalid_client', error_description: 'client_secret is missing.' };
          return true;
        }
        const scopes = (form.get('scope') || '').split(' ').filter(Boolean);
        if (!scopes.length) {
          ctx.status = 400;
          ctx.body = { error: 'invalid_request', error_description: 'Missing required parameter: scope' };
          return true;
        }
        const invalid = scopes.filter((s) => !allowed[s]);
        if (invalid.length) {
          ctx.status = 400;
          ctx.body = {
            error: 'invalid_scope',
            error_description: `Some requested scopes were invalid. {valid=[${scopes.filter((s) => allowed[s]).join(', ')}], invalid=[${invalid.join(', ')}]}`,
          };
          return true;
        }
        form.set('scope', [...new Set([...scopes.map((s) => allowed[s]), 'offline_access'])].join(' '));
        ctx.req.body = form.toString();
        return false;
      }
      if (ctx.path === '/revoke') {
        st.revocations++;
        const value = ctx.query.token || form.get('token') || '';
        const token = await provider.RefreshToken.find(value) || await provider.AccessToken.find(value);
        ctx.set('cache-control', 'no-store');
        if (!token || token.isExpired || token.consumed) {
          ctx.status = 400;
          ctx.body = { error: 'invalid_token', error_description: 'Token expired or revoked' };
          return true;
        }
        await token.destroy();
        if (token.grantId) await provider.Grant.adapter.revokeByGrantId(token.grantId);
        ctx.status = 200;
        ctx.body = {};
        return true;
      }
      return false;
    },
    after(ctx, form) {
      const route = ctx.oidc?.route;
      if (route === 'discovery') {
        Object.assign(ctx.body, {
          issuer: origin,
          authorization_endpoint: `${origin}/o/oauth2/v2/auth`,
          device_authorization_endpoint: `${apiOrigin}/device/code`,
          token_endpoint: `${apiOrigin}/token`,
          userinfo_endpoint: `${apiOrigin}/v1/userinfo`,
          revocation_endpoint: `${apiOrigin}/revoke`,
          jwks_uri: `${apiOrigin}/oauth2/v3/certs`,
          code_challenge_methods_supported: ['plain', 'S256'],
        });
      }
      if (route === 'device_authorization') {
        if (ctx.status === 200) {
          const { device_code, user_code, expires_in, interval } = ctx.body;
          ctx.body = { device_code, user_code, expires_in, interval, verification_url: `${origin}/device` };
        } else if (ctx.body?.error === 'invalid_client') {
          ctx.body = { error: 'invalid_client', error_description: 'Unauthorized' };
        }
      }
      if (route !== 'token') return;
      const err = ctx.body?.error;
      if (err && statuses[err]) {
        [ctx.status] = statuses[err];
        ctx.body = { error: err, error_description: statuses[err][1] };
      }
      if (ctx.status !== 200) return;
      ctx.body.scope = ctx.body.scope?.split(' ').filter((s) => answered[s]).map((s) => answered[s]).join(' ');
      if (form.get('grant_type') === 'refresh_token') {
        delete ctx.body.refresh_token;
        delete ctx.body.id_token;
      }
    },
  });
  const callback = provider.callback();
  const serve = (api) => async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (apiPaths.has(url.pathname) !== api) return send(res, 404, { error: 'not_found' });
    return mount(callback, req, res);
  };
  return { handler: serve(false), apiHandler: serve(true) };
}
