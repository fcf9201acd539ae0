/*
 * process.c: mcptest.core.process, child processes with non-blocking pipes,
 * the C half of the stdio transport (policy is in lua/mcptest/transport/stdio.lua).
 *
 * spawn() starts argv in its own process group with stdin, stdout and
 * stderr on pipes; the parent's ends are non-blocking and close-on-exec, so
 * no child inherits another's pipes. Nothing here blocks except close(),
 * which is bounded: end stdin, wait a grace period, SIGTERM the group, wait
 * again, SIGKILL, then reap, so no zombie is left. __close runs the same
 * close. __gc (a finalizer must not wait) runs kill(): SIGKILL to the group
 * at once, the child reaped later without blocking, so a script that
 * forgets c:close() still leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mcptest.h"

#define PROCESS_MT "mcptest.Process"
#define PROCESS_MAX_LINE (64u * 1024u * 1024u) /* default; spawn{max_line=} */

extern char **environ;

typedef struct process_t {
  pid_t pid;        /* 0 once reaped */
  pid_t pgid;       /* the child's process group, kept after the child is reaped */
  int in, out, err; /* parent's pipe ends, -1 when closed */
  int status;       /* wait status once reaped */
  mcpt_lines lines; /* stdout bytes not yet split into lines (the framing) */
  mcpt_buf pending; /* stdin bytes not yet written */
  mcpt_buf line;    /* send(): the message being encoded */
} process_t;

/* Every method and metamethod has the metatable as upvalue 1: comparing
 * against it is cheaper than luaL_checkudata's registry lookup by name,
 * which stays for the error message. */
static process_t *process_check(lua_State *L) {
  process_t *p = (process_t *)lua_touserdata(L, 1);
  if (p != NULL && lua_getmetatable(L, 1)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return p;
  }
  return (process_t *)luaL_checkudata(L, 1, PROCESS_MT);
}

static void process_close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Reap without blocking; 1 when the child has exited (now or before). */
static int process_reap(process_t *p) {
  int st;
  pid_t r;
  if (p->pid == 0) return 1;
  do r = waitpid(p->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == p->pid || (r < 0 && errno == ECHILD)) {
    p->status = r == p->pid ? st : 0;
    p->pid = 0;
    return 1;
  }
  return 0;
}

/* Wait up to 'seconds' for the child to exit. */
static int process_wait_for(process_t *p, double seconds) {
  double end = mcpt_now() + seconds;
  struct timespec ts = {0, 5 * 1000 * 1000};
  while (!process_reap(p)) {
    if (mcpt_now() >= end) return 0;
    nanosleep(&ts, NULL);
  }
  return 1;
}

/* Is any process of the child's group still alive? */
static int process_group_alive(process_t *p) {
  return p->pgid > 0 && kill(-p->pgid, 0) == 0;
}

/* Children kill() signalled that had not exited yet, reaped without
 * blocking at the next spawn, close or kill (no zombie piles up). */
#define PROCESS_MAX_ORPHANS 64
static pid_t process_orphans[PROCESS_MAX_ORPHANS];
static int process_norphans;

static void process_reap_orphans(void) {
  int i = 0, st;
  while (i < process_norphans) {
    pid_t r = waitpid(process_orphans[i], &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) { i++; continue; }
    process_orphans[i] = process_orphans[--process_norphans];
  }
}

/* Kill without waiting: SIGKILL to the group and the child, pipes closed.
 * A child not yet gone is remembered and reaped later (or, when the list
 * is full, waited for: after SIGKILL that takes moments). */
static void process_kill_now(process_t *p) {
  process_close_fd(&p->in);
  process_close_fd(&p->out);
  process_close_fd(&p->err);
  if (p->pgid > 0) kill(-p->pgid, SIGKILL);
  if (p->pid > 0) {
    kill(p->pid, SIGKILL);
    if (!process_reap(p)) {
      if (process_norphans < PROCESS_MAX_ORPHANS) process_orphans[process_norphans++] = p->pid;
      else { int st; while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {} }
      p->pid = 0;
    }
  }
  p->pgid = 0;
  process_reap_orphans();
}

/* Stop: end stdin, wait grace (unless the caller already waited after
 * ending stdin), SIGTERM the group, wait grace, SIGKILL. */
static void process_stop(process_t *p, double grace, int waited) {
  process_close_fd(&p->in);
  if (p->pid > 0 && (waited ? !process_reap(p) : !process_wait_for(p, grace))) {
    kill(-p->pgid, SIGTERM); /* the group: servers that fork helpers */
    kill(p->pid, SIGTERM);
    if (!process_wait_for(p, grace)) {
      kill(-p->pgid, SIGKILL);
      kill(p->pid, SIGKILL);
      process_wait_for(p, 5.0);
    }
  }
  /* Helpers the server left in its group outlive it: stop them too. */
  if (process_group_alive(p)) {
    double end = mcpt_now() + grace;
    struct timespec ts = {0, 5 * 1000 * 1000};
    kill(-p->pgid, SIGTERM);
    while (process_group_alive(p) && mcpt_now() < end) nanosleep(&ts, NULL);
    if (process_group_alive(p)) kill(-p->pgid, SIGKILL);
  }
  p->pgid = 0;
  process_close_fd(&p->out);
  process_close_fd(&p->err);
}

/* process.spawn{argv=, env=, cwd=} -> proc | nil, err */
static int process_spawn(lua_State *L) {
  process_t *p;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  int argc, envc = 0, i, rc;
  const char **argv = NULL, **envp = NULL;
  const char *cwd = NULL;
  size_t max_line;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t defs, none;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "max_line");
  if (lua_isnil(L, -1)) {
    max_line = PROCESS_MAX_LINE;
  } else {
    lua_Integer n = luaL_checkinteger(L, -1);
    /* checked before the cast: -1 would become SIZE_MAX, i.e. no cap */
    luaL_argcheck(L, n > 0, 1, "max_line must be positive");
    max_line = (size_t)n;
  }
  lua_settop(L, 1);
  /* stack: opts, argv, env, cwd */
  lua_getfield(L, 1, "argv");
  luaL_argcheck(L, lua_istable(L, 2) && luaL_len(L, 2) > 0, 1, "argv must be a non-empty array");
  lua_getfield(L, 1, "env");
  lua_getfield(L, 1, "cwd");
  cwd = lua_tostring(L, 4);
  argc = (int)luaL_len(L, 2);
  /* strings stay anchored in the argv/env tables for the whole call */
  argv = (const char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(argc + 1), 0);
  for (i = 0; i < argc; i++) {
    lua_rawgeti(L, 2, i + 1);
    /* only real strings: a converted number would be freed by the pop */
    luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "argv entries must be strings");
    argv[i] = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  argv[argc] = NULL;
  if (lua_istable(L, 3)) { /* a full environment: an array of "K=V" */
    envc = (int)luaL_len(L, 3);
    envp = (const char **)lua_newuserdatauv(L, sizeof(char *) * (size_t)(envc + 1), 0);
    for (i = 0; i < envc; i++) {
      lua_rawgeti(L, 3, i + 1);
      luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "env entries must be strings");
      envp[i] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    envp[envc] = NULL;
  }
  p = (process_t *)lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  p->in = p->out = p->err = -1; /* closed until fully spawned */
  p->lines.max_line = max_line;
  luaL_setmetatable(L, PROCESS_MT);
  if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
    int e = errno;
    process_close_fd(&pin[0]); process_close_fd(&pin[1]);
    process_close_fd(&pout[0]); process_close_fd(&pout[1]);
    process_close_fd(&perr[0]); process_close_fd(&perr[1]);
    return mcpt_fail(L, "transport", "cannot create pipes: %s", strerror(e));
  }
  process_reap_orphans();
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  posix_spawnattr_init(&attr);
  sigemptyset(&defs);
  sigaddset(&defs, SIGPIPE);
  sigaddset(&defs, SIGINT);
  sigaddset(&defs, SIGTERM);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defs);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv,
                    envp ? (char *const *)envp : environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pin[0]);
  close(pout[1]);
  close(perr[1]);
  if (rc != 0) {
    p->pid = 0;
    close(pin[1]); close(pout[0]); close(perr[0]);
    if (rc == ENOENT && cwd && access(cwd, F_OK) != 0)
      return mcpt_fail(L, "transport", "cannot start '%s': working directory '%s' does not exist", argv[0], cwd);
    return mcpt_fail(L, "transport", "cannot start '%s': %s", argv[0], strerror(rc));
  }
  p->pgid = p->pid; /* POSIX_SPAWN_SETPGROUP with 0: the child leads its group */
  p->in = pin[1];
  p->out = pout[0];
  p->err = perr[0];
  mcpt_fd_prepare(p->in);
  mcpt_fd_prepare(p->out);
  mcpt_fd_prepare(p->err);
  return 1;
}

/* Write as much of the pending stdin bytes as the pipe takes. 0 or errno. */
static int process_flush_pending(process_t *p) {
  size_t off = 0;
  while (off < p->pending.len) {
    ssize_t w = write(p->in, p->pending.data + off, p->pending.len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return errno;
    }
    off += (size_t)w;
  }
  memmove(p->pending.data, p->pending.data + off, p->pending.len - off);
  p->pending.len -= off;
  return 0;
}

/* What send() and flush() return once the queue was written:
 * pending_bytes, or nil, err. */
static int process_flushed(lua_State *L, process_t *p) {
  int e = process_flush_pending(p);
  if (e != 0) return mcpt_fail(L, "transport", "cannot write to server stdin: %s", strerror(e));
  lua_pushinteger(L, (lua_Integer)p->pending.len);
  return 1;
}

/* proc:send(message) -> pending_bytes | nil, err. The message encoded as
 * one JSON line straight into the stdin queue, then as much of the queue
 * written as the pipe takes; poll for POLLOUT on stdin_fd and call
 * flush() for the rest. Raises on values JSON cannot hold. */
static int process_send(lua_State *L) {
  process_t *p = process_check(L);
  luaL_checkany(L, 2);
  if (p->in < 0) return mcpt_fail(L, "transport", "server stdin is closed");
  /* encoded apart first: a value JSON cannot hold raises midway, and the
   * queue must not keep half a message */
  p->line.len = 0;
  mcpt_json_encode(L, 2, &p->line);
  if (mcpt_buf_add(&p->line, "\n", 1) || mcpt_buf_add(&p->pending, p->line.data, p->line.len))
    return luaL_error(L, "not enough memory");
  if (p->line.cap > 65536) mcpt_buf_free(&p->line); /* do not hold on to a big buffer */
  return process_flushed(L, p);
}

/* proc:flush() -> pending_bytes | nil, err */
static int process_flush(lua_State *L) {
  process_t *p = process_check(L);
  if (p->in < 0) return mcpt_fail(L, "transport", "server stdin is closed");
  return process_flushed(L, p);
}

/* ===== the framing: newline-delimited messages in a byte buffer, apart
 * from the pipes so a test (spec/fuzz/fuzz_stdio_lines.c) drives it
 * without a child ===== */

int mcpt_lines_over(const mcpt_lines *f) {
  /* the partial line at the start (complete lines were consumed) is over
   * the cap: fail now, before it grows any further */
  return f->scanned > f->max_line + 1; /* + 1: a CR whose LF is still to come */
}

/* The next complete line in f->buf from *start (CR LF accepted, blank
 * lines skipped); at eof a last line without newline counts. Sets *line
 * and *len, advances *start; 0 when there is none. */
int mcpt_lines_next(mcpt_lines *f, size_t *start, int eof, const char **line, size_t *len) {
  const char *buf = f->buf.data;
  while (*start < f->buf.len) {
    const char *s = buf + *start;
    /* a partial line left at the start by the last read was scanned
     * already: each byte is looked at once, however long the line grows */
    size_t skip = *start == 0 ? f->scanned : 0;
    const char *nl = memchr(s + skip, '\n', f->buf.len - *start - skip);
    size_t n;
    if (!nl) {
      if (!eof) { f->scanned = f->buf.len - *start; return 0; }
      n = f->buf.len - *start;
      *start = f->buf.len;
    } else {
      n = (size_t)(nl - s);
      *start += n + 1;
    }
    f->scanned = 0;
    if (n > 0 && s[n - 1] == '\r') n--;
    if (n > 0) { *line = s; *len = n; return 1; }
  }
  return 0;
}

void mcpt_lines_consume(mcpt_lines *f, size_t used) {
  if (used) memmove(f->buf.data, f->buf.data + used, f->buf.len - used);
  f->buf.len -= used;
  /* one huge line does not stay allocated (the usual 128 KiB stays) */
  if (f->buf.len == 0 && f->buf.cap > (1u << 20)) mcpt_buf_free(&f->buf);
}

/* At least 64 KiB free in the line buffer for the next read: 0, or -1
 * with nil, err pushed when the buffered line is already over max_line. */
static int process_out_room(lua_State *L, process_t *p) {
  mcpt_buf *b = &p->lines.buf;
  if (mcpt_lines_over(&p->lines)) {
    mcpt_fail(L, "protocol", "server wrote a line longer than %I bytes on stdout (max_message_size)",
              (lua_Integer)p->lines.max_line);
    return -1;
  }
  if (b->cap - b->len >= 65536) return 0;
  if (mcpt_buf_reserve(b, b->cap ? b->cap : 131072)) luaL_error(L, "not enough memory");
  return 0;
}

/* Read what stdout has now into the line buffer. Returns 1 at end of file (or
 * on a read error), 0 otherwise; -1 (nil, err pushed) on a line over
 * max_line. */
static int process_fill(lua_State *L, process_t *p) {
  if (p->out < 0) return 1;
  for (;;) {
    mcpt_buf *b = &p->lines.buf;
    ssize_t r;
    if (process_out_room(L, p)) return -1;
    r = read(p->out, b->data + b->len, b->cap - b->len);
    if (r > 0) {
      size_t asked = b->cap - b->len;
      b->len += (size_t)r;
      if ((size_t)r < asked) return 0; /* a short read drained the pipe: skip the EAGAIN round trip */
      continue;
    }
    if (r == 0) return 1;
    if (errno == EINTR) continue;
    return errno != EAGAIN;
  }
}

/* The result table at stack index 2: the caller's (reused, so the
 * request path allocates no table) or a new one. */
static void process_result_table(lua_State *L) {
  if (lua_istable(L, 2)) lua_settop(L, 2);
  else { lua_settop(L, 1); lua_newtable(L); }
}

/* Drop consumed bytes; clear the reused table's entries after n. */
static void process_consume(lua_State *L, process_t *p, size_t used, int n) {
  mcpt_lines_consume(&p->lines, used);
  while (lua_rawgeti(L, 2, n + 1) != LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, 2, ++n);
  }
  lua_pop(L, 1);
}

/* proc:read_lines([lines]) -> lines, count, eof. Reads what stdout has
 * now into lines[1..count]; a partial last line stays buffered. */
static int process_read_lines(lua_State *L) {
  process_t *p = process_check(L);
  int eof = process_fill(L, p), n = 0;
  size_t start = 0, len;
  const char *line;
  if (eof < 0) return 2;
  process_result_table(L);
  while (mcpt_lines_next(&p->lines, &start, eof, &line, &len)) {
    lua_pushlstring(L, line, len);
    lua_rawseti(L, 2, ++n);
  }
  process_consume(L, p, start, n);
  lua_pushinteger(L, n);
  lua_pushboolean(L, eof);
  return 3;
}

/* Decode the complete lines in the line buffer into the table at index 2 (the
 * stack is proc, msgs); pushes msgs, count, eof (3 values) or, after a
 * line that is not JSON, also bad_line, why (5). */
static int process_decode_lines(lua_State *L, process_t *p, int eof) {
  int n = 0;
  size_t start = 0, len;
  const char *line;
  while (mcpt_lines_next(&p->lines, &start, eof, &line, &len)) {
    if (len > p->lines.max_line) { /* a whole line over the cap, however the reads split it */
      process_consume(L, p, start, n);
      return mcpt_fail(L, "protocol", "server wrote a line longer than %I bytes on stdout (max_message_size)",
                       (lua_Integer)p->lines.max_line);
    }
    if (!mcpt_json_decode(L, line, len)) { /* stack: proc, msgs, why */
      lua_pushlstring(L, line, len);      /* stack: proc, msgs, why, line */
      process_consume(L, p, start, n);
      lua_pushvalue(L, 2);
      lua_pushinteger(L, n);
      lua_pushboolean(L, eof);
      lua_pushvalue(L, 4);
      lua_pushvalue(L, 3);
      return 5;
    }
    lua_rawseti(L, 2, ++n);
  }
  process_consume(L, p, start, n);
  lua_pushinteger(L, n);
  lua_pushboolean(L, eof);
  return 3;
}

/* proc:read_messages([msgs]) -> msgs, count, eof, bad_line, why, read_any
 * (bad_line and why nil unless a line was not JSON; read_any: stdout gave
 * bytes, perhaps only part of a line). Like read_lines, but each line
 * is decoded as JSON straight from the buffer (no Lua string per line). A
 * line that is not JSON stops the read: it comes back as bad_line with the
 * decoder's message, after the messages before it. */
static int process_read_messages(lua_State *L) {
  process_t *p = process_check(L);
  size_t before = p->lines.buf.len;
  int eof = process_fill(L, p), rc, read_any;
  if (eof < 0) return 2;
  read_any = p->lines.buf.len > before;
  process_result_table(L);
  rc = process_decode_lines(L, p, eof);
  if (rc == 2) return 2; /* nil, err: a line over max_line */
  if (rc == 3) { lua_pushnil(L); lua_pushnil(L); }
  lua_pushboolean(L, read_any);
  return 6;
}

/* proc:read_stderr() -> string (maybe empty), eof. At most 64 KiB a call,
 * so a server flooding stderr cannot make one read grow without bound. */
static int process_read_stderr(lua_State *L) {
  process_t *p = process_check(L);
  luaL_Buffer b;
  int eof = p->err < 0, rounds = 0;
  luaL_buffinit(L, &b);
  while (!eof && rounds++ < 4) {
    char *dst = luaL_prepbuffsize(&b, 16384);
    ssize_t r = read(p->err, dst, 16384);
    if (r > 0) { luaL_addsize(&b, (size_t)r); continue; }
    if (r == 0) eof = 1;
    else if (errno == EINTR) continue;
    else if (errno != EAGAIN) eof = 1;
    break;
  }
  if (eof) process_close_fd(&p->err);
  luaL_pushresult(&b);
  lua_pushboolean(L, eof);
  return 2;
}

/* proc:fds() -> stdout_fd, stderr_fd, stdin_fd (-1 when closed), pending */
static int process_fds(lua_State *L) {
  process_t *p = process_check(L);
  lua_pushinteger(L, p->out);
  lua_pushinteger(L, p->err);
  lua_pushinteger(L, p->in);
  lua_pushinteger(L, (lua_Integer)p->pending.len);
  return 4;
}

/* proc:status() -> "running" | "exited", code | "signaled", signal */
static int process_status(lua_State *L) {
  process_t *p = process_check(L);
  if (!process_reap(p)) {
    lua_pushliteral(L, "running");
    return 1;
  }
  if (WIFSIGNALED(p->status)) {
    lua_pushliteral(L, "signaled");
    lua_pushinteger(L, WTERMSIG(p->status));
  } else {
    lua_pushliteral(L, "exited");
    lua_pushinteger(L, WEXITSTATUS(p->status));
  }
  return 2;
}

static int process_pid(lua_State *L) {
  process_t *p = process_check(L);
  lua_pushinteger(L, p->pid);
  return 1;
}

/* proc:close_stdin(): end of input, the polite first step of stopping */
static int process_close_stdin(lua_State *L) {
  process_close_fd(&process_check(L)->in);
  return 0;
}

/* proc:close([grace_seconds[, waited]]): stop and reap; idempotent (also
 * __gc/__close). waited: stdin was closed and the grace already spent. */
static int process_close(lua_State *L) {
  process_t *p = process_check(L);
  double grace = lua_isnumber(L, 2) ? lua_tonumber(L, 2) : 0.5;
  process_stop(p, grace, lua_toboolean(L, 3));
  process_reap_orphans();
  mcpt_buf_free(&p->lines.buf);
  mcpt_buf_free(&p->pending);
  mcpt_buf_free(&p->line);
  return 0;
}

/* proc:kill(): SIGKILL the group without waiting; idempotent (also __gc:
 * a finalizer must not block nor run the event loop). */
static int process_kill(lua_State *L) {
  process_t *p = process_check(L);
  process_kill_now(p);
  mcpt_buf_free(&p->lines.buf);
  mcpt_buf_free(&p->pending);
  mcpt_buf_free(&p->line);
  return 0;
}

static const luaL_Reg process_methods[] = {
  {"kill", process_kill},
  {"flush", process_flush},
  {"read_lines", process_read_lines},
  {"read_messages", process_read_messages},
  {"send", process_send},
  {"read_stderr", process_read_stderr},
  {"fds", process_fds},
  {"status", process_status},
  {"pid", process_pid},
  {"close_stdin", process_close_stdin},
  {"close", process_close},
  {NULL, NULL}
};

static const luaL_Reg process_meta[] = {
  {"__gc", process_kill},
  {"__close", process_close},
  {"__index", NULL},
  {NULL, NULL}
};

static const luaL_Reg process_funcs[] = {
  {"spawn", process_spawn},
  {NULL, NULL}
};

int luaopen_mcptest_core_process(lua_State *L) {
  luaL_newmetatable(L, PROCESS_MT);
  lua_pushvalue(L, -1);
  luaL_setfuncs(L, process_meta, 1); /* upvalue: the metatable (process_check) */
  luaL_newlibtable(L, process_methods);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, process_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, process_funcs);
  return 1;
}
