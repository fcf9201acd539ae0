// spec/auth/oidc/server.mjs: a real OpenID Provider (oidc-provider, pinned in
// scripts/npm-oidc, installed into .deps/npm-oidc) in front of a small MCP
// resource server that validates its tokens, for spec/auth/oidc/oidc_spec.lua.
// We did not write the authorization server, so a misreading of the specs
// shared by mcptest's OAuth client and mcptest's own fixture cannot pass here.
//
//   node server.mjs [--max-seconds N] [--tls DIR]
// Listens on 127.0.0.1 only, on ports the OS chooses, and prints one JSON
// line first on stdout:
//   { "issuer": "http://127.0.0.1:A",          the OpenID Provider at the root
//     "issuer2": "http://127.0.0.1:A/oidc",    a second one under a path
//     "mcp": "http://127.0.0.1:R/mcp",         MCP endpoint whose AS is issuer
//     "mcp2": "http://127.0.0.1:R/mcp2",       MCP endpoint whose AS is issuer2
//     "stats": "http://127.0.0.1:R/stats" }    what the AS saw (test only)
// then exits after --max-seconds (default 300) or on SIGTERM.
//
// --tls DIR (DIR/cert.pem and DIR/key.pem: a certificate for IP 127.0.0.1
// from a throwaway CA, which node must trust through NODE_EXTRA_CA_CERTS):
// the provider is served over https (issuers https://127.0.0.1:A...), with
// client ID metadata documents (draft-02) enabled, and a third listener,
// the client's own web host, serves them over https:
//     "cimd": "https://127.0.0.1:C/client.json"   a public native client
//         (authorization code + refresh token, loopback redirect)
// oidc-provider fetches such documents only from https URLs, and refuses
// special-use addresses (127.0.0.0/8 among them: SSRF protection): its
// fetch here goes to https://127.0.0.1:C only, and nowhere else.
// /stats's cimd_fetches counts the documents fetched.
//
// The provider (see docs in the report / docs/auth.md):
//   - PKCE required for every client (S256 is the only method oidc-provider 9 has)
//   - interactions auto-approve: /interaction/:uid logs in the fixed user
//     "mcptest-user" and grants every scope and resource the request asked
//     for (no person; the browser must keep cookies, as a real one does)
//   - device flow: the spec plays the person by posting oidc-provider's own
//     forms (spec/auth/oidc/device_person.sh); no test-only approval route.
//     oidc-provider's device authorization response has no interval (so 5 s);
//     this server adds "interval": 1 for every client but mcp-device
//   - client credentials, refresh tokens always issued to clients allowed the
//     refresh_token grant (not only with offline_access) and always rotated
//   - dynamic registration (RFC 7591) and management (RFC 7592: DELETE forgets)
//   - resource indicators (RFC 8707): only the MCP endpoints' URLs, exactly as
//     published in their PRM, are accepted; tokens for them are RFC 9068 JWTs
//     with aud = that URL
//   - RFC 9207 iss in authorization responses (oidc-provider's default)
//   - seeded clients: mcp-confidential (client_secret_basic, client
//     credentials), mcp-device (public, device flow),
//     mcp-device-confidential (client_secret_basic, device flow), mcp-rs (the
//     resource server's own, for introspection)
// The resource server (Streamable HTTP, JSON responses, stateless):
//   - 401 + WWW-Authenticate: Bearer resource_metadata="<PRM URL>" without a
//     valid token; RFC 9728 PRM at /.well-known/oauth-protected-resource/mcp
//   - JWT access tokens verified with the provider's JWKS (iss, aud = its own
//     URL, typ at+jwt); anything else introspected (RFC 7662) and its aud checked
//   - initialize, notifications/initialized (202), ping, tools/list, tools/call
//     whoami (sub, client_id, scope, aud, iss, token format)
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const deps = process.env.MCPTEST_OIDC_DEPS
  || path.resolve(here, '../../../.deps/npm-oidc/node_modules');
const require = createRequire(path.join(deps, 'x.js'));
const { default: Provider, errors } = await import(require.resolve('oidc-provider'));
const jose = await import(require.resolve('jose'));

const argv = process.argv.slice(2);
const maxSeconds = Number(argv[argv.indexOf('--max-seconds') + 1]) || 300;
const tlsDir = argv.includes('--tls') ? argv[argv.indexOf('--tls') + 1] : null;
const tlsOptions = tlsDir && { cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')),
                               key: fs.readFileSync(path.join(tlsDir, 'key.pem')) };

const USER = 'mcptest-user';
const SCOPES = 'mcp:read mcp:write';
const CC_SECRET = process.env.OIDC_CC_SECRET || 'oidc-confidential-secret';
const RS_SECRET = 'oidc-rs-secret-' + Math.random().toString(36).slice(2);

// ---------- the two listeners (ports first: the issuers need them) ----------
let asHandler = null;
let rsHandler = null;
let appHandler = null;
const asServer = tlsOptions ? https.createServer(tlsOptions, (req, res) => asHandler(req, res))
  : http.createServer((req, res) => asHandler(req, res));
const rsServer = http.createServer((req, res) => rsHandler(req, res));
const appServer = tlsOptions && https.createServer(tlsOptions, (req, res) => appHandler(req, res));
const listen = (s) => new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(s.address().port)));
const asPort = await listen(asServer);
const rsPort = await listen(rsServer);
const appPort = appServer && await listen(appServer);
const AS = `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${asPort}`;
const RS = `http://127.0.0.1:${rsPort}`;
const APP = appServer && `https://127.0.0.1:${appPort}`;
const CIMD = APP && `${APP}/client.json`;

// what the provider saw, for the spec to check what our client sent
const stats = { token: [], registration: [], authorization: [], device_authorization: [], interactions: 0,
                cimd_fetches: 0 };

// the client's web host (--tls): its client ID metadata document
appHandler = (req, res) => {
  if (req.url === '/client.json') {
    stats.cimd_fetches++;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    return res.end(JSON.stringify({
      client_id: CIMD, client_name: 'mcptest CIMD spec client', application_type: 'native',
      redirect_uris: ['http://127.0.0.1/callback'], grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'none' }));
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
};

// oidc-provider's fetch, for the documents of clients named by a URL: to the
// client's web host on 127.0.0.1 only (its SSRF protection would refuse
// that loopback address), over TLS checked against NODE_EXTRA_CA_CERTS
function loopbackFetch(url, options) {
  if (!APP || !String(url).startsWith(`${APP}/`)) {
    return Promise.reject(new Error(`this test server fetches nothing but ${APP}/...: ${url}`));
  }
  const { dispatcher, ...rest } = options;
  return fetch(url, rest);
}

// ---------- the providers ----------
async function makeProvider(prefix, resource) {
  const issuer = AS + prefix;
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), kid: `k${prefix || 'root'}`, use: 'sig', alg: 'ES256' };
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'mcp-confidential', client_secret: CC_SECRET, grant_types: ['client_credentials'],
        response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'mcp-device', grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [], redirect_uris: [], token_endpoint_auth_method: 'none' },
      { client_id: 'mcp-device-confidential', client_secret: CC_SECRET,
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'mcp-rs', client_secret: RS_SECRET, grant_types: [], response_types: [], redirect_uris: [] },
    ],
    jwks: { keys: [jwk] },
    // the one signing key is ES256 (oidc-provider's default for ID tokens is RS256)
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: ['mcptest-oidc-spec-cookie-key'] },
    clientBasedCORS: () => false,
    findAccount: (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, name: 'mcptest test user' }) }),
    pkce: { required: () => true },
    interactions: { url: (ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    ...(tlsOptions ? { fetch: loopbackFetch } : {}),
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: { AccessToken: 600, ClientCredentials: 600, DeviceCode: 120, RefreshToken: 3600, Interaction: 300,
           Session: 3600, Grant: 3600, AuthorizationCode: 60, IdToken: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true, allowedPolicy: (ctx, client) => client.clientId === 'mcp-rs' },
      revocation: { enabled: true },
      ...(tlsOptions ? { clientIdMetadataDocument: { enabled: true, ack: 'draft-02' } } : {}),
      registration: { enabled: true, initialAccessToken: false },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          return { scope: SCOPES, audience: resource, accessTokenTTL: 600, accessTokenFormat: 'jwt',
                   jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
  });
  // record what the client sent (parameters, client authentication, outcome)
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    // oidc-provider sends no interval (RFC 8628: the client then polls every
    // 5 s); for every client but the seeded mcp-device one, ask for 1 s to
    // keep the suite short (oidc-provider never answers slow_down)
    if (route === 'device_authorization' && ctx.status === 200 && ctx.oidc.client?.clientId !== 'mcp-device') {
      ctx.body = { ...ctx.body, interval: 1 };
    }
    if (!route || !(route in stats)) return;
    const p = ctx.oidc.params || {};
    // auth_method: the client's registered method; sent: how this request
    // carried its secret (oidc-provider takes basic and post for one another)
    const sent = /^basic /i.test(ctx.headers.authorization || '') ? 'client_secret_basic'
      : ctx.oidc.body?.client_secret ? 'client_secret_post' : 'none';
    const entry = { issuer, status: ctx.status, client_id: ctx.oidc.client?.clientId,
                    auth_method: ctx.oidc.client?.clientAuthMethod, sent };
    for (const k of ['grant_type', 'resource', 'scope', 'code_challenge_method', 'redirect_uri', 'response_type']) {
      if (p[k] !== undefined) entry[k] = p[k];
    }
    if (route === 'registration') entry.metadata = ctx.request.body;
    if (ctx.body && typeof ctx.body === 'object' && ctx.body.error) entry.error = ctx.body.error;
    stats[route].push(entry);
  });
  return { issuer, provider, prefix, resource, callback: provider.callback() };
}

const p1 = await makeProvider('', `${RS}/mcp`);
const p2 = await makeProvider('/oidc', `${RS}/mcp2`);

// The interaction that a person would go through, approved at once: log in
// the fixed user, then grant what the request asked for.
async function interaction(p, req, res) {
  stats.interactions++;
  const details = await p.provider.interactionDetails(req, res);
  const { prompt, params, session, grantId } = details;
  if (prompt.name === 'login') {
    return p.provider.interactionFinished(req, res, { login: { accountId: USER } },
                                          { mergeWithLastSubmission: false });
  }
  const grant = grantId ? await p.provider.Grant.find(grantId)
    : new p.provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  if (d.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const id = await grant.save();
  return p.provider.interactionFinished(req, res, { consent: { grantId: id } }, { mergeWithLastSubmission: true });
}

asHandler = (req, res) => {
  const p = req.url.startsWith('/oidc/') || req.url === '/oidc' ? p2 : p1;
  const rest = p.prefix ? req.url.slice(p.prefix.length) || '/' : req.url;
  if (/^\/interaction\/[^/?]+$/.test(rest.split('?')[0])) {
    interaction(p, req, res).catch((err) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.name}: ${err.message}\n`);
    });
    return;
  }
  if (p.prefix) {
    req.originalUrl = req.url;
    req.url = rest;
  }
  p.callback(req, res);
};

// ---------- the resource server ----------
const endpoints = {
  '/mcp': { p: p1, jwks: jose.createRemoteJWKSet(new URL(`${p1.issuer}/jwks`)) },
  '/mcp2': { p: p2, jwks: jose.createRemoteJWKSet(new URL(`${p2.issuer}/jwks`)) },
};

async function introspect(p, token) {
  const r = await fetch(`${p.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded',
               authorization: 'Basic ' + Buffer.from(`mcp-rs:${RS_SECRET}`).toString('base64') },
    body: new URLSearchParams({ token }).toString(),
  });
  return r.json();
}

// The caller, or a string saying why the token is refused.
async function authenticate(ep, resource, header) {
  const m = /^Bearer\s+(\S+)$/i.exec(header || '');
  if (!m) return 'no bearer token';
  const token = m[1];
  if (token.split('.').length === 3) {
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, ep.jwks, {
        issuer: ep.p.issuer, audience: resource, typ: 'at+jwt' });
      return { format: 'jwt', alg: protectedHeader.alg, sub: payload.sub, client_id: payload.client_id,
               scope: payload.scope, aud: payload.aud, iss: payload.iss, exp: payload.exp };
    } catch (e) {
      return `JWT refused: ${e.code || e.name}: ${e.message}`;
    }
  }
  const info = await introspect(ep.p, token);
  if (!info.active) return 'introspection: inactive';
  const aud = Array.isArray(info.aud) ? info.aud : [info.aud];
  if (!aud.includes(resource)) return `introspection: aud ${JSON.stringify(info.aud)} is not ${resource}`;
  return { format: 'opaque', sub: info.sub, client_id: info.client_id, scope: info.scope, aud: info.aud,
           iss: info.iss, exp: info.exp };
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
  res.end(text);
}

const TOOLS = [{ name: 'whoami', description: 'Who the resource server thinks is calling (from the validated token).',
                 inputSchema: { type: 'object', properties: {} } }];

function rpc(msg, who) {
  const ok = (result) => ({ jsonrpc: '2.0', id: msg.id, result });
  switch (msg.method) {
    case 'initialize':
      return ok({ protocolVersion: msg.params?.protocolVersion || '2025-06-18',
                  capabilities: { tools: {} }, serverInfo: { name: 'mcptest-oidc-rs', version: '1.0.0' } });
    case 'ping': return ok({});
    case 'tools/list': return ok({ tools: TOOLS });
    case 'tools/call':
      if (msg.params?.name !== 'whoami') {
        return { jsonrpc: '2.0', id: msg.id, error: { code: -32602, message: `unknown tool ${msg.params?.name}` } };
      }
      return ok({ content: [{ type: 'text', text: JSON.stringify(who) }] });
    default:
      return { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `method not found: ${msg.method}` } };
  }
}

rsHandler = async (req, res) => {
  try {
    const u = new URL(req.url, RS);
    if (u.pathname === '/stats') return send(res, 200, stats);
    const prm = /^\/\.well-known\/oauth-protected-resource(\/.*)$/.exec(u.pathname);
    if (prm && endpoints[prm[1]]) {
      return send(res, 200, { resource: `${RS}${prm[1]}`, authorization_servers: [endpoints[prm[1]].p.issuer],
                              scopes_supported: SCOPES.split(' '), bearer_methods_supported: ['header'],
                              resource_name: `mcptest oidc spec ${prm[1]}` });
    }
    const ep = endpoints[u.pathname];
    if (!ep) return send(res, 404, { error: 'not found' });
    const resource = `${RS}${u.pathname}`;
    const who = await authenticate(ep, resource, req.headers.authorization);
    if (typeof who === 'string') {
      const given = /^Bearer\s/i.test(req.headers.authorization || '');
      const www = `Bearer resource_metadata="${RS}/.well-known/oauth-protected-resource${u.pathname}"`
        + (given ? `, error="invalid_token", error_description="${who.replace(/"/g, "'")}"` : '');
      return send(res, 401, { error: 'unauthorized', detail: who }, { 'www-authenticate': www });
    }
    if (req.method !== 'POST') return send(res, 405, undefined, { allow: 'POST' });
    let body = '';
    for await (const chunk of req) body += chunk;
    let msg;
    try { msg = JSON.parse(body); } catch { return send(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }); }
    if (Array.isArray(msg)) return send(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'no batches' } });
    if (msg.id === undefined) return send(res, 202);
    return send(res, 200, rpc(msg, who));
  } catch (e) {
    send(res, 500, { error: String(e) });
  }
};

console.log(JSON.stringify({ issuer: p1.issuer, issuer2: p2.issuer, mcp: `${RS}/mcp`, mcp2: `${RS}/mcp2`,
                             stats: `${RS}/stats`, ...(CIMD ? { cimd: CIMD } : {}) }));
setTimeout(() => process.exit(0), maxSeconds * 1000);
process.on('SIGTERM', () => process.exit(0));
