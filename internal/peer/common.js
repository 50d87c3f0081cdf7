// What every tenant of the peer shares: the options, the user directory, a
// memory adapter, the oidc-provider factory, the wire-shim middleware with
// its control state, the control API and the HTTP plumbing. peer.js says
// what the tenants fake.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

export const opts = {
  realm: 'idplug',
  userPoolId: 'us-east-1_IdPlug',
  audience: 'https://api.idplug.test',
  groupsClaim: 'https://idplug.test/groups',
  clients: {
    keycloak: 'idplug-cli',
    'keycloak-pkce': 'idplug-pkce',
    auth0: 'Auth0IdplugCli',
    cognito: '1example23456789',
    gitlab: '5f3c0b2a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b',
    github: 'Iv1.8a61f9b3a7aba766', // a GitHub App with expiring user tokens
    'github-oauth-app': 'Ov23liIdplugOAuthApp', // an OAuth App: tokens that never expire
    entra: '4b0db8c2-9f26-4417-8bde-3f0e3656f8e0',
    google: '407408718192-idplugtvanddevices0000000000000.apps.googleusercontent.com',
    okta: '0oa1idplugcli0000x5d7',
  },
  secrets: {
    google: 'GOCSPX-idplug-peer-0123456789ab',
    github: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c', // a GitHub App's secret; this peer never requires it
  },
  entraTenant: '7f3c9a2e-5b1d-4e8f-a6c4-2d9b8e1f0a3c', // the directory's tenant ID
  entraDomain: 'idplug.onmicrosoft.com',
  entraOtherTenant: 'c0ffee00-1d2e-4f3a-9b8c-7d6e5f4a3b2c', // a tenant that is not ours
  interval: 1, // seconds, in device authorization responses
  accessTokenTTL: 300, // seconds, access and ID tokens
  deviceCodeTTL: 600, // seconds, Keycloak's default code lifespan
  advertisedExpiresIn: 0, // when > 0, the expires_in devices are told
  ...JSON.parse(process.argv[2] || '{}'),
};

export const GT_DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

// expiresIn is the expires_in a device is told: the advertised one when
// set, else the real lifetime.
export const expiresIn = () => (opts.advertisedExpiresIn > 0 ? opts.advertisedExpiresIn : opts.deviceCodeTTL);

// The directory: who may sign in, with the identifiers each vendor gives
// them. Each tenant shapes these into its own claims.
export const users = {
  alice: {
    id: '2c2f7d3c-9b1e-4a55-8d8e-0f6f5c3a1b2d',
    given: 'Alice', family: 'Liddell', email: 'alice@example.com', emailPublic: true,
    groups: ['admins', 'dev'], roles: ['developer'],
    githubId: 5830211, gitlabId: '1238412', googleId: '104857319927340915826',
    entraOid: '9d5e7f2a-3c1b-4a6d-8e9f-0b1c2d3e4f5a', oktaId: '00u1abcd2EFGH3ijk4l5',
  },
  bob: {
    id: '7d1e0a9f-3c4b-4d2e-9f8a-6b5c4d3e2f1a',
    given: 'Bob', family: 'Builder', email: 'bob@example.com', emailPublic: false,
    groups: [], roles: [],
    githubId: 5830212, gitlabId: '1238413', googleId: '117392845610293847561',
    entraOid: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', oktaId: '00u9wxyz8STUV7mno6p5',
  },
};
export const login = (u) => Object.keys(users).find((k) => users[k] === u);
export const fullName = (u) => `${u.given} ${u.family}`;

// newKey makes an RSA signing key on libuv's thread pool.
export function newKey() {
  return new Promise((resolve, reject) => {
    crypto.generateKeyPair('rsa', { modulusLength: 2048 }, (err, _pub, privateKey) => {
      if (err) return reject(err);
      return resolve({ ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' });
    });
  });
}

// A memory adapter that keeps everything for the life of the process, so
// that an expired device code is still found and answered expired_token
// (oidc-provider checks expiry itself) as the real services answer it.
function memoryAdapter() {
  const store = new Map();
  return class {
    constructor(name) { this.name = name; }

    key(id) { return `${this.name}:${id}`; }

    async upsert(id, payload) {
      store.set(this.key(id), payload);
      if (payload.userCode) store.set(this.key(`userCode:${payload.userCode}`), id);
      if (payload.uid) store.set(this.key(`uid:${payload.uid}`), id);
    }

    async find(id) { return store.get(this.key(id)); }

    async findByUserCode(code) { return this.find(store.get(this.key(`userCode:${code}`))); }

    async findByUid(uid) { return this.find(store.get(this.key(`uid:${uid}`))); }

    async consume(id) {
      const p = store.get(this.key(id));
      if (p) p.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) { store.delete(this.key(id)); }

    async revokeByGrantId(grantId) {
      for (const [k, v] of store) if (v?.grantId === grantId) store.delete(k);
    }
  };
}

// newProvider makes one oidc-provider instance:
//   t.clients    client metadata; public device-grant clients by default
//   t.claims     scope → claims;  t.scopes  extra scopes
//   t.sub(user), t.shape(user, use)  the subject and claims it emits
//   t.routes     its paths (end_session only where the vendor has one)
//   t.revocation false where the vendor has no RFC 7009 endpoint
//   t.userCodeMask, t.cookiePrefix, t.ttl, t.rotateRefreshToken,
//   t.issueRefreshToken
export async function newProvider(issuer, t) {
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: t.clients.map((c) => ({
      token_endpoint_auth_method: 'none',
      grant_types: [GT_DEVICE, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
      ...c,
    })),
    jwks: { keys: [await newKey()] },
    cookies: {
      keys: [crypto.randomBytes(16).toString('hex')],
      // Two instances on one origin (Okta's) keep their cookies apart.
      ...(t.cookiePrefix && {
        names: { session: `${t.cookiePrefix}_session`, interaction: `${t.cookiePrefix}_interaction`, resume: `${t.cookiePrefix}_interaction_resume` },
      }),
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true, ...(t.userCodeMask && { mask: t.userCodeMask }) },
      revocation: { enabled: t.revocation ?? true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: Boolean(t.routes.end_session) },
    },
    conformIdTokenClaims: false, // scope claims in the ID token, as the vendors do
    scopes: ['openid', 'offline_access', 'profile', 'email', ...(t.scopes || [])],
    claims: t.claims,
    // Accounts are known by the provider's subject (oidc-provider puts the
    // accountId in sub); the sign-in page takes login names, see below.
    findAccount: (_ctx, id) => {
      const u = Object.values(users).find((v) => t.sub(v) === id);
      return u && { accountId: id, claims: async (use) => ({ sub: id, ...t.shape(u, use) }) };
    },
    ttl: {
      AccessToken: opts.accessTokenTTL,
      IdToken: opts.accessTokenTTL,
      DeviceCode: opts.deviceCodeTTL,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
      ...t.ttl,
    },
    routes: t.routes,
    rotateRefreshToken: t.rotateRefreshToken ?? (() => true),
    ...(t.issueRefreshToken && { issueRefreshToken: t.issueRefreshToken }),
  });
  // The development sign-in page takes any login: a user's name becomes
  // the subject this provider knows the user by.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path.startsWith('/interaction/') && typeof ctx.req.body === 'string') {
      const form = new URLSearchParams(ctx.req.body);
      if (form.get('prompt') === 'login' && users[form.get('login')]) {
        form.set('login', t.sub(users[form.get('login')]));
        ctx.req.body = form.toString();
      }
    }
    return next();
  });
  return provider;
}

// Always issue a refresh token, offline_access or not (GitLab, Cognito,
// GitHub's upstream).
export const alwaysRefresh = async (_ctx, client) => client.grantTypeAllowed('refresh_token');

// newState is a tenant's control state: what the control API changes and
// counts. Several providers (Okta's two servers) and origins (Google's two,
// GitHub's two) may share one.
export function newState(name) {
  return {
    name, providers: [], slowDown: 0, breakIDTokens: false, foreignTenant: 0, polls: 0, refreshes: 0, revocations: 0,
  };
}

// attach wires provider to state and to its wire shim: shim.before(ctx,
// form, state) runs first and ends the request when it returns true;
// shim.after(ctx, form, state) rewrites the answer. In between, the common
// part: `interval` added to device authorization responses (oidc-provider
// omits it), expires_in replaced when advertisedExpiresIn is set, polls and
// refreshes counted, authorization_pending turned into slow_down on
// request, ID tokens tampered with on request, revocations counted.
export function attach(state, provider, shim = {}) {
  state.providers.push(provider);
  provider.use(async (ctx, next) => {
    const form = new URLSearchParams(typeof ctx.req.body === 'string' ? ctx.req.body : '');
    if (shim.before && await shim.before(ctx, form, state)) return;
    await next();
    const route = ctx.oidc?.route;
    if (route === 'device_authorization' && ctx.status === 200) {
      ctx.body.interval = opts.interval;
      if (opts.advertisedExpiresIn > 0) ctx.body.expires_in = opts.advertisedExpiresIn;
    }
    if (route === 'token') {
      if (form.get('grant_type') === GT_DEVICE) state.polls++;
      if (form.get('grant_type') === 'refresh_token') state.refreshes++;
      if (ctx.body?.error === 'authorization_pending' && state.slowDown > 0) {
        state.slowDown--;
        ctx.body = { error: 'slow_down', error_description: 'polling too fast' };
      }
      if (ctx.status === 200 && ctx.body?.id_token && state.breakIDTokens) {
        ctx.body.id_token = tamper(ctx.body.id_token);
      }
    }
    if (route === 'revocation') state.revocations++;
    if (shim.after) await shim.after(ctx, form, state);
  });
  return state;
}

// tamper changes the ID token's subject and keeps the signature, which no
// longer matches.
function tamper(jwt) {
  const [h, p, s] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.sub = 'mallory';
  return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
}

// pkce checks RFC 7636 parameters the way Keycloak does on the device grant
// (AuthorizationEndpointChecker at the device endpoint, PkceUtils at the
// token endpoint), with Keycloak's error descriptions.
export const pkce = {
  // challengeError checks a device authorization request's parameters;
  // required is the client's "PKCE Method" (S256) or undefined.
  challengeError(form, required) {
    const challenge = form.get('code_challenge');
    let method = form.get('code_challenge_method');
    if (required) {
      if (!method) return 'Missing parameter: code_challenge_method';
      if (method !== required) return 'Invalid parameter: code_challenge_method';
      if (!challenge) return 'Missing parameter: code_challenge';
    } else {
      if (!challenge) return method ? 'Missing parameter: code_challenge' : undefined;
      method ||= 'plain';
      if (method !== 'plain' && method !== 'S256') return 'Invalid parameter: code_challenge_method';
    }
    if (!/^[0-9a-zA-Z\-._~]{43,128}$/.test(challenge)) return 'Invalid parameter: code_challenge';
    return undefined;
  },
  // verifierError checks a poll's code_verifier against the stored
  // {challenge, method}, or a verifier sent without a challenge.
  verifierError(verifier, stored) {
    if (!stored) return verifier ? 'PKCE code verifier specified but challenge not present in authorization' : undefined;
    if (!verifier) return 'PKCE code verifier not specified';
    if (!/^[0-9a-zA-Z\-._~]{43,128}$/.test(verifier)) return 'PKCE verification failed: Invalid code verifier';
    const derived = stored.method === 'S256' ? crypto.createHash('sha256').update(verifier).digest('base64url') : verifier;
    return derived === stored.challenge ? undefined : 'PKCE verification failed: Code mismatch';
  },
};

export async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

export function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

export function redirect(res, location, status = 302) {
  res.writeHead(status, { location });
  res.end();
}

// findToken finds an access or refresh token value at any of the state's
// providers; strip removes a vendor's prefix (GitHub's gho_, ghu_ and ghr_).
async function findToken(state, value) {
  const v = state.strip ? state.strip(value) : value;
  for (const p of state.providers) {
    const found = await p.RefreshToken.find(v) || await p.AccessToken.find(v);
    if (found) return found;
  }
  return undefined;
}

// control answers /_peer/…: POST slow-down?count=N (the next N pending polls
// answer slow_down), POST break-id-tokens, POST foreign-tenant?count=N
// (Entra: the next N ID tokens name another tenant in tid), GET stats, GET
// token?value=… (whether a refresh or access token is still active at the
// provider).
export async function control(state, req, res, url) {
  const count = Number(url.searchParams.get('count') || 1);
  switch (`${req.method} ${url.pathname}`) {
    case 'POST /_peer/slow-down':
      state.slowDown += count;
      return send(res, 200, {});
    case 'POST /_peer/break-id-tokens':
      if (state.noIDTokens) return send(res, 404, { error: `${state.name} issues no ID tokens` });
      state.breakIDTokens = true;
      return send(res, 200, {});
    case 'POST /_peer/foreign-tenant':
      if (!state.tenants) return send(res, 404, { error: `${state.name} has no tenants` });
      state.foreignTenant += count;
      return send(res, 200, {});
    case 'GET /_peer/stats':
      return send(res, 200, { polls: state.polls, refreshes: state.refreshes, revocations: state.revocations });
    case 'GET /_peer/token': {
      const found = await findToken(state, url.searchParams.get('value') || '');
      return send(res, 200, { active: Boolean(found && !found.isExpired && !found.consumed) });
    }
    default:
      return send(res, 404, { error: 'no such control' });
  }
}

// listen serves handler on a free port of 127.0.0.1 and returns its origin.
export function listen(handler) {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(err) });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

// mount hands req to a provider's app as if mounted at prefix (stripped,
// as a framework's mount would: oidc-provider then builds its URLs with
// it), after reading a POST body, which the shims read too.
export async function mount(callback, req, res, prefix = '') {
  if (req.method === 'POST' && req.body === undefined) req.body = await readBody(req);
  if (prefix) {
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
  }
  return callback(req, res);
}

// serveProvider serves a tenant's provider under prefix, and the control
// API.
export function serveProvider(state, provider, prefix = '') {
  const callback = provider.callback();
  return async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (prefix && !url.pathname.startsWith(`${prefix}/`)) return send(res, 404, { error: 'not found' });
    return mount(callback, req, res, prefix);
  };
}

// normalizeUserCode is oidc-provider's user code normalization.
export const normalizeUserCode = (input) => input.toUpperCase().replace(/\W/g, '');

// formOf reads a request's parameters: the query string, then a form or
// JSON body (GitHub and Google take either).
export async function formOf(req, url) {
  const params = new URLSearchParams(url.search);
  const body = req.method === 'POST' ? await readBody(req) : '';
  if (/json/.test(req.headers['content-type'] || '')) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(body || '{}'))) params.set(k, String(v));
    } catch { /* an unreadable body has no parameters */ }
  } else {
    for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
  }
  return params;
}

// page is a plain HTML page.
export function page(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`);
}
