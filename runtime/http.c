/*
 * http.c: mcptest.core.http, non-blocking HTTP on libcurl's multi interface.
 *
 * One curl multi handle per Lua state (an upvalue of every function), so
 * connections are kept alive and reused across requests: a stream that
 * stays open (the standalone GET) holds its own connection, and POSTs reuse
 * another. The module never waits: request() starts a transfer and returns;
 * the Lua event loop (lua/mcptest/loop.lua) polls curl's sockets, which
 * fds() lists (CURLMOPT_SOCKETFUNCTION keeps the list), next to every other
 * descriptor, and sleeps no longer than timeout() says (CURLMOPT_TIMERFUNCTION).
 * action() and on_timeout() drive curl_multi_socket_action, then call each
 * request's Lua callback with what arrived: on(req, chunk|nil, done, err|nil, ctx),
 * once the response headers are complete, for each body chunk, and once at
 * the end. Lua is never called from inside a curl callback: curl's
 * callbacks only buffer and mark the request, and the callbacks run after
 * curl returns, so a Lua callback may start or abort requests freely.
 * header_set(lines) makes header lines into curl's list once, for a
 * transport that sends the same ones with every request. A URL is parsed
 * once (up to 16 per state), and a loopback one is never proxied.
 *
 * Uses util.c (mcptest.Error tables, the monotonic clock). HTTP policy
 * (MCP headers, status handling, retries, redaction) is Lua's; this file
 * never logs header values.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mcptest.h"

#define HTTP_CTX_MT "mcptest.HttpContext"
#define HTTP_REQ_MT "mcptest.HttpRequest"
#define HTTP_HDRS_MT "mcptest.HttpHeaderSet"
/* idle easy handles kept for reuse: as many as were ever in flight at once
 * (a load run's VUs each start a transfer per request; making a handle
 * costs about 7,000 instructions and a 4 KiB buffer), up to this many: at
 * 1,000 VUs a pool of every handle held 4 MB more at peak */
#define HTTP_POOL_MAX 64
/* URLs kept parsed (CURLOPT_CURLU): a client posts every request to one
 * endpoint, and curl otherwise parses the string and prints it back per
 * transfer (about 4% of a load run's request). A parsed URL lives as long
 * as the context: a transfer may read it again when it retries on a new
 * connection. Past this many distinct URLs, curl parses the string. */
#define HTTP_URL_CACHE 16

/* ===== types ===== */

/* Buffers are mcpt_buf (util.c); the response-header buffer starts on
 * storage inside the request userdata (heap == 0), so small responses cost
 * no malloc and their memory is seen by Lua's garbage collector. */
/* typical MCP response headers fit (a longer head moves to the heap); 256
 * keeps the request under glibc's 1 KiB large-chunk size, whose every
 * allocation merges the small free lists (malloc_consolidate) */
#define HTTP_HEAD_INLINE 256
#define HTTP_SPARE_MAX (64 * 1024) /* largest body buffer kept for reuse */

typedef struct http_sock {
  curl_socket_t fd;
  int what; /* CURL_POLL_IN / OUT / INOUT */
} http_sock;

struct http_req;

typedef struct http_ctx {
  CURLM *multi;
  http_sock *socks;
  int nsocks, capsocks;
  int socks_changed;                  /* may differ from what fds() reported */
  http_sock *seen;                    /* the set fds() last reported */
  int nseen, capseen;
  double deadline;                    /* curl's timer (monotonic s); < 0: none */
  struct http_req *dirty_head, *dirty_tail; /* requests with news for Lua */
  struct http_req *active;            /* requests in the multi */
  long nactive, peak;                 /* in flight now, most ever at once */
  CURL **pool;                        /* idle easy handles */
  int npool, cappool;
  mcpt_buf spare;                     /* a body buffer between requests */
  char *noproxy;                      /* NO_PROXY plus the loopback names */
  struct http_url { char *url; CURLU *parsed; int loopback; } urls[HTTP_URL_CACHE];
  int nurls;
} http_ctx;

typedef struct http_req {
  http_ctx *ctx;                      /* NULL when not in the multi */
  CURL *easy;                         /* NULL once finished or aborted */
  struct curl_slist *hdrs;             /* its own header lines (freed with it) */
  mcpt_buf body;                      /* received bytes not yet given to Lua */
  mcpt_buf head;                      /* header lines of the final response */
  long status;
  long local_port;                    /* of the connection that carried it */
  long new_conns;                     /* connections curl opened for it */
  curl_off_t wire_us;                 /* sending to the last byte read, -1 unknown */
  size_t ct_off, ct_len;              /* Content-Type value within head */
  int has_ct;
  int headers_done, finished, dirty;
  int ref;                            /* registry ref while Lua may be called */
  CURLcode result;
  struct http_diag *diag;             /* what doctor asks for (diagnose = true) */
  struct http_req *next_dirty, *prev_active, *next_active;
  char errbuf[CURL_ERROR_SIZE];
  char head_inline[HTTP_HEAD_INLINE];
} http_req;

/* What `doctor` reads of a finished transfer (request option diagnose =
 * true): curl's phase times, the address, and the server certificate's
 * main fields, copied out before the easy handle is reused. */
#define HTTP_CERT_FIELD 256
typedef struct http_diag {
  double dns, connect, tls, first_byte, total; /* seconds from the start */
  long redirects, ssl_verify;
  char ip[64];
  char subject[HTTP_CERT_FIELD], issuer[HTTP_CERT_FIELD];
  char start_date[64], expire_date[64];
  char ca_file[HTTP_CERT_FIELD];
  int has_cert;
} http_diag;

static void http_diag_copy(char *dst, size_t cap, const char *src, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void http_diag_collect(http_req *r) {
  http_diag *d = r->diag;
  char *ip = NULL, *ca = NULL;
  struct curl_certinfo *ci = NULL;
  curl_easy_getinfo(r->easy, CURLINFO_NAMELOOKUP_TIME, &d->dns);
  curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME, &d->connect);
  curl_easy_getinfo(r->easy, CURLINFO_APPCONNECT_TIME, &d->tls);
  curl_easy_getinfo(r->easy, CURLINFO_STARTTRANSFER_TIME, &d->first_byte);
  curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &d->total);
  curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_COUNT, &d->redirects);
  curl_easy_getinfo(r->easy, CURLINFO_SSL_VERIFYRESULT, &d->ssl_verify);
  if (curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
    http_diag_copy(d->ip, sizeof d->ip, ip, strlen(ip));
  if (curl_easy_getinfo(r->easy, CURLINFO_CAINFO, &ca) == CURLE_OK && ca)
    http_diag_copy(d->ca_file, sizeof d->ca_file, ca, strlen(ca));
  /* the leaf certificate: "Name:value" lines of the chain's first entry */
  if (curl_easy_getinfo(r->easy, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci && ci->num_of_certs > 0) {
    struct curl_slist *l;
    d->has_cert = 1;
    for (l = ci->certinfo[0]; l; l = l->next) {
      const char *v = strchr(l->data, ':');
      size_t nlen;
      if (!v) continue;
      nlen = (size_t)(v - l->data);
      v++;
      if (nlen == 7 && strncmp(l->data, "Subject", 7) == 0) http_diag_copy(d->subject, sizeof d->subject, v, strlen(v));
      else if (nlen == 6 && strncmp(l->data, "Issuer", 6) == 0) http_diag_copy(d->issuer, sizeof d->issuer, v, strlen(v));
      else if (nlen == 10 && strncmp(l->data, "Start date", 10) == 0) http_diag_copy(d->start_date, sizeof d->start_date, v, strlen(v));
      else if (nlen == 11 && strncmp(l->data, "Expire date", 11) == 0) http_diag_copy(d->expire_date, sizeof d->expire_date, v, strlen(v));
    }
  }
}

/* ===== small helpers ===== */

/* The body buffer goes back to the context for the next request. */
static void http_body_release(http_ctx *c, http_req *r) {
  if (c && !c->spare.data && r->body.heap && r->body.cap <= HTTP_SPARE_MAX) {
    c->spare = r->body;
    c->spare.len = 0;
    memset(&r->body, 0, sizeof r->body);
  } else {
    mcpt_buf_free(&r->body);
  }
}

static void http_mark_dirty(http_req *r) {
  http_ctx *c = r->ctx;
  if (r->dirty || !c) return;
  r->dirty = 1;
  r->next_dirty = NULL;
  if (c->dirty_tail) c->dirty_tail->next_dirty = r;
  else c->dirty_head = r;
  c->dirty_tail = r;
}

static void http_unlink_dirty(http_ctx *c, http_req *r) {
  http_req *p, *prev = NULL;
  if (!r->dirty) return;
  for (p = c->dirty_head; p && p != r; p = p->next_dirty) prev = p;
  if (p) {
    if (prev) prev->next_dirty = r->next_dirty;
    else c->dirty_head = r->next_dirty;
    if (c->dirty_tail == r) c->dirty_tail = prev;
  }
  r->dirty = 0;
  r->next_dirty = NULL;
}

/* Keep an easy handle for the next request (up to HTTP_POOL_MAX). */
static void http_park_easy(http_ctx *c, CURL *e) {
  curl_easy_reset(e); /* drops our pointers; connections stay in the multi */
  if (c && c->npool < c->peak && c->npool < HTTP_POOL_MAX) {
    if (c->npool == c->cappool) {
      int cap = c->cappool ? 2 * c->cappool : 8;
      CURL **grown = (CURL **)realloc(c->pool, (size_t)cap * sizeof *grown);
      if (!grown) { curl_easy_cleanup(e); return; }
      c->pool = grown;
      c->cappool = cap;
    }
    c->pool[c->npool++] = e;
  } else curl_easy_cleanup(e);
}

/* Take the easy handle out of the multi and park it in the pool. */
static void http_release_easy(http_req *r) {
  http_ctx *c = r->ctx;
  CURL *e = r->easy;
  if (!e) return;
  r->easy = NULL;
  if (c) {
    curl_multi_remove_handle(c->multi, e);
    if (r->prev_active) r->prev_active->next_active = r->next_active;
    else c->active = r->next_active;
    if (r->next_active) r->next_active->prev_active = r->prev_active;
    r->prev_active = r->next_active = NULL;
    c->nactive--;
  }
  http_park_easy(c, e);
  curl_slist_free_all(r->hdrs);
  r->hdrs = NULL;
}

/* Push an mcptest.Error table (no leading nil) for a failed transfer. */
static void http_push_error(lua_State *L, http_req *r) {
  mcpt_error(L, r->result == CURLE_OPERATION_TIMEDOUT ? "timeout" : "transport", "%s",
             r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
  lua_pushinteger(L, (lua_Integer)r->result);
  lua_setfield(L, -2, "curl_code");
}

/* url parsed once (see HTTP_URL_CACHE), or NULL: let curl parse it. The
 * flags are the ones curl itself parses a CURLOPT_URL string with. */
static const struct http_url *http_parsed_url(http_ctx *c, const char *url) {
  struct http_url *hu;
  CURLU *u;
  char *copy, *host = NULL;
  int i;
  for (i = 0; i < c->nurls; i++)
    if (strcmp(c->urls[i].url, url) == 0) return &c->urls[i];
  if (c->nurls == HTTP_URL_CACHE) return NULL;
  u = curl_url();
  copy = strdup(url);
  if (!u || !copy || curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK
      || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
    curl_url_cleanup(u); /* a URL curl refuses: the transfer reports it */
    free(copy);
    return NULL;
  }
  hu = &c->urls[c->nurls++];
  hu->url = copy;
  hu->parsed = u;
  /* the names the loopback entries of NO_PROXY match exactly */
  hu->loopback = strcasecmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0;
  curl_free(host);
  return hu;
}

static http_ctx *http_getctx(lua_State *L) {
  return (http_ctx *)lua_touserdata(L, lua_upvalueindex(1));
}

/* ===== curl callbacks: buffer and mark, never call Lua ===== */

static int http_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp) {
  http_ctx *c = (http_ctx *)userp;
  int i;
  (void)e;
  (void)sockp;
  for (i = 0; i < c->nsocks && c->socks[i].fd != s; i++) {}
  if (what == CURL_POLL_REMOVE) {
    if (i < c->nsocks) {
      c->socks[i] = c->socks[--c->nsocks];
      c->socks_changed = 1;
    }
    return 0;
  }
  if (i == c->nsocks) {
    if (c->nsocks == c->capsocks) {
      int cap = c->capsocks ? c->capsocks * 2 : 8;
      http_sock *n = (http_sock *)realloc(c->socks, sizeof *n * (size_t)cap);
      if (!n) return -1;
      c->socks = n;
      c->capsocks = cap;
    }
    c->socks[i].fd = s;
    c->socks[i].what = 0;
    c->nsocks++;
  }
  if (c->socks[i].what != what) {
    c->socks[i].what = what;
    c->socks_changed = 1;
  }
  return 0;
}

static int http_timer_cb(CURLM *m, long ms, void *userp) {
  http_ctx *c = (http_ctx *)userp;
  (void)m;
  c->deadline = ms < 0 ? -1.0 : mcpt_now() + (double)ms / 1000.0;
  return 0;
}

static size_t http_header_cb(char *p, size_t size, size_t n, void *ud) {
  http_req *r = (http_req *)ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    r->head.len = 0; /* a new response (after 1xx or a proxy's) */
    r->headers_done = 0;
    r->has_ct = 0;
  }
  if (len == 0 || p[0] == '\r' || p[0] == '\n') { /* end of a header block */
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200) {
      r->status = code;
      r->headers_done = 1;
      curl_easy_getinfo(r->easy, CURLINFO_LOCAL_PORT, &r->local_port);
      http_mark_dirty(r);
    }
    return len;
  }
  if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
    size_t a = 13, b = len;
    while (a < b && (p[a] == ' ' || p[a] == '\t')) a++;
    while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' ')) b--;
    r->ct_off = r->head.len + a;
    r->ct_len = b - a;
    r->has_ct = 1;
  }
  return mcpt_buf_add(&r->head, p, len) == 0 ? len : 0;
}

static size_t http_write_cb(char *p, size_t size, size_t n, void *ud) {
  http_req *r = (http_req *)ud;
  size_t len = size * n;
  if (mcpt_buf_add(&r->body, p, len) != 0) return 0;
  http_mark_dirty(r);
  return len;
}

/* ===== driving curl ===== */

/* Move finished transfers out of the multi; they become dirty. */
static void http_collect(http_ctx *c) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
    http_req *r = NULL;
    if (m->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    if (!r) continue;
    r->result = m->data.result;
    if (r->diag) http_diag_collect(r);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &r->new_conns);
    {
      /* on the wire: from curl's pre-transfer mark (set once the request
       * is built and written, in its DO phase) to the response's last
       * byte read: the total minus lookup, connect, TLS and the request's
       * making. k6's http_req_duration counts the write too. */
      curl_off_t total = 0, pre = 0;
      if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total) == CURLE_OK
          && curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && total >= pre)
        r->wire_us = total - pre;
    }
    if (!r->local_port) curl_easy_getinfo(r->easy, CURLINFO_LOCAL_PORT, &r->local_port);
    if (!r->headers_done) {
      long code = 0;
      curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
      r->status = code;
      r->headers_done = code >= 200;
    }
    r->finished = 1;
    http_mark_dirty(r);
    http_release_easy(r); /* m is invalid from here */
  }
}

/* Call the Lua callback of every request with news, oldest first. A
 * callback that raises leaves the rest queued for the next round. */
static void http_dispatch(lua_State *L, http_ctx *c) {
  http_req *r;
  while ((r = c->dirty_head) != NULL) {
    int finished = r->finished;
    c->dirty_head = r->next_dirty;
    if (!c->dirty_head) c->dirty_tail = NULL;
    r->next_dirty = NULL;
    r->dirty = 0;
    if (r->ref == LUA_NOREF) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref); /* the request */
    lua_getiuservalue(L, -1, 1);                /* its callback */
    lua_insert(L, -2);                          /* stack: cb, req */
    if (r->body.len) {
      lua_pushlstring(L, r->body.data, r->body.len);
      r->body.len = 0;
    } else {
      lua_pushnil(L);
    }
    if (finished) http_body_release(c, r);
    lua_pushboolean(L, finished);
    if (finished && r->result != CURLE_OK) http_push_error(L, r);
    else lua_pushnil(L);
    lua_getiuservalue(L, -4, 4); /* stack: cb, req, chunk, done, err, ctx */
    if (finished) {
      luaL_unref(L, LUA_REGISTRYINDEX, r->ref);
      r->ref = LUA_NOREF;
    }
    lua_call(L, 5, 0);
  }
}

static void http_socket_action(http_ctx *c, curl_socket_t fd, int ev) {
  int running;
  curl_multi_socket_action(c->multi, fd, ev, &running);
  http_collect(c);
}

/* ===== module functions ===== */

/* Append the strings of the table at idx to *list, then "Expect:" (no
 * 100-continue wait). Returns 0, or -1 out of memory (*list keeps what it
 * got, for the caller to free). */
static int http_build_headers(lua_State *L, int idx, struct curl_slist **list) {
  int i, n = lua_istable(L, idx) ? (int)luaL_len(L, idx) : 0;
  struct curl_slist *l;
  for (i = 1; i <= n; i++) {
    const char *s;
    lua_rawgeti(L, idx, i);
    s = lua_tostring(L, -1);
    l = s ? curl_slist_append(*list, s) : *list;
    lua_pop(L, 1);
    if (!l) return -1;
    *list = l;
  }
  l = curl_slist_append(*list, "Expect:");
  if (!l) return -1;
  *list = l;
  return 0;
}

/* http.header_set{"Name: value", ...} -> a set of header lines made into
 * curl's list once, for a transport's every request with the same headers
 * (building and freeing the list took 2,500 instructions per request). It
 * never changes; a request that uses it keeps it alive while in flight. */
typedef struct http_hdrs { struct curl_slist *list; } http_hdrs;

static int http_hdrs_gc(lua_State *L) {
  http_hdrs *hs = (http_hdrs *)luaL_checkudata(L, 1, HTTP_HDRS_MT);
  curl_slist_free_all(hs->list);
  hs->list = NULL;
  return 0;
}

static int http_header_set(lua_State *L) {
  http_hdrs *hs;
  luaL_checktype(L, 1, LUA_TTABLE);
  hs = (http_hdrs *)lua_newuserdatauv(L, sizeof *hs, 0);
  hs->list = NULL;
  luaL_setmetatable(L, HTTP_HDRS_MT);
  if (http_build_headers(L, 1, &hs->list) != 0) return luaL_error(L, "not enough memory");
  return 1;
}

/* A string option or NULL when absent. Only a real string is taken (a
 * number would be converted on the stack, and that copy dies with the pop);
 * a string stays alive after the pop: it is a field of the options table. */
static const char *http_optstring(lua_State *L, const char *field) {
  const char *s = NULL;
  int t = lua_getfield(L, 1, field);
  if (t == LUA_TSTRING) s = lua_tostring(L, -1);
  else if (t != LUA_TNIL)
    return (const char *)(luaL_error(L, "http.request: %s must be a string, not a %s", field,
                                      luaL_typename(L, -1)), NULL);
  lua_pop(L, 1);
  return s;
}

static double http_optnumber(lua_State *L, const char *field) {
  double v;
  lua_getfield(L, 1, field);
  v = lua_isnumber(L, -1) ? (double)lua_tonumber(L, -1) : 0.0;
  lua_pop(L, 1);
  return v;
}

/* http.request{ url=, method="GET", headers={"Name: value", ...} or a header_set, body=,
 *   timeout=s, connect_timeout=s, ca_file=, cert_file=, key_file=, insecure=bool,
 *   on=function, ctx= }
 * -> request, or nil, err when curl cannot even start it. */
static int http_request(lua_State *L) {
  http_ctx *c = http_getctx(L);
  const char *url, *method, *ca_file, *cert_file, *key_file;
  http_req *r;
  CURL *e;
  const struct http_url *hu;
  size_t bodylen = 0;
  const char *body = NULL;
  double t;
  luaL_checktype(L, 1, LUA_TTABLE);
  url = http_optstring(L, "url");
  luaL_argcheck(L, url != NULL, 1, "url (a string) is required");
  method = http_optstring(L, "method");
  if (!method) method = "GET";
  ca_file = http_optstring(L, "ca_file"); /* every check that may raise comes first */
  cert_file = http_optstring(L, "cert_file");
  key_file = http_optstring(L, "key_file");
  r = (http_req *)lua_newuserdatauv(L, sizeof *r, 5); /* uv: on, body, headers, ctx, header set */
  memset(r, 0, sizeof *r);
  r->ref = LUA_NOREF;
  r->wire_us = -1;
  r->head.data = r->head_inline;
  r->head.cap = sizeof r->head_inline;
  if (c->spare.data) { /* reuse the last request's body buffer */
    r->body = c->spare;
    memset(&c->spare, 0, sizeof c->spare);
  }
  luaL_setmetatable(L, HTTP_REQ_MT);
  lua_getfield(L, 1, "on");
  luaL_argcheck(L, lua_isfunction(L, -1), 1, "on (a callback function) is required");
  lua_setiuservalue(L, -2, 1);
  lua_getfield(L, 1, "ctx"); /* handed back to on(): one callback serves many requests */
  lua_setiuservalue(L, -2, 4);
  lua_getfield(L, 1, "body");
  if (lua_type(L, -1) == LUA_TSTRING) body = lua_tolstring(L, -1, &bodylen);
  lua_setiuservalue(L, -2, 2); /* anchors the body while curl reads it */

  e = c->npool > 0 ? c->pool[--c->npool] : curl_easy_init();
  if (!e) return mcpt_fail(L, "transport", "curl_easy_init failed");
  lua_getfield(L, 1, "headers"); /* a list of lines, or a header set */
  {
    http_hdrs *hs = (http_hdrs *)luaL_testudata(L, -1, HTTP_HDRS_MT);
    if (hs) {
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, hs->list);
      lua_setiuservalue(L, -2, 5); /* alive while curl reads it */
    } else {
      int rc = http_build_headers(L, lua_gettop(L), &r->hdrs);
      lua_pop(L, 1);
      if (rc != 0) goto nomem;
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    }
  }
  curl_easy_setopt(e, CURLOPT_URL, url); /* (error messages, the effective URL) */
  hu = http_parsed_url(c, url);
  if (hu) curl_easy_setopt(e, CURLOPT_CURLU, hu->parsed); /* overrides the string's parse */
  curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)r);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  /* curl's receive buffer (16 KiB by default) lives as long as the easy
   * handle, one per transfer in flight: 4 KiB holds a typical MCP answer
   * in one read and saved 9 MB of peak RSS at 1,000 VUs (a large body
   * only takes more reads). */
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (strcmp(method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body || strcmp(method, "POST") == 0) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
    }
  }
  if ((t = http_optnumber(L, "timeout")) > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(t * 1000.0));
  if ((t = http_optnumber(L, "connect_timeout")) > 0)
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(t * 1000.0));
  if (ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
  if (cert_file) curl_easy_setopt(e, CURLOPT_SSLCERT, cert_file); /* mTLS: tls.cert_file */
  if (key_file) curl_easy_setopt(e, CURLOPT_SSLKEY, key_file);
  /* libcurl's proxy variables (http_proxy, https_proxy, NO_PROXY) apply,
   * but loopback (the fixture, the OAuth callback) never goes through a
   * proxy: NO_PROXY plus the loopback names. A URL known to be loopback
   * says "no proxy" outright: curl then skips reading the variables and
   * matching NO_PROXY, 7,000 instructions per request (4% of a load run's). */
  if (hu && hu->loopback) curl_easy_setopt(e, CURLOPT_PROXY, "");
  else curl_easy_setopt(e, CURLOPT_NOPROXY, c->noproxy ? c->noproxy : "localhost,127.0.0.1,::1");
  lua_getfield(L, 1, "insecure");
  if (lua_toboolean(L, -1)) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "diagnose");
  if (lua_toboolean(L, -1)) {
    r->diag = (http_diag *)calloc(1, sizeof *r->diag);
    if (!r->diag) goto nomem;
    curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  }
  lua_pop(L, 1);

  r->easy = e;
  r->ctx = c;
  if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
    r->ctx = NULL;
    http_release_easy(r);
    return mcpt_fail(L, "transport", "curl_multi_add_handle failed for %s", url);
  }
  r->next_active = c->active;
  if (c->active) c->active->prev_active = r;
  c->active = r;
  /* curl keeps 4 idle connections per easy handle in the multi *now* and
   * closes the oldest beyond that, so when the transfers in flight dip
   * (many callers between requests) it closes kept-alive connections that
   * the next round opens again: under 64 concurrent callers about one
   * request in ten paid a new connection. Size the cache by the most
   * transfers ever in flight at once instead. */
  if (++c->nactive > c->peak) {
    c->peak = c->nactive;
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 4 * c->peak);
  }
  lua_pushvalue(L, -1);
  r->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* alive while in flight */
  /* Start now: on a kept-alive connection the request is written at once.
   * Whatever finishes is dispatched by the next action()/on_timeout(). */
  http_socket_action(c, CURL_SOCKET_TIMEOUT, 0);
  return 1;
nomem:
  curl_slist_free_all(r->hdrs);
  r->hdrs = NULL;
  http_park_easy(c, e);
  return luaL_error(L, "not enough memory");
}

/* http.fds() -> read_fds, write_fds: the sockets curl wants watched. */
static int http_fds(lua_State *L) {
  http_ctx *c = http_getctx(L);
  int i, nr = 0, nw = 0;
  if (c->capseen < c->nsocks) {
    http_sock *n = (http_sock *)realloc(c->seen, sizeof *n * (size_t)c->capsocks);
    if (!n) return luaL_error(L, "not enough memory");
    c->seen = n;
    c->capseen = c->capsocks;
  }
  if (c->nsocks) memcpy(c->seen, c->socks, sizeof *c->seen * (size_t)c->nsocks);
  c->nseen = c->nsocks;
  c->socks_changed = 0;
  lua_createtable(L, c->nsocks, 0);
  lua_createtable(L, 0, 0);
  for (i = 0; i < c->nsocks; i++) {
    if (c->socks[i].what & CURL_POLL_IN) {
      lua_pushinteger(L, c->socks[i].fd);
      lua_rawseti(L, -3, ++nr);
    }
    if (c->socks[i].what & CURL_POLL_OUT) {
      lua_pushinteger(L, c->socks[i].fd);
      lua_rawseti(L, -2, ++nw);
    }
  }
  return 2;
}

/* http.timeout() -> seconds until curl needs service (nil: no timer; 0 when
 * callbacks are pending), sockets_changed (since the previous call). */
static int http_timeout(lua_State *L) {
  http_ctx *c = http_getctx(L);
  if (c->dirty_head) lua_pushnumber(L, 0);
  else if (c->deadline < 0) lua_pushnil(L);
  else {
    double t = c->deadline - mcpt_now();
    lua_pushnumber(L, t > 0 ? t : 0);
  }
  /* A kept-alive connection leaves curl's set when its transfer ends and
   * comes back with the next request: usually the same set again, and
   * then the loop need not rebuild its descriptor lists. */
  if (c->socks_changed) {
    int i, j, same = c->nsocks == c->nseen;
    for (i = 0; same && i < c->nsocks; i++) {
      for (j = 0; j < c->nseen && c->seen[j].fd != c->socks[i].fd; j++) {}
      same = j < c->nseen && c->seen[j].what == c->socks[i].what;
    }
    if (same) c->socks_changed = 0;
  }
  lua_pushboolean(L, c->socks_changed);
  return 2;
}

/* http.action(fd, what): what is poll's "r", "w", "rw" or "e". */
static int http_action(lua_State *L) {
  http_ctx *c = http_getctx(L);
  curl_socket_t fd = (curl_socket_t)luaL_checkinteger(L, 1);
  const char *what = luaL_optstring(L, 2, "r");
  int ev = 0;
  if (strchr(what, 'r')) ev |= CURL_CSELECT_IN;
  if (strchr(what, 'w')) ev |= CURL_CSELECT_OUT;
  if (strchr(what, 'e')) ev |= CURL_CSELECT_IN | CURL_CSELECT_ERR;
  http_socket_action(c, fd, ev);
  http_dispatch(L, c);
  return 0;
}

/* http.on_timeout(): run curl's timers if due, then pending callbacks. */
static int http_on_timeout(lua_State *L) {
  http_ctx *c = http_getctx(L);
  if (c->deadline >= 0 && mcpt_now() >= c->deadline) http_socket_action(c, CURL_SOCKET_TIMEOUT, 0);
  http_dispatch(L, c);
  return 0;
}

/* http.active() -> number of transfers in flight. */
static int http_active(lua_State *L) {
  http_ctx *c = http_getctx(L);
  http_req *r;
  lua_Integer n = 0;
  for (r = c->active; r; r = r->next_active) n++;
  lua_pushinteger(L, n);
  return 1;
}

/* ===== request methods ===== */

static http_req *http_checkreq(lua_State *L) {
  return (http_req *)luaL_checkudata(L, 1, HTTP_REQ_MT);
}

/* req:status() -> HTTP status of the final response (0 before headers). */
static int http_req_status(lua_State *L) {
  http_req *r = http_checkreq(L);
  lua_pushinteger(L, r->headers_done ? r->status : 0);
  return 1;
}

/* req:info() -> status, content_type|nil (lower-case, parameters kept),
 * kind ("json", "sse" or nil): what a transport needs at the first sight
 * of a response, in one call. */
static int http_req_info(lua_State *L) {
  http_req *r = http_checkreq(L);
  lua_pushinteger(L, r->headers_done ? r->status : 0);
  if (r->headers_done && r->has_ct && r->ct_off + r->ct_len <= r->head.len) {
    char buf[128];
    size_t i, n = r->ct_len < sizeof buf ? r->ct_len : sizeof buf;
    for (i = 0; i < n; i++) {
      char ch = r->head.data[r->ct_off + i];
      buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    lua_pushlstring(L, buf, n);
    /* the body's kind, as Lua patterns would say it (two string.find per
     * response cost 2,400 instructions): "^text/event%-stream" is "sse";
     * "^application/json" and "^application/[%w.%-]+%+json" are "json" */
    if (n >= 17 && memcmp(buf, "text/event-stream", 17) == 0) lua_pushliteral(L, "sse");
    else if (n >= 12 && memcmp(buf, "application/", 12) == 0) {
      size_t k = 12;
      int json = n >= 16 && memcmp(buf + 12, "json", 4) == 0;
      while (!json && k < n && (isalnum((unsigned char)buf[k]) || buf[k] == '.' || buf[k] == '-')) {
        k++;
        json = k > 12 && n - k >= 5 && memcmp(buf + k, "+json", 5) == 0;
      }
      if (json) lua_pushliteral(L, "json"); else lua_pushnil(L);
    } else lua_pushnil(L);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  return 3;
}

/* Walk "Name: value\r\n" lines; calls fn for each, stops when it returns 1. */
typedef int (*http_hdr_fn)(lua_State *L, const char *name, size_t nlen,
                           const char *val, size_t vlen, void *ud);

static void http_walk_headers(lua_State *L, http_req *r, http_hdr_fn fn, void *ud) {
  const char *p = r->head.data, *end = p + r->head.len;
  while (p && p < end) {
    const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end, *colon, *v, *ve;
    if (!eol) eol = end;
    colon = (const char *)memchr(p, ':', (size_t)(line_end - p));
    /* a status line (never shorter than "HTTP/") is no header; a short
     * last line must not be read past its end */
    if (colon && !(line_end - p >= 5 && memcmp(p, "HTTP/", 5) == 0)) {
      v = colon + 1;
      ve = line_end;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      if (fn(L, p, (size_t)(colon - p), v, (size_t)(ve - v), ud)) return;
    }
    p = eol + 1;
  }
}

static int http_find_one(lua_State *L, const char *name, size_t nlen,
                         const char *val, size_t vlen, void *ud) {
  const char *want = (const char *)ud;
  if (strlen(want) == nlen && strncasecmp(want, name, nlen) == 0) {
    lua_pushlstring(L, val, vlen);
    return 1;
  }
  return 0;
}

/* req:header(name) -> value of the first header so named, or nil. */
static int http_req_header(lua_State *L) {
  http_req *r = http_checkreq(L);
  const char *name = luaL_checkstring(L, 2);
  int top = lua_gettop(L);
  http_walk_headers(L, r, http_find_one, (void *)name);
  if (lua_gettop(L) == top) lua_pushnil(L);
  return 1;
}

static int http_add_one(lua_State *L, const char *name, size_t nlen,
                        const char *val, size_t vlen, void *ud) {
  char lower[128];
  size_t i;
  (void)ud;
  if (nlen >= sizeof lower) return 0;
  for (i = 0; i < nlen; i++) {
    char ch = name[i];
    lower[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  lua_pushlstring(L, lower, nlen); /* stack: t, name */
  if (lua_rawget(L, -2) == LUA_TSTRING) { /* repeated: join with ", " */
    lua_pushliteral(L, ", ");
    lua_pushlstring(L, val, vlen);
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushlstring(L, val, vlen);
  }
  lua_pushlstring(L, lower, nlen);
  lua_insert(L, -2);
  lua_rawset(L, -3);
  return 0;
}

/* req:headers() -> { lower-case name = value }, repeated names joined. */
static int http_req_headers(lua_State *L) {
  http_req *r = http_checkreq(L);
  if (lua_getiuservalue(L, 1, 3) == LUA_TTABLE) return 1;
  lua_pop(L, 1);
  lua_newtable(L);
  http_walk_headers(L, r, http_add_one, NULL);
  if (r->finished) { /* final: cache it */
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 3);
  }
  return 1;
}

/* req:abort(): stop the transfer; its callback is not called again. */
static int http_req_abort(lua_State *L) {
  http_req *r = http_checkreq(L);
  http_ctx *c = r->ctx;
  if (c) http_unlink_dirty(c, r);
  if (r->diag && r->easy && !r->finished) http_diag_collect(r); /* how far it got */
  http_release_easy(r);
  r->ctx = NULL;
  if (!r->finished) r->finished = -1;
  if (r->ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, r->ref);
    r->ref = LUA_NOREF;
  }
  return 0;
}

/* req:connection() -> local_port, new_connections: the local port of the
 * connection that carried the response (0 before it is known) and how
 * many connections curl had to open for this transfer (0 when it reused a
 * kept-alive one; known once the transfer has finished). */
static int http_req_connection(lua_State *L) {
  http_req *r = http_checkreq(L);
  lua_pushinteger(L, (lua_Integer)r->local_port);
  lua_pushinteger(L, (lua_Integer)r->new_conns);
  return 2;
}

/* req:wire_time() -> seconds from the request written (curl's
 * pre-transfer mark) to the response's last byte read, or nil before the
 * transfer ended. */
static int http_req_wire_time(lua_State *L) {
  http_req *r = http_checkreq(L);
  if (r->easy || r->wire_us < 0) lua_pushnil(L);
  else lua_pushnumber(L, (lua_Number)r->wire_us / 1e6);
  return 1;
}

/* req:running() -> true while the transfer is in flight. */
static int http_req_running(lua_State *L) {
  http_req *r = http_checkreq(L);
  lua_pushboolean(L, r->easy != NULL);
  return 1;
}

static int http_req_gc(lua_State *L) {
  http_req *r = http_checkreq(L);
  http_req_abort(L);
  mcpt_buf_free(&r->body);
  mcpt_buf_free(&r->head);
  free(r->diag);
  r->diag = NULL;
  return 0;
}

/* req:diagnostics() -> { dns=, connect=, tls=, first_byte=, total= (seconds
 * from the start, 0 for a phase not reached), ip=, redirects=,
 * ssl_verify= (OpenSSL's verify result), ca_file=, cert = { subject=,
 * issuer=, start_date=, expire_date= } }, or nil without diagnose = true
 * or before the transfer ended. */
static int http_req_diagnostics(lua_State *L) {
  http_req *r = http_checkreq(L);
  http_diag *d = r->diag;
  if (!d || r->easy) { lua_pushnil(L); return 1; }
  lua_createtable(L, 0, 10);
  lua_pushnumber(L, d->dns); lua_setfield(L, -2, "dns");
  lua_pushnumber(L, d->connect); lua_setfield(L, -2, "connect");
  lua_pushnumber(L, d->tls); lua_setfield(L, -2, "tls");
  lua_pushnumber(L, d->first_byte); lua_setfield(L, -2, "first_byte");
  lua_pushnumber(L, d->total); lua_setfield(L, -2, "total");
  lua_pushinteger(L, d->redirects); lua_setfield(L, -2, "redirects");
  lua_pushinteger(L, d->ssl_verify); lua_setfield(L, -2, "ssl_verify");
  if (d->ip[0]) { lua_pushstring(L, d->ip); lua_setfield(L, -2, "ip"); }
  if (d->ca_file[0]) { lua_pushstring(L, d->ca_file); lua_setfield(L, -2, "ca_file"); }
  if (d->has_cert) {
    lua_createtable(L, 0, 4);
    lua_pushstring(L, d->subject); lua_setfield(L, -2, "subject");
    lua_pushstring(L, d->issuer); lua_setfield(L, -2, "issuer");
    lua_pushstring(L, d->start_date); lua_setfield(L, -2, "start_date");
    lua_pushstring(L, d->expire_date); lua_setfield(L, -2, "expire_date");
    lua_setfield(L, -2, "cert");
  }
  return 1;
}

static int http_req_tostring(lua_State *L) {
  http_req *r = http_checkreq(L);
  lua_pushfstring(L, "mcptest.HttpRequest (%s, status %d)",
                  r->easy ? "running" : "done", (int)r->status);
  return 1;
}

/* ===== context lifetime ===== */

static int http_ctx_gc(lua_State *L) {
  http_ctx *c = (http_ctx *)luaL_checkudata(L, 1, HTTP_CTX_MT);
  http_req *r;
  free(c->noproxy);
  c->noproxy = NULL;
  if (!c->multi) return 0;
  while ((r = c->active) != NULL) {
    http_release_easy(r); /* unlinks r */
    r->ctx = NULL;
  }
  c->dirty_head = c->dirty_tail = NULL;
  mcpt_buf_free(&c->spare);
  while (c->nurls > 0) { /* after every transfer that could read them */
    c->nurls--;
    curl_url_cleanup(c->urls[c->nurls].parsed);
    free(c->urls[c->nurls].url);
  }
  while (c->npool > 0) curl_easy_cleanup(c->pool[--c->npool]);
  free(c->pool);
  c->pool = NULL;
  c->cappool = 0;
  curl_multi_cleanup(c->multi);
  c->multi = NULL;
  free(c->socks);
  free(c->seen);
  c->socks = c->seen = NULL;
  c->nsocks = c->capsocks = 0;
  return 0;
}

static const luaL_Reg http_funcs[] = {
  {"request", http_request},
  {"fds", http_fds},
  {"timeout", http_timeout},
  {"action", http_action},
  {"on_timeout", http_on_timeout},
  {"active", http_active},
  {"header_set", http_header_set},
  {NULL, NULL}
};

static const luaL_Reg http_req_methods[] = {
  {"status", http_req_status},
  {"info", http_req_info},
  {"header", http_req_header},
  {"headers", http_req_headers},
  {"abort", http_req_abort},
  {"running", http_req_running},
  {"connection", http_req_connection},
  {"wire_time", http_req_wire_time},
  {"diagnostics", http_req_diagnostics},
  {NULL, NULL}
};

int luaopen_mcptest_core_http(lua_State *L) {
  http_ctx *c;
  if (luaL_newmetatable(L, HTTP_REQ_MT)) {
    luaL_newlib(L, http_req_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, http_req_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, http_req_gc);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, http_req_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, HTTP_HDRS_MT)) {
    lua_pushcfunction(L, http_hdrs_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_newlibtable(L, http_funcs);
  c = (http_ctx *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->deadline = -1.0;
  if (luaL_newmetatable(L, HTTP_CTX_MT)) {
    lua_pushcfunction(L, http_ctx_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  c->multi = curl_multi_init();
  if (!c->multi) return luaL_error(L, "curl_multi_init failed");
  { /* the user's NO_PROXY (CURLOPT_NOPROXY replaces it), then loopback */
    const char *np = getenv("NO_PROXY");
    const char *lo = "localhost,127.0.0.1,::1";
    if (!np || !*np) np = getenv("no_proxy");
    if (np && *np && strcmp(np, "*") != 0) {
      c->noproxy = (char *)malloc(strlen(np) + strlen(lo) + 2);
      if (c->noproxy) sprintf(c->noproxy, "%s,%s", np, lo);
    } else if (np && strcmp(np, "*") == 0) {
      c->noproxy = strdup("*");
    }
  }
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, http_sock_cb);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, (void *)c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, (void *)c);
  /* the context lives as long as the module's functions (their upvalue),
   * and is also anchored in the module table against early collection */
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "_context");
  luaL_setfuncs(L, http_funcs, 1); /* stack: module; every function shares c */
  return 1;
}
