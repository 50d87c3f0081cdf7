// GitHub: not OpenID. Two origins, as github.com and api.github.com:
//
//   github  POST /login/device/code and POST /login/oauth/access_token, GET
//           /login/device (the verification page, which leads to the
//           upstream's code page). A private oidc-provider under /_op does
//           the work; the shim turns its answers into GitHub's: HTTP 200 for
//           every token answer with the error in the body (error,
//           error_description, error_uri), form-encoded unless the request
//           accepts application/json, slow_down with an interval 5 s longer
//           than the device's current one, GitHub's error names
//           (incorrect_client_credentials, incorrect_device_code,
//           bad_refresh_token, unsupported_grant_type), no id_token. The
//           tokens of client github are a GitHub App's expiring user
//           tokens: ghu_ access tokens with expires_in, ghr_ refresh tokens
//           with refresh_token_expires_in, rotated on refresh; those of
//           client github-oauth-app an OAuth App's gho_ tokens, without
//           expires_in or refresh token, valid until revoked. The scopes asked
//           for (read:user user:email) are GitHub's; upstream asks for openid
//           profile email offline_access. No revocation endpoint.
//   api     GET /user with "Authorization: Bearer|token <token>": the user's
//           login, numeric id, name, email (null when private) and the rest
//           of the REST API's answer; 401 {"message":"Bad credentials"}
//           otherwise.

import {
  GT_DEVICE, alwaysRefresh, attach, control, expiresIn, formOf, fullName, login, mount, newProvider, newState, opts,
  redirect, send, users,
} from '../common.js';

const DOCS = 'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow';
const CREDENTIALS_DOCS = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials';
const REFRESH_TTL = 15811200; // six months, GitHub's refresh_token_expires_in
const errors = {
  authorization_pending: 'The authorization request is still pending.',
  slow_down: 'Too many requests have been made in the same timeframe.',
  expired_token: 'The device_code has expired.',
  access_denied: 'The authorization request was denied.',
  unsupported_grant_type: 'The grant type is not supported.',
  incorrect_client_credentials: 'The client_id is not valid.',
  incorrect_device_code: 'The device_code provided is not valid.',
};

// answer sends body as GitHub does: JSON when the request accepts it, else
// form-encoded.
function answer(req, res, body, status = 200) {
  if (/application\/json/.test(req.headers.accept || '')) return send(res, status, body);
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) form.set(k, String(v));
  res.writeHead(status, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'cache-control': 'no-store' });
  return res.end(form.toString());
}

const oauthApp = (clientId) => clientId === opts.clients['github-oauth-app'];
const known = (clientId) => clientId === opts.clients.github || oauthApp(clientId);

const failure = (error, extra = {}) => ({
  error,
  error_description: errors[error],
  error_uri: error === 'incorrect_client_credentials' ? CREDENTIALS_DOCS : DOCS,
  ...extra,
});

export default async function github({ origin, apiOrigin }) {
  const prefix = '/_op';
  const provider = await newProvider(origin + prefix, {
    clients: [{ client_id: opts.clients.github }, { client_id: opts.clients['github-oauth-app'] }],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
    sub: (u) => String(u.githubId),
    shape: (u) => ({ name: fullName(u), preferred_username: login(u), email: u.email }),
    routes: {
      authorization: '/authorize',
      device_authorization: '/device/code',
      code_verification: '/device',
      token: '/token',
      userinfo: '/userinfo',
      jwks: '/jwks',
    },
    revocation: false,
    ttl: {
      RefreshToken: REFRESH_TTL,
      // An OAuth App's token lives until revoked: a year here.
      AccessToken: (_ctx, _token, client) => (oauthApp(client.clientId) ? 365 * 24 * 3600 : opts.accessTokenTTL),
    },
    issueRefreshToken: alwaysRefresh,
  });
  const state = newState('github');
  state.noIDTokens = true;
  // gho_, ghu_ and ghr_ tokens are the upstream's with GitHub's prefixes.
  state.strip = (v) => v.replace(/^gh[our]_/, '');
  state.providers.push(provider); // for the token lookup
  // The upstream gets a state of its own: what devices see is counted and
  // slowed down at GitHub's paths, below.
  attach(newState('github upstream'), provider);
  const callback = provider.callback();
  const intervals = new Map(); // device_code → the interval the device polls at

  const upstream = async (path, form) => {
    const r = await fetch(`${origin}${prefix}${path}`, { method: 'POST', body: new URLSearchParams(form) });
    return { ok: r.ok, body: await r.json() };
  };
  const tokens = (b, client) => (oauthApp(client) ? {
    access_token: `gho_${b.access_token}`,
    scope: 'read:user,user:email',
    token_type: 'bearer',
  } : {
    access_token: `ghu_${b.access_token}`,
    expires_in: b.expires_in,
    refresh_token: `ghr_${b.refresh_token}`,
    refresh_token_expires_in: REFRESH_TTL,
    scope: '',
    token_type: 'bearer',
  });

  async function deviceCode(req, res, form) {
    if (!known(form.get('client_id'))) return answer(req, res, failure('incorrect_client_credentials'));
    const r = await upstream('/device/code', { client_id: form.get('client_id'), scope: 'openid profile email offline_access' });
    if (!r.ok) return answer(req, res, r.body, 500);
    intervals.set(r.body.device_code, opts.interval);
    return answer(req, res, {
      device_code: r.body.device_code,
      user_code: r.body.user_code,
      verification_uri: `${origin}/login/device`,
      expires_in: expiresIn(),
      interval: opts.interval,
    });
  }

  async function poll(req, res, form) {
    state.polls++;
    const code = form.get('device_code') || '';
    const r = await upstream('/token', { grant_type: GT_DEVICE, device_code: code, client_id: form.get('client_id') });
    if (r.ok) return answer(req, res, tokens(r.body, form.get('client_id')));
    if (r.body.error === 'authorization_pending' && state.slowDown > 0) {
      state.slowDown--;
      const interval = (intervals.get(code) ?? opts.interval) + 5;
      intervals.set(code, interval);
      return answer(req, res, failure('slow_down', { interval }));
    }
    const named = {
      authorization_pending: 'authorization_pending',
      access_denied: 'access_denied',
      expired_token: 'expired_token',
      invalid_client: 'incorrect_client_credentials',
    }[r.body.error] || 'incorrect_device_code';
    return answer(req, res, failure(named));
  }

  async function refresh(req, res, form) {
    state.refreshes++;
    const secret = form.get('client_secret');
    if (secret !== null && secret !== opts.secrets.github) {
      return answer(req, res, {
        error: 'incorrect_client_credentials',
        error_description: 'The client_id and/or client_secret passed are incorrect.',
        error_uri: CREDENTIALS_DOCS,
      });
    }
    const rt = form.get('refresh_token') || '';
    const r = rt.startsWith('ghr_')
      ? await upstream('/token', { grant_type: 'refresh_token', refresh_token: state.strip(rt), client_id: form.get('client_id') })
      : { ok: false, body: {} };
    if (r.ok) return answer(req, res, tokens(r.body, form.get('client_id')));
    return answer(req, res, { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.', error_uri: DOCS });
  }

  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (url.pathname.startsWith(`${prefix}/`)) return mount(callback, req, res, prefix);
    if (req.method === 'GET' && url.pathname === '/login/device') return redirect(res, `${origin}${prefix}/device`);
    if (req.method !== 'POST') return send(res, 404, { message: 'Not Found' });
    const form = await formOf(req, url);
    if (url.pathname === '/login/device/code') return deviceCode(req, res, form);
    if (url.pathname !== '/login/oauth/access_token') return send(res, 404, { message: 'Not Found' });
    if (!known(form.get('client_id'))) return answer(req, res, failure('incorrect_client_credentials'));
    if (form.get('grant_type') === GT_DEVICE) return poll(req, res, form);
    if (form.get('grant_type') === 'refresh_token') return refresh(req, res, form);
    return answer(req, res, failure('unsupported_grant_type'));
  };

  // The REST API's GET /user, for the access token's user.
  const apiHandler = async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (req.method !== 'GET' || url.pathname !== '/user') {
      return send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    }
    const m = /^(?:bearer|token)\s+(\S+)$/i.exec(req.headers.authorization || '');
    const at = m && /^gh[ou]_/.test(m[1]) && await provider.AccessToken.find(state.strip(m[1]));
    const u = at && !at.isExpired && Object.values(users).find((v) => String(v.githubId) === at.accountId);
    if (!u) return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    const name = login(u);
    return send(res, 200, {
      login: name,
      id: u.githubId,
      node_id: Buffer.from(`04:User${u.githubId}`).toString('base64'),
      avatar_url: `https://avatars.githubusercontent.com/u/${u.githubId}?v=4`,
      gravatar_id: '',
      url: `${apiOrigin}/users/${name}`,
      html_url: `${origin}/${name}`,
      type: 'User',
      site_admin: false,
      name: fullName(u),
      company: null,
      blog: '',
      location: null,
      email: u.emailPublic ? u.email : null,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: 2,
      public_gists: 0,
      followers: 1,
      following: 0,
      created_at: '2020-01-01T00:00:00Z',
      updated_at: '2025-01-01T00:00:00Z',
    }, { 'x-oauth-scopes': '', 'x-github-media-type': 'github.v3; format=json' });
  };
  return { handler, apiHandler };
}
