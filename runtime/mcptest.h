/*
 * mcptest.h: what the host (main.c) and the C modules share.
 * Every C module exports exactly one luaopen_* function, listed here and
 * registered in modules.c; everything else in a module file is static,
 * except the few mcpt_* helpers declared below for other C modules.
 */
#ifndef MCPTEST_H
#define MCPTEST_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* modules.c: install the module registry and the embedded-source searcher,
 * and create the shared metatables (util.c). */
void mcpt_open_modules(lua_State *L);

/* util.c: shared helpers (prefix mcpt_). */
/* Registry names of the metatables several modules share. */
#define MCPT_ERROR_MT "mcptest.Error"
#define MCPT_JSON_ARRAY_MT "mcptest.json.array"
#define MCPT_JSON_OBJECT_MT "mcptest.json.object"
/* Push the mcptest.Error metatable, creating it (with __name and a plain
 * __tostring) if this state has none yet; lua/mcptest/errors.lua fills in
 * the rest. */
void mcpt_push_error_mt(lua_State *L);
/* Push the JSON array (array != 0) or object marker metatable, creating it
 * if needed. Decoded arrays and YAML sequences carry the first, so an
 * empty one encodes back as []. */
void mcpt_push_json_mt(lua_State *L, int array);
/* Push an error table {kind=, message=} (metatable mcptest.Error). */
void mcpt_error(lua_State *L, const char *kind, const char *fmt, ...);
/* Push nil plus such an error table; returns 2. */
int mcpt_fail(lua_State *L, const char *kind, const char *fmt, ...);
/* The signal (SIGINT, SIGTERM) that interrupted the run, 0 if none. */
#include <signal.h>
extern volatile sig_atomic_t mcpt_interrupted;
/* Set by SIGALRM when the time limit sys.alarm() armed has passed. */
extern volatile sig_atomic_t mcpt_alarmed;
extern double mcpt_alarm_seconds;
/* The time limit's hook (sys.c), set by the host's signal handlers on the
 * main thread and on the coroutine a limited block is running, if any. */
extern lua_State *mcpt_main_thread;
extern lua_State *volatile mcpt_limit_thread;
void mcpt_limit_hook(lua_State *L, lua_Debug *ar);
#define MCPT_HOOK_MASK (LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT)
/* A growable byte buffer. data may start on the caller's own storage of
 * cap bytes with heap == 0 (small contents cost no malloc); it moves to
 * the heap when it grows. All zeroes is a valid empty buffer. */
typedef struct mcpt_buf {
  char *data;
  size_t len, cap;
  int heap;
} mcpt_buf;
/* Room for extra more bytes: 0, or -1 when out of memory. */
int mcpt_buf_reserve(mcpt_buf *b, size_t extra);
/* Append n bytes: 0, or -1 when out of memory. */
int mcpt_buf_add(mcpt_buf *b, const void *s, size_t n);
/* Free heap storage; the buffer is empty again. */
void mcpt_buf_free(mcpt_buf *b);
/* Empty a reused buffer; storage over MCPT_BUF_KEEP bytes is freed, so one
 * big message does not stay allocated. */
#define MCPT_BUF_KEEP 65536
void mcpt_buf_reset(mcpt_buf *b);

/* Monotonic clock in seconds. */
double mcpt_now(void);
/* Set O_NONBLOCK and FD_CLOEXEC on a descriptor; 0 on success. */
int mcpt_fd_prepare(int fd);

/* json.c: the codec for C callers (the stdio transport encodes and decodes
 * messages straight from its buffers, with no Lua string in between). */
/* Append the value at idx as JSON to out; raises on values JSON cannot hold. */
void mcpt_json_encode(lua_State *L, int idx, mcpt_buf *out);
/* Decode s[0..n): push the value and return 1, or push "json: <why> at
 * ..." and return 0. Raises only when out of memory. */
int mcpt_json_decode(lua_State *L, const char *s, size_t n);

/* process.c: the stdio framing (newline-delimited JSON on a child's
 * stdout), apart from the pipes so it can be driven without a child. */
typedef struct mcpt_lines {
  mcpt_buf buf;    /* bytes not yet split into lines */
  size_t scanned;  /* bytes of the partial line at buf's start known to hold no newline */
  size_t max_line; /* a longer line is a protocol error */
} mcpt_lines;
/* The next complete line from buf[*start] on (LF or CR LF ends it, blank
 * lines are skipped; at eof an unterminated last line counts): sets *line
 * and *len (into buf), advances *start and returns 1; 0 when none is left.
 * The caller checks len against max_line. */
int mcpt_lines_next(mcpt_lines *f, size_t *start, int eof, const char **line, size_t *len);
/* Is the partial line left at buf's start already over max_line? Checked
 * before each read, so an endless line fails without growing further. */
int mcpt_lines_over(const mcpt_lines *f);
/* Drop buf's first used bytes (the lines taken); a huge buffer is freed. */
void mcpt_lines_consume(mcpt_lines *f, size_t used);

int luaopen_mcptest_core_json(lua_State *L);
int luaopen_mcptest_core_process(lua_State *L);
int luaopen_mcptest_core_poll(lua_State *L);
int luaopen_mcptest_core_sys(lua_State *L);
int luaopen_mcptest_core_sse(lua_State *L);
int luaopen_mcptest_core_httpd(lua_State *L);
int luaopen_mcptest_core_yaml(lua_State *L);
int luaopen_mcptest_core_crypto(lua_State *L);
int luaopen_mcptest_core_http(lua_State *L);
int luaopen_mcptest_core_fs(lua_State *L);
int luaopen_mcptest_core_hist(lua_State *L);
int luaopen_mcptest_core_regex(lua_State *L);
int luaopen_mcptest_core_keychain(lua_State *L);
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);

#endif
