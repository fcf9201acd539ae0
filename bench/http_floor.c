/*
 * http_floor.c: the benchmark floor for the Streamable HTTP transport. A
 * minimal C MCP client on libcurl's easy interface: one handle, so one
 * kept-alive connection, posting the same messages mcptest posts
 * (initialize, notifications/initialized, then tools/call echo with the
 * Mcp-Session-Id and MCP-Protocol-Version headers) and reading each reply
 * whole (server-everything answers with a short SSE stream), checking only
 * that it holds the request's id. No JSON parsing, no event loop: its
 * calls per second and CPU per call are the floor mcptest is measured
 * against (bench/http_bench.sh).
 *
 * With --modern it speaks 2026-07-28 instead: no session, one
 * server/discover, then each tools/call with the _meta envelope and the
 * MCP-Protocol-Version, Mcp-Method and Mcp-Name headers mcptest sends.
 *
 * usage: http_floor [--modern] CALLS WARMUP URL
 * prints: {"calls":N,"seconds":S,"calls_per_s":R,"cpu_us_per_call":C,"max_rss_kib":K}
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

static char body[1 << 16];
static size_t body_len;
static char session[256];
static int modern;
#define META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
  "\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/clientInfo\":" \
  "{\"name\":\"floor\",\"version\":\"0\"}}"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  size_t len = size * n;
  (void)ud;
  if (body_len + len < sizeof body) {
    memcpy(body + body_len, p, len);
    body_len += len;
  }
  return len;
}

/* Keep the session id from the initialize response. */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  size_t len = size * n;
  (void)ud;
  if (len > 16 && strncasecmp(p, "mcp-session-id:", 15) == 0) {
    size_t i = 15, j = 0;
    while (i < len && p[i] == ' ') i++;
    while (i < len && p[i] != '\r' && p[i] != '\n' && j + 1 < sizeof session) session[j++] = p[i++];
    session[j] = 0;
  }
  return len;
}

static void post(CURL *e, const char *msg, const char *expect) {
  CURLcode rc;
  body_len = 0;
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, msg);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(msg));
  rc = curl_easy_perform(e);
  if (rc != CURLE_OK) {
    fprintf(stderr, "http_floor: %s\n", curl_easy_strerror(rc));
    exit(1);
  }
  body[body_len] = 0;
  if (expect && !strstr(body, expect)) {
    fprintf(stderr, "http_floor: reply without %s: %.200s\n", expect, body);
    exit(1);
  }
}

static struct curl_slist *headers(int with_session) {
  struct curl_slist *h = NULL;
  char line[300];
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: application/json, text/event-stream");
  h = curl_slist_append(h, "Expect:");
  if (with_session) {
    snprintf(line, sizeof line, "Mcp-Session-Id: %s", session);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "MCP-Protocol-Version: 2025-11-25");
  }
  return h;
}

/* 2026-07-28: the headers of one method (and name) */
static struct curl_slist *modern_headers(const char *method, const char *name) {
  struct curl_slist *h = headers(0);
  char line[300];
  h = curl_slist_append(h, "MCP-Protocol-Version: 2026-07-28");
  snprintf(line, sizeof line, "Mcp-Method: %s", method);
  h = curl_slist_append(h, line);
  if (name) {
    snprintf(line, sizeof line, "Mcp-Name: %s", name);
    h = curl_slist_append(h, line);
  }
  return h;
}

static void call(CURL *e, int id) {
  char msg[512], expect[32];
  if (modern)
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
             "{\"name\":\"echo\",\"arguments\":{\"message\":\"hello\"}," META "}}", id);
  else
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
             "{\"name\":\"echo\",\"arguments\":{\"message\":\"hello\"}}}", id);
  snprintf(expect, sizeof expect, "\"id\":%d", id);
  post(e, msg, expect);
}

int main(int argc, char **argv) {
  int calls, warmup, i, id = 1;
  double t0, c0, t1, c1;
  struct rusage ru;
  struct curl_slist *h0, *h1;
  CURL *e;
  if (argc > 1 && strcmp(argv[1], "--modern") == 0) { modern = 1; argv++; argc--; }
  if (argc != 4) {
    fprintf(stderr, "usage: http_floor [--modern] CALLS WARMUP URL\n");
    return 2;
  }
  calls = atoi(argv[1]);
  warmup = atoi(argv[2]);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, argv[3]);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (modern) {
    h0 = modern_headers("server/discover", NULL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h0);
    post(e, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"server/discover\",\"params\":{" META "}}", "\"id\":0");
    h1 = modern_headers("tools/call", "echo");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h1);
  } else {
    h0 = headers(0);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h0);
    post(e, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
            "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"floor\",\"version\":\"0\"}}}",
         "\"id\":0");
    if (!session[0]) {
      fprintf(stderr, "http_floor: no Mcp-Session-Id in the initialize response\n");
      return 1;
    }
    h1 = headers(1);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h1);
    post(e, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL);
  }
  for (i = 0; i < warmup; i++) call(e, id++);
  t0 = now();
  c0 = cpu();
  for (i = 0; i < calls; i++) call(e, id++);
  t1 = now();
  c1 = cpu();
  if (!modern) { /* 2026-07-28 has no session to end */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_perform(e);
  }
  curl_easy_cleanup(e);
  curl_slist_free_all(h0);
  curl_slist_free_all(h1);
  curl_global_cleanup();
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"calls\":%d,\"seconds\":%.4f,\"calls_per_s\":%.1f,\"cpu_us_per_call\":%.2f,\"max_rss_kib\":%ld}\n",
         calls, t1 - t0, calls / (t1 - t0), (c1 - c0) * 1e6 / calls, ru.ru_maxrss);
  return 0;
}
