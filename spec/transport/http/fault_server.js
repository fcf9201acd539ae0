// spec/transport/http/fault_server.js: a small MCP server over Streamable HTTP that
// misbehaves on purpose, one scenario per path prefix (/<scenario>/mcp),
// for spec/transport/http/faults_spec.lua. Node built-ins only (http, https, crypto).
//
// usage: node fault_server.js [--tls CERT KEY] [--max-seconds S]
// Listens on 127.0.0.1, on a free port, and prints "PORT <n>" first.
// GET /stats returns what the scenarios recorded (JSON).
//
// Initialize, notifications and tools/list always work (so a session
// starts); the scenario decides what tools/call gets:
//   ok         JSON replies, a session id, no GET stream (405)
//   sse        SSE replies with priming events; a GET stream that, when the
//              tool "ask-roots" is called, carries a roots/list request
//   resume     the tools/call stream sends a priming id and retry: 300, then
//              closes; a GET with Last-Event-ID gets the response
//   cut        the stream is cut in the middle of an event (no ids)
//   garbage    an SSE event whose data is not JSON
//   badjson    application/json that does not parse
//   hang       accepts tools/call and never answers
//   expire     the session is forgotten after the first tools/call: 404
//   ctype      200 with Content-Type text/html
//   500        HTTP 500 with a JSON-RPC error body
//   redirect   302 to another path
//   unmatched  a JSON response whose id matches no request
//   auth       401 + WWW-Authenticate unless "Authorization: Bearer good-token"
//   legacy     405 to POST; the 2024-11-05 HTTP+SSE transport on GET
//   headers    tools/call returns the request headers it got (authorization
//              only as present/absent)
//   linger     tools/call answers on an SSE stream it never ends (stats:
//              lingerOpen counts those the client has not closed)
//   huge       tools/call answers with one SSE event of arguments.size bytes
//   notifyfail every notification (notifications/initialized too) gets 500
//   notify400  notifications/initialized is accepted, any other gets 400
//   getdrop    the GET stream sends an event (id g-1, retry: 100) and ends;
//              the next GET (stats.getLastEventIds) sends one more, stays open
//   expireget  a GET stream (retry: 100); tools/call with message "expire"
//              forgets the session and ends that stream, so the GET
//              reconnect gets 404
//   legacy500, legacy401: as legacy, but tools/call POSTs to the endpoint
//              get HTTP 500 / 401
// GET /ctype?t=TYPE answers with that Content-Type.
// GET /rawhead answers with a response head of exactly 2048 bytes whose
// last line is the 4-byte "a:\r\n" (the client's header walk must not read
// past it).
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');
const crypto = require('crypto');

const args = process.argv.slice(2);
let tls = null;
let maxSeconds = 120;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tls') { tls = { cert: fs.readFileSync(args[i + 1]), key: fs.readFileSync(args[i + 2]) }; i += 2; }
  else if (args[i] === '--max-seconds') { maxSeconds = Number(args[++i]); }
}
// never outlive the test run, whatever happens to the parent
setTimeout(() => process.exit(0), maxSeconds * 1000).unref();

const stats = { initialize: 0, deletes: 0, gets: 0, protocolVersions: [], resume: null, calls: 0, legacyPosts: 0,
  lingerOpen: 0, hungOpen: 0, getLastEventIds: [], getStatuses: [], getSessions: [] };
const sessions = new Map(); // id -> { scenario, alive, getRes }
const hung = [];

function rpcResult(id, result) { return JSON.stringify({ jsonrpc: '2.0', id, result }); }
function rpcError(id, code, message) { return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }); }

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function initResult(msg) {
  return {
    protocolVersion: (msg.params && msg.params.protocolVersion) || '2025-11-25',
    capabilities: { tools: {} },
    serverInfo: { name: 'fault-server', version: '1.0.0' },
  };
}

const TOOLS = [{ name: 'echo', inputSchema: { type: 'object' } }, { name: 'ask-roots', inputSchema: { type: 'object' } },
  { name: 'headers', inputSchema: { type: 'object' } }];

function sendJson(res, status, body, headers) {
  res.writeHead(status, Object.assign({ 'Content-Type': 'application/json' }, headers || {}));
  res.end(body);
}

function sseStart(res, headers) {
  res.writeHead(200, Object.assign({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache',
    Connection: 'keep-alive' }, headers || {}));
}

function sseSend(res, data, id) {
  res.write((id ? `id: ${id}\n` : '') + `event: message\ndata: ${data}\n\n`);
}

function textResult(text) { return { content: [{ type: 'text', text }] }; }

// tools/call in each scenario
function callTool(scenario, msg, req, res, session) {
  stats.calls++;
  const name = msg.params && msg.params.name;
  const argsIn = (msg.params && msg.params.arguments) || {};
  switch (scenario) {
    case 'sse': {
      if (name === 'ask-roots') {
        // ask the client on the GET stream, answer the tool once it replied
        if (!session.getRes) return sendJson(res, 200, rpcResult(msg.id, Object.assign(textResult('no GET stream'), { isError: true })));
        session.pendingAsk = { id: msg.id, res };
        sseStart(res);
        res.write(': waiting for roots\n\n');
        sseSend(session.getRes, JSON.stringify({ jsonrpc: '2.0', id: 'srv-1', method: 'roots/list', params: {} }));
        return;
      }
      sseStart(res);
      res.write('id: p-0\ndata:\n\n'); // priming event
      sseSend(res, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'working' } }));
      sseSend(res, rpcResult(msg.id, textResult('Echo: ' + argsIn.message)), 'p-1');
      return res.end();
    }
    case 'resume': {
      sseStart(res);
      stats.resume = { cutAt: Date.now(), requestId: msg.id, session: session.id };
      res.write('id: r-0\nretry: 300\ndata:\n\n');
      session.resumable = { id: msg.id, message: argsIn.message };
      return setTimeout(() => res.end(), 20);
    }
    case 'cut': {
      sseStart(res);
      res.write('event: message\ndata: {"jsonrpc":"2.0","id":' + msg.id + ',"res');
      return setTimeout(() => res.socket.destroy(), 20);
    }
    case 'garbage':
      sseStart(res);
      sseSend(res, 'this is not JSON at all');
      return res.end();
    case 'badjson':
      return sendJson(res, 200, '{"jsonrpc":"2.0","id":' + msg.id + ',"result":');
    case 'hang':
      hung.push(res);
      stats.hungOpen++;
      res.on('close', () => { stats.hungOpen--; });
      return;
    case 'linger':
      sseStart(res);
      stats.lingerOpen++;
      res.on('close', () => { stats.lingerOpen--; });
      sseSend(res, rpcResult(msg.id, textResult('Echo: ' + argsIn.message)), 'l-' + msg.id);
      return; // never ended
    case 'huge':
      sseStart(res);
      sseSend(res, rpcResult(msg.id, textResult('x'.repeat(Number(argsIn.size) || 1000))));
      return res.end();
    case 'expireget':
      if (argsIn.message === 'expire') {
        session.alive = false;
        if (session.getRes) session.getRes.end();
      }
      return sendJson(res, 200, rpcResult(msg.id, textResult('Echo: ' + argsIn.message)));
    case 'expire':
      session.alive = false; // this call works, later ones get 404
      return sendJson(res, 200, rpcResult(msg.id, textResult('Echo: ' + argsIn.message)));
    case 'ctype':
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<html><body>hello</body></html>');
    case '500':
      return sendJson(res, 500, rpcError(null, -32603, 'internal failure: the database is on fire'));
    case 'redirect':
      res.writeHead(302, { Location: '/elsewhere/mcp' });
      return res.end();
    case 'unmatched':
      return sendJson(res, 200, rpcResult(9999, textResult('for nobody')));
    case 'headers': {
      const h = {};
      for (const [k, v] of Object.entries(req.headers)) h[k] = k === 'authorization' ? 'present' : v;
      return sendJson(res, 200, rpcResult(msg.id, textResult(JSON.stringify(h))));
    }
    default:
      return sendJson(res, 200, rpcResult(msg.id, textResult('Echo: ' + argsIn.message)));
  }
}

async function handleMcp(scenario, req, res) {
  const sid = req.headers['mcp-session-id'];
  const session = sid ? sessions.get(sid) : null;
  if (scenario === 'auth' && req.headers.authorization !== 'Bearer good-token') {
    res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="mcp", resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource", scope="mcp:read"',
      'Content-Type': 'application/json' });
    return res.end(rpcError(null, -32001, 'unauthorized'));
  }
  if (req.method === 'DELETE') {
    stats.deletes++;
    if (session) sessions.delete(sid);
    res.writeHead(session ? 200 : 404);
    return res.end();
  }
  if (req.method === 'GET') {
    stats.gets++;
    if (sid && (!session || !session.alive)) {
      stats.getStatuses.push(404);
      res.writeHead(404);
      return res.end();
    }
    const last = req.headers['last-event-id'];
    if (scenario === 'resume' && last && session && session.resumable) {
      const r = session.resumable;
      session.resumable = null;
      stats.resume.resumedAt = Date.now();
      stats.resume.lastEventId = last;
      sseStart(res);
      sseSend(res, rpcResult(r.id, textResult('Echo: ' + r.message + ' (resumed)')), 'r-1');
      return res.end();
    }
    if (scenario === 'getdrop' && session) {
      stats.getStatuses.push(200);
      sseStart(res);
      if (!last) { // the first GET: one event, then the stream ends
        res.write('id: g-1\nretry: 100\n');
        sseSend(res, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'first' } }));
        return setTimeout(() => res.end(), 20);
      }
      stats.getLastEventIds.push(last);
      sseSend(res, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'after ' + last } }), 'g-2');
      return; // stays open
    }
    if (scenario === 'expireget' && session) {
      stats.getStatuses.push(200);
      stats.getSessions.push(sid);
      sseStart(res);
      res.write('retry: 100\n: standalone stream\n\n');
      session.getRes = res;
      req.on('close', () => { if (session.getRes === res) session.getRes = null; });
      return;
    }
    if (scenario === 'sse' && session) {
      sseStart(res);
      res.write(': standalone stream\n\n');
      session.getRes = res;
      req.on('close', () => { if (session.getRes === res) session.getRes = null; });
      return;
    }
    res.writeHead(405, { Allow: 'POST, DELETE' });
    return res.end();
  }
  if (req.method !== 'POST') { res.writeHead(405); return res.end(); }
  const ct = req.headers['content-type'] || '';
  const accept = req.headers.accept || '';
  if (!ct.startsWith('application/json')) { res.writeHead(415); return res.end(); }
  if (!(accept.includes('application/json') && accept.includes('text/event-stream'))) { res.writeHead(406); return res.end(); }
  const body = await readBody(req);
  let msg;
  try { msg = JSON.parse(body); } catch (e) { return sendJson(res, 400, rpcError(null, -32700, 'parse error')); }
  if (msg.method === 'initialize') {
    if (sid) return sendJson(res, 400, rpcError(msg.id, -32600, 'initialize with a session id'));
    stats.initialize++;
    const id = crypto.randomUUID();
    sessions.set(id, { id, scenario, alive: true });
    return sendJson(res, 200, rpcResult(msg.id, initResult(msg)), { 'Mcp-Session-Id': id });
  }
  if (!sid) return sendJson(res, 400, rpcError(null, -32000, 'Bad Request: No valid session ID provided'));
  if (!session || !session.alive) return sendJson(res, 404, rpcError(null, -32001, 'Session not found'));
  stats.protocolVersions.push(req.headers['mcp-protocol-version'] || null);
  if (msg.method === undefined) { // a response (to our roots/list request)
    if (msg.id === 'srv-1' && session.pendingAsk) {
      const p = session.pendingAsk;
      session.pendingAsk = null;
      const roots = (msg.result && msg.result.roots) || [];
      sseSend(p.res, rpcResult(p.id, textResult('roots: ' + roots.map((r) => r.uri).join(','))));
      p.res.end();
    }
    res.writeHead(202);
    return res.end();
  }
  if (msg.id === undefined) { // a notification
    if (scenario === 'notifyfail' || (scenario === 'notify400' && msg.method !== 'notifications/initialized')) {
      return sendJson(res, scenario === 'notifyfail' ? 500 : 400, rpcError(null, -32603, 'notifications are broken here'));
    }
    res.writeHead(202);
    return res.end();
  }
  if (msg.method === 'tools/list') return sendJson(res, 200, rpcResult(msg.id, { tools: TOOLS }));
  if (msg.method === 'ping') return sendJson(res, 200, rpcResult(msg.id, {}));
  if (msg.method === 'tools/call') return callTool(scenario, msg, req, res, session);
  return sendJson(res, 200, rpcError(msg.id, -32601, 'Method not found'));
}

// The 2024-11-05 transport: GET /legacy/mcp is the stream, POST /legacy/messages
// (and the same under /legacy500/ and /legacy401/)
const legacyStreams = new Map();
async function handleLegacy(req, res, url) {
  const m = url.pathname.match(/^\/(legacy\w*)\/(mcp|messages)$/);
  if (!m) { res.writeHead(404); return res.end(); }
  const [, prefix, what] = m;
  if (what === 'mcp' && req.method === 'POST') { res.writeHead(405); return res.end(); }
  if (what === 'mcp' && req.method === 'GET') {
    const id = crypto.randomUUID();
    sseStart(res);
    res.write(`event: endpoint\ndata: /${prefix}/messages?sessionId=${id}\n\n`);
    legacyStreams.set(id, res);
    req.on('close', () => legacyStreams.delete(id));
    return;
  }
  if (what === 'messages' && req.method === 'POST') {
    stats.legacyPosts++;
    const stream = legacyStreams.get(url.searchParams.get('sessionId'));
    if (!stream) { res.writeHead(404); return res.end(); }
    const msg = JSON.parse(await readBody(req));
    if (msg.method === 'tools/call' && prefix === 'legacy500') return sendJson(res, 500, rpcError(msg.id, -32603, 'broken'));
    if (msg.method === 'tools/call' && prefix === 'legacy401') {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="mcp"' });
      return res.end();
    }
    res.writeHead(202);
    res.end('Accepted');
    if (msg.id === undefined || msg.method === undefined) return;
    let reply;
    if (msg.method === 'initialize') reply = rpcResult(msg.id, Object.assign(initResult(msg), { protocolVersion: '2024-11-05' }));
    else if (msg.method === 'tools/list') reply = rpcResult(msg.id, { tools: TOOLS });
    else if (msg.method === 'tools/call') reply = rpcResult(msg.id, textResult('Echo: ' + msg.params.arguments.message));
    else reply = rpcError(msg.id, -32601, 'Method not found');
    return sseSend(stream, reply);
  }
  res.writeHead(404);
  res.end();
}

// A response head of exactly 2048 bytes (status line and header lines with
// their CRLF, the blank line not counted) ending in the short line "a:".
function rawHead(res) {
  const start = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nX-Pad: ';
  const end = '\r\na:\r\n';
  const head = start + 'p'.repeat(2048 - start.length - end.length) + end;
  res.socket.end(head + '\r\nok');
}

function handler(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/stats') return sendJson(res, 200, JSON.stringify(stats));
  if (url.pathname === '/rawhead') return rawHead(res);
  // GET /ctype?t=TYPE answers 200 with that Content-Type (the client's body kinds)
  if (url.pathname === '/ctype') { res.writeHead(200, { 'Content-Type': url.searchParams.get('t') }); return res.end('{}'); }
  if (/^\/legacy\w*\//.test(url.pathname)) return handleLegacy(req, res, url);
  const m = url.pathname.match(/^\/([\w-]+)\/mcp$/);
  if (!m) { res.writeHead(404); return res.end('no such path'); }
  handleMcp(m[1], req, res).catch((e) => { try { res.writeHead(500); res.end(String(e)); } catch (_) { /* gone */ } });
}

const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
