/*
 * httpd.c: mcptest.core.httpd, an HTTP/1.1 server for the fixture, over
 * libmicrohttpd. C does sockets and HTTP framing; Lua (lua/mcptest/server/)
 * does every policy decision: routing, status codes, bodies, streams.
 *
 * The daemon runs in MHD's "external epoll" mode, so no thread ever exists
 * and no callback ever calls into Lua. Lua watches fd() in its loop and calls
 * run() when it is readable or when timeout() expires. A request that is
 * fully received is suspended and queued; run() returns the queued requests
 * as plain tables. Lua then answers each one whenever it likes (at once, or
 * seconds later) with respond(), or turns it into a stream (stream(),
 * write(), finish()) used for Server-Sent Events, or drops it. Streams use a
 * content-reader callback that suspends the connection while its buffer is
 * empty, so an idle SSE stream costs no CPU.
 *
 * Requests are named by integer ids, never by pointers, so a late answer to
 * a connection the client has closed is simply refused ("gone").
 * Bodies larger than max_body are not buffered: the request reaches Lua
 * with too_large = true and an empty body, for a 413.
 * The daemon binds 127.0.0.1 only. It never logs request contents.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "mcptest.h"

#define HTTPD_MT "mcptest.Httpd"
#define HTTPD_BUCKETS 4096
#define HTTPD_DISCARD_MAX (64u * 1024u * 1024u) /* then close instead of reading on */
#define HTTPD_STREAM_MAX (16u * 1024u * 1024u)  /* unsent SSE bytes before a cut */

enum httpd_state {
  HTTPD_RECEIVING, /* headers/body still arriving */
  HTTPD_QUEUED,    /* handed (or about to be handed) to Lua, suspended */
  HTTPD_ANSWERED,  /* a complete response is queued */
  HTTPD_STREAMING  /* a streaming response is queued */
};

struct httpd;

typedef struct httpd_req {
  struct httpd *d;
  struct MHD_Connection *conn;
  struct httpd_req *hnext;                /* hash chain by id */
  struct httpd_req *qnext;                /* pending queue for run() */
  lua_Integer id;
  int state;
  int started;      /* the access handler has seen this request */
  int suspended;    /* MHD_suspend_connection is in effect */
  int drop;         /* close without answering once resumed */
  int too_large;
  int known;        /* Lua has seen it: report its end in run() */
  char method[16];
  char *uri;        /* raw request target, with the query string */
  char *path;       /* decoded path, from MHD */
  mcpt_buf body;     /* the request body, up to max_body */
  size_t discarded;
  char *sbuf;       /* stream bytes not yet taken by MHD */
  size_t soff, slen, scap;
  int sclosed;      /* 0 open, 1 end normally, 2 cut (close abruptly) */
} httpd_req;

typedef struct httpd {
  struct MHD_Daemon *mhd;
  httpd_req *buckets[HTTPD_BUCKETS];
  httpd_req *qhead, *qtail;
  lua_Integer next_id;
  lua_Integer *closed;     /* ids of known requests that ended since run() */
  size_t nclosed, capclosed;
  size_t live;
  size_t max_body;
  int port;
  int verbose;
  int closing;             /* close() has begun: refuse, never suspend */
} httpd_t;

/* ===== request registry ===== */

static void httpd_link(httpd_t *d, httpd_req *r) {
  size_t b = (size_t)r->id % HTTPD_BUCKETS;
  r->hnext = d->buckets[b];
  d->buckets[b] = r;
  d->live++;
}

static void httpd_unlink(httpd_t *d, httpd_req *r) {
  httpd_req **p = &d->buckets[(size_t)r->id % HTTPD_BUCKETS];
  while (*p && *p != r) p = &(*p)->hnext;
  if (*p) { *p = r->hnext; d->live--; }
}

static httpd_req *httpd_find(httpd_t *d, lua_Integer id) {
  httpd_req *r = d->buckets[(size_t)id % HTTPD_BUCKETS];
  while (r && r->id != id) r = r->hnext;
  return r;
}

static void httpd_note_closed(httpd_t *d, lua_Integer id) {
  if (d->nclosed == d->capclosed) {
    size_t cap = d->capclosed ? d->capclosed * 2 : 64;
    lua_Integer *n = (lua_Integer *)realloc(d->closed, cap * sizeof *n);
    if (!n) return; /* Lua then learns of the end when it next writes */
    d->closed = n;
    d->capclosed = cap;
  }
  d->closed[d->nclosed++] = id;
}

static void httpd_resume(httpd_req *r) {
  if (r->suspended) {
    r->suspended = 0;
    MHD_resume_connection(r->conn);
  }
}

/* ===== MHD callbacks (no Lua in here) ===== */

/* Called once per request before headers are parsed: our request object. */
static void *httpd_uri_log(void *cls, const char *uri, struct MHD_Connection *conn) {
  httpd_t *d = (httpd_t *)cls;
  httpd_req *r = (httpd_req *)calloc(1, sizeof *r);
  if (!r) return NULL;
  r->uri = strdup(uri ? uri : "/");
  if (!r->uri) { free(r); return NULL; }
  r->d = d;
  r->conn = conn;
  r->id = ++d->next_id;
  httpd_link(d, r);
  return r;
}

static void httpd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe) {
  httpd_t *d = (httpd_t *)cls;
  httpd_req *r = (httpd_req *)*con_cls;
  (void)conn; (void)toe;
  if (!r) return;
  httpd_unlink(d, r);
  if (r->known) httpd_note_closed(d, r->id);
  free(r->uri);
  free(r->path);
  mcpt_buf_free(&r->body);
  free(r->sbuf);
  free(r);
  *con_cls = NULL;
}

static void httpd_enqueue(httpd_t *d, httpd_req *r) {
  r->state = HTTPD_QUEUED;
  r->qnext = NULL;
  if (d->qtail) d->qtail->qnext = r;
  else d->qhead = r;
  d->qtail = r;
  r->suspended = 1;
  MHD_suspend_connection(r->conn);
}

/* Framing headers, counted before the body is read (RFC 9112 6.3). */
typedef struct httpd_framing {
  int ncl, cl_differ, nte, te_chunked_only;
  const char *cl;
} httpd_framing;

static enum MHD_Result httpd_framing_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value) {
  httpd_framing *f = (httpd_framing *)cls;
  (void)kind;
  if (!key || !value) return MHD_YES;
  if (strcasecmp(key, "Content-Length") == 0) {
    if (f->ncl++ && strcmp(f->cl, value) != 0) f->cl_differ = 1;
    if (f->ncl == 1) f->cl = value;
  } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
    f->nte++;
    f->te_chunked_only = strcasecmp(value, "chunked") == 0 && f->nte == 1;
  }
  return MHD_YES;
}

/* A request whose length is ambiguous (two differing Content-Length, both
 * Content-Length and Transfer-Encoding: a smuggling attempt) gets 400 and
 * a Transfer-Encoding other than chunked 501, at once and with the
 * connection closed (RFC 9112 6.3), before any of its body is read. MHD
 * sends a response queued on the first call and then closes. Returns the
 * status sent, 0 when the framing is fine. */
static int httpd_refuse_framing(struct MHD_Connection *conn) {
  httpd_framing f;
  const char *why = NULL;
  int status = 0;
  struct MHD_Response *resp;
  memset(&f, 0, sizeof f);
  MHD_get_connection_values(conn, MHD_HEADER_KIND, httpd_framing_cb, &f);
  if (f.cl_differ) status = 400, why = "two Content-Length headers that differ\n";
  else if (f.ncl && f.nte) status = 400, why = "both Content-Length and Transfer-Encoding (RFC 9112 section 6.3)\n";
  else if (f.nte && !f.te_chunked_only) status = 501, why = "a Transfer-Encoding other than chunked is not implemented\n";
  if (!status) return 0;
  resp = MHD_create_response_from_buffer(strlen(why), (void *)why, MHD_RESPMEM_PERSISTENT);
  if (!resp) return 0;
  MHD_add_response_header(resp, "Content-Type", "text/plain");
  MHD_add_response_header(resp, "Connection", "close");
  MHD_queue_response(conn, (unsigned int)status, resp);
  MHD_destroy_response(resp);
  return status;
}

static enum MHD_Result httpd_access(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload, size_t *upload_size, void **con_cls) {
  httpd_t *d = (httpd_t *)cls;
  httpd_req *r = (httpd_req *)*con_cls;
  (void)version;
  if (!r) return MHD_NO; /* out of memory in httpd_uri_log */
  if (d->closing) return MHD_NO; /* stopping: never queue (suspend) anything new */
  r->conn = conn;
  if (!r->started) {
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    r->started = 1;
    if (httpd_refuse_framing(conn)) {
      r->drop = 1; /* answered here; Lua never sees it */
      return MHD_YES;
    }
    strncpy(r->method, method ? method : "GET", sizeof r->method - 1);
    r->path = strdup(url ? url : "/");
    if (!r->path) return MHD_NO;
    if (cl && strtoull(cl, NULL, 10) > d->max_body) {
      r->too_large = 1; /* answer now: MHD then discards the body and closes */
      httpd_enqueue(d, r);
    }
    return MHD_YES;
  }
  if (*upload_size > 0) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (r->too_large || r->body.len + n > d->max_body) {
      r->too_large = 1;
      mcpt_buf_free(&r->body);
      r->discarded += n;
      return r->discarded > HTTPD_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    return mcpt_buf_add(&r->body, upload, n) == 0 ? MHD_YES : MHD_NO;
  }
  if (r->drop) return MHD_NO; /* resumed only to be closed */
  if (r->state == HTTPD_RECEIVING) {
    httpd_enqueue(d, r);
    return MHD_YES;
  }
  return MHD_NO; /* resumed with no answer: nothing sensible to send */
}

/* Content reader of a stream: hand over buffered bytes, or sleep. */
static ssize_t httpd_stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  httpd_req *r = (httpd_req *)cls;
  size_t n = r->slen - r->soff;
  (void)pos;
  if (r->sclosed == 2 && r->drop) return MHD_CONTENT_READER_END_WITH_ERROR;
  if (n > 0) {
    if (n > max) n = max;
    memcpy(buf, r->sbuf + r->soff, n);
    r->soff += n;
    if (r->soff == r->slen) r->soff = r->slen = 0;
    return (ssize_t)n;
  }
  if (r->sclosed == 1) return MHD_CONTENT_READER_END_OF_STREAM;
  if (r->sclosed == 2 || r->d->closing) return MHD_CONTENT_READER_END_WITH_ERROR;
  r->suspended = 1;
  MHD_suspend_connection(r->conn);
  return 0;
}

static void httpd_log(void *cls, const char *fmt, va_list ap) {
  httpd_t *d = (httpd_t *)cls;
  if (d && d->verbose) {
    fputs("mcptest serve: httpd: ", stderr);
    vfprintf(stderr, fmt, ap);
  }
}

/* ===== Lua API ===== */

static httpd_t *httpd_check(lua_State *L) {
  httpd_t *d = (httpd_t *)luaL_checkudata(L, 1, HTTPD_MT);
  if (!d->mhd) luaL_error(L, "attempt to use a closed httpd");
  return d;
}

/* The request named by argument 2 that Lua may still act on; NULL when
 * it is gone. */
static httpd_req *httpd_req_arg(lua_State *L) {
  return httpd_find(httpd_check(L), luaL_checkinteger(L, 2));
}

/* Close r's connection without (more of) an answer once MHD runs. */
static void httpd_cut(httpd_req *r) {
  r->drop = 1;
  r->sclosed = 2;
  r->soff = r->slen = 0;
  httpd_resume(r);
}

/* httpd.start{port=, max_body=, timeout=, max_connections=, verbose=}
 * -> daemon | nil, err. Always 127.0.0.1; port 0 picks a free port. */
static int httpd_start(lua_State *L) {
  httpd_t *d;
  struct sockaddr_in sa;
  socklen_t salen = sizeof sa;
  const union MHD_DaemonInfo *info;
  int port, timeout, maxconn;
  unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "port");
  port = (int)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 1, "timeout");
  timeout = (int)luaL_optinteger(L, -1, 30);
  lua_getfield(L, 1, "max_connections");
  maxconn = (int)luaL_optinteger(L, -1, 4096);
  luaL_argcheck(L, port >= 0 && port <= 65535, 1, "port must be 0..65535");
  d = (httpd_t *)lua_newuserdatauv(L, sizeof *d, 0);
  memset(d, 0, sizeof *d); /* closed until the daemon runs */
  luaL_setmetatable(L, HTTPD_MT);
  lua_getfield(L, 1, "max_body");
  d->max_body = (size_t)luaL_optinteger(L, -1, 1024 * 1024);
  lua_getfield(L, 1, "verbose");
  d->verbose = lua_toboolean(L, -1);
  lua_pop(L, 2);
  if (d->verbose) flags |= MHD_USE_ERROR_LOG;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  errno = 0;
  d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, httpd_access, d,
                            MHD_OPTION_EXTERNAL_LOGGER, httpd_log, d, /* first, or MHD warns */
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_URI_LOG_CALLBACK, httpd_uri_log, d,
                            MHD_OPTION_NOTIFY_COMPLETED, httpd_completed, d,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)timeout,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)maxconn,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
                            MHD_OPTION_END);
  if (!d->mhd)
    return mcpt_fail(L, "transport", "cannot listen on 127.0.0.1:%d: %s", port,
                     errno ? strerror(errno) : "libmicrohttpd refused to start");
  info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_LISTEN_FD);
  if (info && getsockname(info->listen_fd, (struct sockaddr *)&sa, &salen) == 0)
    d->port = ntohs(sa.sin_port);
  else
    d->port = port;
  return 1;
}

static int httpd_port(lua_State *L) {
  lua_pushinteger(L, httpd_check(L)->port);
  return 1;
}

/* d:fd() -> the epoll descriptor to watch for readability */
static int httpd_fd(lua_State *L) {
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(httpd_check(L)->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  lua_pushinteger(L, info ? info->epoll_fd : -1);
  return 1;
}

/* d:timeout() -> seconds until run() is due, or nil for "only on activity" */
static int httpd_timeout(lua_State *L) {
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(httpd_check(L)->mhd, &ms) != MHD_YES) return 0;
  lua_pushnumber(L, (double)ms / 1000.0);
  return 1;
}

/* One header for lua_State iteration: lower-case names, repeats joined,
 * values without the trailing whitespace RFC 9110 5.5 says is not part of
 * them (libmicrohttpd strips only the leading). */
static enum MHD_Result httpd_push_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value) {
  lua_State *L = (lua_State *)cls;
  char name[256];
  size_t i, n;
  (void)kind;
  if (!key) return MHD_YES;
  if (!value) value = "";
  n = strlen(value);
  while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t')) n--;
  for (i = 0; key[i] && i < sizeof name - 1; i++)
    name[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
  name[i] = '\0';
  if (lua_getfield(L, -1, name) == LUA_TSTRING) {
    lua_pushliteral(L, ", ");
    lua_pushlstring(L, value, n);
    lua_concat(L, 3); /* stack: headers, joined */
  } else {
    lua_pop(L, 1);
    lua_pushlstring(L, value, n);
  }
  lua_setfield(L, -2, name);
  return MHD_YES;
}

/* Build the request table Lua sees. stack: +1 table */
static void httpd_push_request(lua_State *L, httpd_req *r) {
  const union MHD_ConnectionInfo *ci;
  const char *q = strchr(r->uri, '?');
  char addr[INET6_ADDRSTRLEN] = "";
  lua_createtable(L, 0, 9);
  lua_pushinteger(L, r->id);
  lua_setfield(L, -2, "id");
  lua_pushstring(L, r->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, r->path ? r->path : "/");
  lua_setfield(L, -2, "path");
  lua_pushstring(L, q ? q + 1 : "");
  lua_setfield(L, -2, "query_string");
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  lua_setfield(L, -2, "body");
  if (r->too_large) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "too_large");
  }
  lua_createtable(L, 0, 8);
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, httpd_push_header, L);
  lua_setfield(L, -2, "headers");
  ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof addr);
  }
  lua_pushstring(L, addr);
  lua_setfield(L, -2, "remote");
}

/* d:run() -> requests, closed_ids. Lets MHD do its I/O, then returns the
 * requests that became complete and the ids of requests Lua had seen whose
 * connection has ended since the last call. */
static int httpd_run(lua_State *L) {
  httpd_t *d = httpd_check(L);
  int n = 0;
  size_t i;
  MHD_run(d->mhd);
  lua_newtable(L);
  while (d->qhead) {
    httpd_req *r = d->qhead;
    d->qhead = r->qnext;
    if (!d->qhead) d->qtail = NULL;
    r->qnext = NULL;
    r->known = 1;
    httpd_push_request(L, r);
    lua_rawseti(L, -2, ++n);
  }
  lua_createtable(L, (int)d->nclosed, 0);
  for (i = 0; i < d->nclosed; i++) {
    lua_pushinteger(L, d->closed[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  d->nclosed = 0;
  return 2;
}

/* Check a Lua {name = value | {values}} headers table before any MHD
 * response exists, so a raise here leaks nothing: names must be strings
 * (lua_tostring on a lua_next key would also break the iteration), values
 * strings or numbers, or lists of them. */
static void httpd_check_headers(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "header names must be strings (got a %s key)", luaL_typename(L, -2));
    if (lua_istable(L, -1)) {
      lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
      for (i = 1; i <= n; i++) {
        int t = lua_rawgeti(L, -1, i);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
          luaL_error(L, "header '%s': values must be strings or numbers", lua_tostring(L, -3));
        lua_pop(L, 1);
      }
    } else if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      luaL_error(L, "header '%s': a value must be a string, a number or a list", lua_tostring(L, -2));
    }
    lua_pop(L, 1);
  }
}

/* Copy a headers table checked by httpd_check_headers onto a response.
 * Nothing here raises: values are converted on copies, never the key. */
static void httpd_set_headers(lua_State *L, int idx, struct MHD_Response *resp) {
  if (!lua_istable(L, idx)) return;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (name && lua_istable(L, -1)) {
      lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
      for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_tostring(L, -1)) MHD_add_response_header(resp, name, lua_tostring(L, -1));
        lua_pop(L, 1);
      }
    } else if (name && lua_tostring(L, -1)) {
      MHD_add_response_header(resp, name, lua_tostring(L, -1));
    }
    lua_pop(L, 1);
  }
}

/* The request must be waiting for its answer; false, reason otherwise. */
static int httpd_expect_queued(lua_State *L, httpd_req *r) {
  if (!r) { lua_pushboolean(L, 0); lua_pushliteral(L, "gone"); return 2; }
  if (r->state != HTTPD_QUEUED) { lua_pushboolean(L, 0); lua_pushliteral(L, "already answered"); return 2; }
  return 0;
}

/* Queue a response built for r, with the headers at stack index 4; r goes
 * to state and its connection resumes. Pushes true. */
static int httpd_queue(lua_State *L, httpd_req *r, int status, struct MHD_Response *resp, int state) {
  if (!resp) return luaL_error(L, "not enough memory");
  httpd_set_headers(L, 4, resp);
  MHD_queue_response(r->conn, (unsigned int)status, resp);
  MHD_destroy_response(resp);
  r->state = state;
  httpd_resume(r);
  lua_pushboolean(L, 1);
  return 1;
}

/* d:respond(id, status, headers, body) -> true | false, "gone" */
static int httpd_respond(lua_State *L) {
  httpd_req *r = httpd_req_arg(L);
  int status = (int)luaL_checkinteger(L, 3);
  size_t blen = 0;
  const char *body = luaL_optlstring(L, 5, "", &blen);
  struct MHD_Response *resp;
  int rc;
  if ((rc = httpd_expect_queued(L, r))) return rc;
  httpd_check_headers(L, 4);
  resp = MHD_create_response_from_buffer(blen, (void *)body, MHD_RESPMEM_MUST_COPY);
  return httpd_queue(L, r, status, resp, HTTPD_ANSWERED);
}

/* d:stream(id, status, headers) -> true | false, "gone": start a response
 * of unknown length (chunked); feed it with write(), end it with finish(). */
static int httpd_stream(lua_State *L) {
  httpd_req *r = httpd_req_arg(L);
  int status = (int)luaL_checkinteger(L, 3);
  struct MHD_Response *resp;
  int rc;
  if ((rc = httpd_expect_queued(L, r))) return rc;
  httpd_check_headers(L, 4);
  resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, httpd_stream_read, r, NULL);
  return httpd_queue(L, r, status, resp, HTTPD_STREAMING);
}

/* d:write(id, data) -> true | false, reason: append to a stream */
static int httpd_write(lua_State *L) {
  httpd_req *r = httpd_req_arg(L);
  size_t n;
  const char *s = luaL_checklstring(L, 3, &n);
  if (!r) { lua_pushboolean(L, 0); lua_pushliteral(L, "gone"); return 2; }
  if (r->state != HTTPD_STREAMING || r->sclosed) {
    lua_pushboolean(L, 0); lua_pushliteral(L, "not an open stream"); return 2;
  }
  if (r->slen + n > HTTPD_STREAM_MAX) { /* the client stopped reading */
    httpd_cut(r);
    lua_pushboolean(L, 0); lua_pushliteral(L, "client not reading"); return 2;
  }
  if (r->slen + n > r->scap) {
    size_t cap = r->scap ? r->scap : 4096;
    char *nb;
    if (r->soff > 0) { /* compact first */
      memmove(r->sbuf, r->sbuf + r->soff, r->slen - r->soff);
      r->slen -= r->soff;
      r->soff = 0;
    }
    while (cap < r->slen + n) cap *= 2;
    if (cap > r->scap) {
      if (!(nb = (char *)realloc(r->sbuf, cap))) return luaL_error(L, "not enough memory");
      r->sbuf = nb;
      r->scap = cap;
    }
  }
  memcpy(r->sbuf + r->slen, s, n);
  r->slen += n;
  httpd_resume(r);
  lua_pushboolean(L, 1);
  return 1;
}

/* d:finish(id [, "cut"]) -> true | false: end a stream after what was
 * written ("cut": then close the connection without the final chunk). */
static int httpd_finish(lua_State *L) {
  httpd_req *r = httpd_req_arg(L);
  const char *how = luaL_optstring(L, 3, "end");
  if (!r || r->state != HTTPD_STREAMING) { lua_pushboolean(L, 0); return 1; }
  if (!r->sclosed) r->sclosed = strcmp(how, "cut") == 0 ? 2 : 1;
  httpd_resume(r);
  lua_pushboolean(L, 1);
  return 1;
}

/* d:drop(id) -> true | false: close the connection, answering nothing */
static int httpd_drop(lua_State *L) {
  httpd_req *r = httpd_req_arg(L);
  if (!r || r->state == HTTPD_ANSWERED) { lua_pushboolean(L, 0); return 1; }
  httpd_cut(r);
  lua_pushboolean(L, 1);
  return 1;
}

/* d:raw(id, bytes) -> true | false: write bytes straight to the socket of
 * a request still waiting for its answer, then close it (the "garbage
 * bytes" fault: what the client reads is not HTTP at all). */
static int httpd_raw(lua_State *L) {
  httpd_req *r = httpd_req_arg(L);
  size_t n;
  const char *s = luaL_checklstring(L, 3, &n);
  const union MHD_ConnectionInfo *ci;
  if (!r || r->state != HTTPD_QUEUED) { lua_pushboolean(L, 0); return 1; }
  ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci) { /* best effort: the socket is non-blocking and idle while suspended */
    ssize_t w;
    do w = send(ci->connect_fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
  }
  r->drop = 1;
  httpd_resume(r);
  lua_pushboolean(L, 1);
  return 1;
}

/* d:stats() -> {live=, queued=} for leak checks */
static int httpd_stats(lua_State *L) {
  httpd_t *d = httpd_check(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)d->live);
  lua_setfield(L, -2, "live");
  lua_pushinteger(L, d->next_id);
  lua_setfield(L, -2, "requests");
  return 1;
}

/* Mark every request we know as dropped and wake the suspended ones, so
 * that MHD closes them when it next runs (or in MHD_stop_daemon). */
static void httpd_drop_all(httpd_t *d) {
  size_t b;
  for (b = 0; b < HTTPD_BUCKETS; b++) {
    httpd_req *r;
    for (r = d->buckets[b]; r; r = r->hnext) httpd_cut(r);
  }
}

/* d:close(): close every connection and stop; idempotent (__gc, __close).
 * libmicrohttpd aborts the process (MHD_PANIC) when it is stopped while a
 * connection is suspended without a pending resume, so: refuse everything
 * from here on (closing: the access handler answers MHD_NO and never
 * queues, a stream reader ends instead of sleeping), stop accepting, wake
 * and drop every request, let MHD run once, then wake whatever that run
 * left suspended: MHD_stop_daemon resumes connections whose resume is
 * pending before its check. */
static int httpd_close(lua_State *L) {
  httpd_t *d = (httpd_t *)luaL_checkudata(L, 1, HTTPD_MT);
  MHD_socket lsock;
  if (!d->mhd) return 0;
  d->closing = 1;
  lsock = MHD_quiesce_daemon(d->mhd); /* no new connections from here on */
  httpd_drop_all(d);
  d->qhead = d->qtail = NULL;
  MHD_run(d->mhd);
  httpd_drop_all(d);
  MHD_stop_daemon(d->mhd);
  if (lsock != MHD_INVALID_SOCKET) close(lsock); /* quiesce handed it to us */
  d->mhd = NULL;
  free(d->closed);
  d->closed = NULL;
  d->nclosed = d->capclosed = 0;
  return 0;
}

static int httpd_tostring(lua_State *L) {
  httpd_t *d = (httpd_t *)luaL_checkudata(L, 1, HTTPD_MT);
  if (d->mhd) lua_pushfstring(L, "httpd (127.0.0.1:%d)", d->port);
  else lua_pushliteral(L, "httpd (closed)");
  return 1;
}

static const luaL_Reg httpd_methods[] = {
  {"port", httpd_port},
  {"fd", httpd_fd},
  {"timeout", httpd_timeout},
  {"run", httpd_run},
  {"respond", httpd_respond},
  {"stream", httpd_stream},
  {"write", httpd_write},
  {"finish", httpd_finish},
  {"drop", httpd_drop},
  {"raw", httpd_raw},
  {"stats", httpd_stats},
  {"close", httpd_close},
  {NULL, NULL}
};

static const luaL_Reg httpd_meta[] = {
  {"__gc", httpd_close},
  {"__close", httpd_close},
  {"__tostring", httpd_tostring},
  {"__index", NULL},
  {NULL, NULL}
};

static const luaL_Reg httpd_funcs[] = {
  {"start", httpd_start},
  {NULL, NULL}
};

int luaopen_mcptest_core_httpd(lua_State *L) {
  luaL_newmetatable(L, HTTPD_MT);
  luaL_setfuncs(L, httpd_meta, 0);
  luaL_newlib(L, httpd_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, httpd_funcs);
  return 1;
}
