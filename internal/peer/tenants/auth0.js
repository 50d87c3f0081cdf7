// Auth0: a tenant at Auth0's paths (issuer {url}/ with a slash); statuses
// 403 (authorization_pending, access_denied, expired_token, invalid_grant)
// and 429 (slow_down); expired_token once per device code, invalid_grant
// after; the device-code request must name the API audience.

import crypto from 'node:crypto';

import {
  attach, fullName, newProvider, newState, opts, serveProvider,
} from '../common.js';

export default async function auth0({ origin }) {
  const expiredOnce = new Set();
  const provider = await newProvider(`${origin}/`, {
    clients: [{ client_id: opts.clients.auth0 }],
    claims: {
      openid: ['sub', opts.groupsClaim],
      profile: ['name', 'nickname', 'picture', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => `auth0|${u.id.replaceAll('-', '').slice(0, 24)}`,
    shape: (u) => ({
      nickname: u.email.split('@')[0],
      name: fullName(u),
      picture: `https://s.gravatar.com/avatar/${crypto.createHash('md5').update(u.email).digest('hex')}?s=480`,
      updated_at: '2025-01-01T00:00:00.000Z',
      email: u.email,
      email_verified: true,
      [opts.groupsClaim]: u.groups,
    }),
    routes: {
      authorization: '/authorize',
      device_authorization: '/oauth/device/code',
      code_verification: '/activate',
      token: '/oauth/token',
      userinfo: '/userinfo',
      revocation: '/oauth/revoke',
      end_session: '/oidc/logout',
      jwks: '/.well-known/jwks.json',
    },
  });
  const statuses = {
    authorization_pending: 403, slow_down: 429, access_denied: 403, expired_token: 403, invalid_grant: 403,
  };
  const state = attach(newState('auth0'), provider, {
    before(ctx, form) {
      if (ctx.method !== 'POST') return false;
      if (ctx.path === '/oauth/device/code' && form.get('audience') !== opts.audience) {
        ctx.status = 403;
        ctx.body = { error: 'access_denied', error_description: `Service not found: ${form.get('audience') ?? ''}` };
        return true;
      }
      if (ctx.path === '/oauth/token' && expiredOnce.has(form.get('device_code'))) {
        ctx.status = 403;
        ctx.body = { error: 'invalid_grant', error_description: 'Invalid or expired device code.' };
        return true;
      }
      return false;
    },
    after(ctx, form) {
      const code = ctx.oidc?.route === 'token' && ctx.body?.error;
      if (!code) return;
      if (statuses[code]) ctx.status = statuses[code];
      if (code === 'expired_token') expiredOnce.add(form.get('device_code'));
    },
  });
  return { handler: serveProvider(state, provider) };
}
