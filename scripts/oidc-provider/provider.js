// A real OpenID Connect provider (node's oidc-provider) for the tests of
// upstream sign-in. It listens on 127.0.0.1 and is configured by one JSON
// document in the environment variable OIDC_TEST_CONFIG:
//
//   {
//     "issuer":   "http://127.0.0.1:PORT",   // optional: default is its own address
//     "port":     0,                          // optional: 0 picks a free port
//     "jwks":     {"keys": [...]},            // optional private signing keys; generated when absent
//     "acr_values": ["urn:example:mfa"],      // optional acr values the provider offers
//     "clients":  [{"client_id": "tms", "client_secret": "...", "redirect_uris": ["..."]}],
//     "accounts": [{"id": "alice", "password": "...", "amr": ["pwd"], "acr": "...",
//                   "claims": {"preferred_username": "alice", "email": "..."}}]
//   }
//
// Its own login page asks for a username and a password; the login result
// carries the account's amr and acr, which the ID token then asserts. The
// page also has a Cancel button, which answers the client access_denied.
// Consent is granted without a page. When it listens it prints one JSON
// line to standard output: {"issuer": ..., "port": ..., "jwks": {...}},
// the keys being the private signing keys, so that a second provider can
// share them. It exits when its standard input closes.
import crypto from 'node:crypto';
import http from 'node:http';
import { URLSearchParams } from 'node:url';

import Provider from 'oidc-provider';

const cfg = JSON.parse(process.env.OIDC_TEST_CONFIG || '{}');
const accounts = new Map((cfg.accounts || []).map((a) => [a.id, a]));

function signingKeys() {
  if (cfg.jwks) return cfg.jwks;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: crypto.randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }] };
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, clientId, message) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body>
<h1>Test provider sign-in</h1>
<p>Signing in to <b>${escapeHTML(clientId)}</b>.</p>
${message ? `<p class="error">${escapeHTML(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHTML(uid)}/login">
  <label>Username <input name="login" autocomplete="username" autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escapeHTML(uid)}/abort">
  <button type="submit">Cancel</button>
</form>
</body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 65536) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'wrong interaction');
  const { prompt, params, session } = details;

  if (action === 'abort' && req.method === 'POST') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    if (action === 'login' && req.method === 'POST') {
      const form = await readForm(req);
      const account = accounts.get(form.get('login'));
      if (!account || account.password !== form.get('password')) {
        return send(res, 200, loginPage(uid, params.client_id, 'Wrong username or password.'));
      }
      const login = { accountId: account.id, amr: account.amr };
      if (account.acr) login.acr = account.acr;
      return provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
    }
    return send(res, 200, loginPage(uid, params.client_id, ''));
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    const result = details.grantId ? { consent: {} } : { consent: { grantId } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
  }
  return send(res, 400, `unexpected prompt ${escapeHTML(prompt.name)}`);
}

const server = http.createServer();
server.listen(cfg.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = cfg.issuer || `http://127.0.0.1:${port}`;
  const jwks = signingKeys();
  const provider = new Provider(issuer, {
    clients: (cfg.clients || []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method || 'client_secret_basic',
    })),
    jwks,
    acrValues: cfg.acr_values || [],
    // amr (and acr, when the provider offers acr values) belong to the
    // openid scope, so that every ID token asserts how the user signed in.
    claims: {
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      iss: null,
      openid: ['sub', 'amr', ...(cfg.acr_values?.length ? ['acr'] : [])],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
    },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interactionRecord) => `/interaction/${interactionRecord.uid}` },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
    },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc-provider server_error:', err));
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(req.url.split('?')[0]);
    if (!m) return callback(req, res);
    return interaction(provider, req, res, m[1], m[2]).catch((err) => {
      console.error('interaction:', err);
      if (!res.headersSent) send(res, 500, escapeHTML(err.message));
    });
  });
  process.stdout.write(`${JSON.stringify({ issuer, port, jwks })}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
