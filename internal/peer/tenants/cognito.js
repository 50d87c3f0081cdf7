// Amazon Cognito: the user pool domain (/oauth2/…), issuing Cognito's
// claims (cognito:username and cognito:groups in the ID token; username and
// a string email_verified in userInfo), refresh without rotation and
// without a new refresh token, revocation of refresh tokens only
// (unsupported_token_type for an access token, which dies with its refresh
// token). Its own device flow is reachable only by the device-grant service.
//
// The device-grant service (aws-samples/cognito-device-grant-flow,
// Modules/token-path.js) in front of it: POST /token?client_id=… for codes,
// POST /token?client_id=…&device_code=…&grant_type=… to poll; every error a
// 400 with authorization_pending, slow_down, denied or expired_token; an
// unknown client an empty 401, anything else an empty 405. Where the sample
// sends the user through the hosted UI and redeems an authorization code,
// this one runs the user pool's device flow on the user's behalf: its
// /device page leads to the user pool's sign-in, and it relays the user
// pool's tokens.

import crypto from 'node:crypto';

import {
  GT_DEVICE, alwaysRefresh, attach, control, expiresIn, fullName, login, newProvider, newState, opts, readBody,
  redirect, send, serveProvider,
} from '../common.js';

export async function cognito({ origin }) {
  const pool = opts.userPoolId;
  const provider = await newProvider(`${origin}/${pool}`, {
    clients: [{ client_id: opts.clients.cognito }],
    claims: {
      openid: ['sub', 'cognito:username', 'cognito:groups', 'token_use', 'username'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => u.id,
    shape: (u, use) => {
      const username = login(u);
      if (use === 'userinfo') {
        return { username, name: fullName(u), email: u.email, email_verified: 'true' };
      }
      return {
        'cognito:username': username, 'cognito:groups': u.groups, token_use: 'id',
        name: fullName(u), email: u.email, email_verified: true,
      };
    },
    routes: {
      authorization: '/oauth2/authorize',
      device_authorization: '/_device/code',
      code_verification: '/_device',
      token: '/oauth2/token',
      userinfo: '/oauth2/userInfo',
      revocation: '/oauth2/revoke',
      end_session: '/logout',
      jwks: `/${pool}/.well-known/jwks.json`,
    },
    rotateRefreshToken: () => false,
    issueRefreshToken: alwaysRefresh,
  });
  const accessTokens = new Set(); // every one issued: Cognito revokes refresh tokens only
  const state = attach(newState('cognito'), provider, {
    before(ctx, form) {
      if (ctx.method === 'POST' && ctx.path === '/oauth2/revoke' && accessTokens.has(form.get('token'))) {
        ctx.status = 400;
        ctx.body = { error: 'unsupported_token_type' };
        return true;
      }
      return false;
    },
    after(ctx, form) {
      if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
      accessTokens.add(ctx.body.access_token);
      if (form.get('grant_type') === 'refresh_token') delete ctx.body.refresh_token;
    },
  });
  return { handler: serveProvider(state, provider) };
}

export function device({ origin, cognitoOrigin }) {
  const codes = new Map();
  const state = newState('device');
  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    const q = url.searchParams;
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (req.method === 'GET' && url.pathname === '/device') {
      const code = q.get('code');
      return redirect(res, `${cognitoOrigin}/_device${code ? `?user_code=${encodeURIComponent(code)}` : ''}`);
    }
    if (req.method !== 'POST' || url.pathname !== '/token') return send(res, 405);
    await readBody(req); // parameters come in the query string only
    if (q.get('client_id') !== opts.clients.cognito) return send(res, 401);
    const upstream = (path, form) => fetch(cognitoOrigin + path, { method: 'POST', body: new URLSearchParams(form) });

    if (!q.get('device_code') && !q.get('grant_type')) {
      const r = await upstream('/_device/code', { client_id: q.get('client_id'), scope: q.get('scope') || 'openid' });
      if (!r.ok) return send(res, 500);
      const d = await r.json();
      const deviceCode = crypto.randomBytes(24).toString('base64url');
      codes.set(deviceCode, { upstream: d.device_code, expires: Date.now() + opts.deviceCodeTTL * 1000, status: 'authorization_pending' });
      return send(res, 200, {
        device_code: deviceCode,
        user_code: d.user_code,
        verification_uri: `${origin}/device`,
        verification_uri_complete: `${origin}/device?code=${encodeURIComponent(d.user_code)}&authorize=true`,
        interval: opts.interval,
        expires_in: expiresIn(),
      });
    }
    if (!q.get('device_code') || q.get('grant_type') !== GT_DEVICE) return send(res, 405);

    state.polls++;
    const entry = codes.get(q.get('device_code'));
    if (!entry || entry.status === 'expired') return send(res, 400, { error: 'expired_token' });
    if (Date.now() > entry.expires) {
      entry.status = 'expired';
      return send(res, 400, { error: 'expired_token' });
    }
    if (state.slowDown > 0) {
      state.slowDown--;
      return send(res, 400, { error: 'slow_down' });
    }
    const r = await upstream('/oauth2/token', { grant_type: GT_DEVICE, device_code: entry.upstream, client_id: q.get('client_id') });
    const b = await r.json();
    if (r.ok) {
      entry.status = 'expired'; // a device code gives tokens once
      return send(res, 200, {
        id_token: b.id_token, access_token: b.access_token, refresh_token: b.refresh_token, expires_in: b.expires_in,
      });
    }
    if (b.error === 'authorization_pending' || b.error === 'slow_down') return send(res, 400, { error: 'authorization_pending' });
    if (b.error === 'access_denied') return send(res, 400, { error: 'denied' });
    return send(res, 400, { error: 'expired_token' });
  };
  return { handler };
}
