// Microsoft Entra ID: one directory whose issuer is {origin}/{tenant ID}/v2.0,
// served at login.microsoftonline.com's paths for any way of naming it:
// /{tenant}/oauth2/v2.0/devicecode, /token, /authorize, /logout,
// /{tenant}/discovery/v2.0/keys, /{tenant}/v2.0/.well-known/openid-configuration,
// where {tenant} is the tenant ID, its domain, organizations or common; any
// other answers 400 as Entra does (AADSTS90002 for a tenant it does not
// know, AADSTS900023 for a name that is no tenant at all). The discovery
// document is written in Entra's shape: for organizations and common the
// issuer is literally {origin}/{tenantid}/v2.0, a template, and the
// endpoints stay under the alias; for the ID or the domain, the concrete
// issuer and endpoints under the ID. Tokens always carry the concrete
// issuer. Claims: tid, oid, a pairwise sub (per app, unlike oid),
// preferred_username (the UPN), name, email, groups (object IDs), ver.
// The device response carries `message` and no verification_uri_complete;
// the verification page is /devicelogin. Errors are HTTP 400 with Entra's
// members (error_codes, timestamp, trace_id, correlation_id, error_uri) and
// AADSTS codes in the description; access_denied becomes
// authorization_declined and an unknown device code bad_verification_code.
// No revocation endpoint; refresh rotates.
//
// POST /_peer/foreign-tenant?count=N makes the next N ID tokens carry
// another tenant's ID in tid while their iss stays this tenant's: correctly
// signed tokens that fail an issuer template check.

import crypto from 'node:crypto';

import {
  GT_DEVICE, attach, control, fullName, login, mount, newProvider, newState, opts, redirect, send,
} from '../common.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Group object IDs, as Entra's groups claim carries them.
const groupIDs = {
  admins: 'a1f3c5e7-1b2d-4c6e-8f0a-2b4d6f8a0c1e',
  dev: 'd2e4f6a8-3c5e-4f7a-9b1c-3d5f7b9d1f2a',
};

// aadError is an Entra error answer: code is the AADSTS number.
function aadError(error, code, text) {
  const now = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  return {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${now}`,
    error_codes: [code],
    timestamp: now,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  };
}

// Entra's answers for the errors oidc-provider gives: [error, AADSTS number,
// text], on device-code polls and elsewhere.
const deviceErrors = {
  authorization_pending: ['authorization_pending', 70016, 'The provided request has not yet been authorized by the user. The user must input their code.'],
  slow_down: ['slow_down', 70016, 'The provided request has not yet been authorized by the user. The user must input their code.'],
  access_denied: ['authorization_declined', 65004, 'User declined to consent to access the app.'],
  expired_token: ['expired_token', 70019, 'Verification code expired.'],
  invalid_grant: ['bad_verification_code', 70018, 'Invalid verification code due to User typing in wrong user code for device code flow. Authorization isn\'t approved.'],
};
const otherErrors = {
  invalid_grant: ['invalid_grant', 50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.'],
  invalid_client: ['unauthorized_client', 700016, `Application with identifier '{client}' was not found in the directory '${opts.entraDomain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`],
  invalid_scope: ['invalid_scope', 70011, 'The provided value for the input parameter \'scope\' is not valid.'],
};

export default async function entra({ origin }) {
  const tid = opts.entraTenant;
  const clientId = opts.clients.entra;
  const state = newState('entra');
  state.tenants = true;
  const provider = await newProvider(`${origin}/${tid}/v2.0`, {
    clients: [{ client_id: clientId }],
    claims: {
      openid: ['sub', 'tid', 'oid', 'ver', 'groups'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    // A pairwise subject: the same user has another sub in another app.
    sub: (u) => crypto.createHash('sha256').update(`${u.entraOid}|${clientId}`).digest('base64url'),
    shape: (u, use) => {
      let t = tid;
      if (use === 'id_token' && state.foreignTenant > 0) {
        state.foreignTenant--;
        t = opts.entraOtherTenant;
      }
      return {
        tid: t,
        oid: u.entraOid,
        ver: '2.0',
        name: fullName(u),
        preferred_username: `${login(u)}@${opts.entraDomain}`,
        email: u.email,
        ...(u.groups.length && { groups: u.groups.map((g) => groupIDs[g]) }),
      };
    },
    routes: {
      authorization: '/oauth2/v2.0/authorize',
      device_authorization: '/oauth2/v2.0/devicecode',
      code_verification: '/oauth2/deviceauth',
      token: '/oauth2/v2.0/token',
      userinfo: '/oidc/userinfo',
      end_session: '/oauth2/v2.0/logout',
      jwks: '/discovery/v2.0/keys',
    },
    revocation: false,
    userCodeMask: '*********',
  });
  attach(state, provider, {
    after(ctx, form) {
      const route = ctx.oidc?.route;
      if (route === 'device_authorization' && ctx.status === 200) {
        delete ctx.body.verification_uri_complete;
        ctx.body.verification_uri = `${origin}/devicelogin`;
        ctx.body.message = `To sign in, use a web browser to open the page ${ctx.body.verification_uri} and enter the code ${ctx.body.user_code} to authenticate.`;
      }
      if (route === 'token' && ctx.status === 200) ctx.body.ext_expires_in = ctx.body.expires_in;
      const err = ctx.body?.error;
      if (!err || (route !== 'token' && route !== 'device_authorization')) return;
      const device = route === 'token' && form.get('grant_type') === GT_DEVICE;
      const [name, code, text] = (device && deviceErrors[err]) || otherErrors[err]
        || [err, 90000, ctx.body.error_description || 'The request failed.'];
      ctx.status = 400;
      ctx.body = aadError(name, code, text.replace('{client}', form.get('client_id') || ''));
    },
  });
  const callback = provider.callback();

  // The discovery document for tenant, in Entra's shape.
  const discovery = (tenant) => {
    const alias = tenant === 'organizations' || tenant === 'common';
    const base = `${origin}/${alias ? tenant : tid}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${origin}/${alias ? '{tenantid}' : tid}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${origin}/${tid}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: alias ? null : 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  };

  const handler = async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (url.pathname === '/devicelogin') return redirect(res, `${origin}/${tid}/oauth2/deviceauth`);
    const [, tenant = ''] = url.pathname.split('/');
    const known = tenant === tid || tenant.toLowerCase() === opts.entraDomain || tenant === 'organizations' || tenant === 'common';
    if (!known) {
      if (GUID.test(tenant) || tenant.includes('.')) {
        return send(res, 400, aadError('invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`));
      }
      return send(res, 400, aadError('invalid_request', 900023, `Specified tenant identifier '${tenant}' is neither a valid DNS name, nor a valid external domain.`));
    }
    if (url.pathname === `/${tenant}/v2.0/.well-known/openid-configuration`) return send(res, 200, discovery(tenant));
    return mount(callback, req, res, `/${tenant}`);
  };
  return { handler };
}
