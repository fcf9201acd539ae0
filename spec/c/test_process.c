/* test_process.c: mcptest.core.process and mcptest.core.poll: spawning,
 * line reads, stderr, exit status, stopping a stubborn child, and no
 * leaked descriptors or zombies. */
#include <dirent.h>
#include <string.h>
#include <sys/wait.h>
#include "harness.h"

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* The framing alone (mcpt_lines_*, what spec/fuzz/fuzz_stdio_lines.c
 * fuzzes): s cut into two reads at every point, each read followed by a
 * pass over the lines as proc:read_messages makes; returns the lines
 * joined by '|', or "FAIL" when the cap fired. */
static const char *frame(const char *s, size_t cut, size_t max_line, char *out, size_t outsz) {
  mcpt_lines f;
  size_t n = strlen(s), o = 0, start, len;
  const char *line;
  int r;
  memset(&f, 0, sizeof f);
  f.max_line = max_line;
  out[0] = '\0';
  for (r = 0; r < 3; r++) { /* first part, second part, end of file */
    int eof = r == 2;
    if (mcpt_lines_over(&f)) { snprintf(out, outsz, "FAIL"); break; }
    if (r == 0) mcpt_buf_add(&f.buf, s, cut);
    if (r == 1) mcpt_buf_add(&f.buf, s + cut, n - cut);
    start = 0;
    while (mcpt_lines_next(&f, &start, eof, &line, &len)) {
      if (len > max_line) { mcpt_lines_consume(&f, start); mcpt_buf_free(&f.buf); snprintf(out, outsz, "FAIL"); return out; }
      o += (size_t)snprintf(out + o, outsz - o, "%s%.*s", o ? "|" : "", (int)len, line);
    }
    mcpt_lines_consume(&f, start);
  }
  mcpt_buf_free(&f.buf);
  return out;
}

static void check_framing(void) {
  static const char *const s = "\n{\"a\":1}\r\n\r\n\n{\"b\":22}\r\r\nlast";
  char got[256], what[128];
  size_t cut;
  int all = 1;
  for (cut = 0; cut <= strlen(s); cut++) {
    if (strcmp(frame(s, cut, 64, got, sizeof got), "{\"a\":1}|{\"b\":22}\r|last") != 0) {
      fprintf(stderr, "  cut at %d: %s\n", (int)cut, got);
      all = 0;
    }
  }
  CHECK(all, "framing: LF and CR LF lines, blank lines skipped, the last line at EOF, cut anywhere");
  /* a line of exactly max_line passes, with its CR pending across reads */
  all = 1;
  for (cut = 0; cut <= 7; cut++) all &= strcmp(frame("abcde\r\nx", cut, 5, got, sizeof got), "abcde|x") == 0;
  CHECK(all, "framing: a line of max_line bytes passes, its CR LF cut anywhere");
  for (cut = 0; cut <= 8; cut++) {
    snprintf(what, sizeof what, "framing: a line one byte over max_line fails (cut at %d)", (int)cut);
    CHECK(strcmp(frame("ok\nabcdef\nx", cut, 5, got, sizeof got), "FAIL") == 0, what);
  }
}

int main(void) {
  lua_State *L = harness_state();
  check_framing();
  int fds_before = count_fds(), status;
  lua_check(L, "a child echoes messages through its pipes",
    "local process, poll = require 'mcptest.core.process', require 'mcptest.core.poll'\n"
    "local p = assert(process.spawn{argv = {'cat'}})\n"
    "assert(p:send({id = 1, s = 'one'}) == 0 and p:send('two') == 0)\n"
    "local out = p:fds()\n"
    "local got = {}\n"
    "for _ = 1, 50 do\n"
    "  local fd = poll.wait({out}, nil, 1)\n"
    "  if fd == out then local msgs, n = p:read_messages(); for i = 1, n do got[#got+1] = msgs[i] end end\n"
    "  if #got == 2 then break end\n"
    "end\n"
    "assert(got[1].id == 1 and got[1].s == 'one' and got[2] == 'two')\n"
    "p:close()\n"
    "assert(p:status() == 'exited')");
  lua_check(L, "lines: CR LF accepted, a last line without newline delivered at EOF",
    "local process, poll = require 'mcptest.core.process', require 'mcptest.core.poll'\n"
    "local p = assert(process.spawn{argv = {'printf', 'one\\ntwo\\r\\nthr'}})\n"
    "local out = p:fds()\n"
    "local got, lines, n, eof = {}\n"
    "for _ = 1, 50 do\n"
    "  poll.wait({out}, nil, 1)\n"
    "  lines, n, eof = p:read_lines()\n"
    "  for i = 1, n do got[#got+1] = lines[i] end\n"
    "  if eof then break end\n"
    "end\n"
    "assert(eof and table.concat(got, '|') == 'one|two|thr', table.concat(got, '|'))\n"
    "p:close()");
  lua_check(L, "exit code, stderr and env reach Lua",
    "local process, poll = require 'mcptest.core.process', require 'mcptest.core.poll'\n"
    "local p = assert(process.spawn{argv = {'sh', '-c', 'echo \"$X\" >&2; exit 7'}, env = {'X=hello', 'PATH=/usr/bin:/bin'}})\n"
    "local _, err = p:fds()\n"
    "local s = ''\n"
    "for _ = 1, 100 do poll.wait({err}, nil, 1); local c, eof = p:read_stderr(); s = s .. c; if eof then break end end\n"
    "assert(s == 'hello\\n', s)\n"
    "p:close(2)\n"
    "local st, code = p:status()\n"
    "assert(st == 'exited' and code == 7, st .. tostring(code))");
  lua_check(L, "a missing command fails with a transport error, not a crash",
    "local process = require 'mcptest.core.process'\n"
    "local p, err = process.spawn{argv = {'/no/such/binary'}}\n"
    "assert(p == nil and err.kind == 'transport' and err.message:find('/no/such/binary'))\n"
    "local p2, err2 = process.spawn{argv = {'true'}, cwd = '/no/such/dir'}\n"
    "assert(p2 == nil and err2.message:find('/no/such/dir'))");
  lua_check(L, "a child that ignores SIGTERM is killed within the bound",
    "local process, sys = require 'mcptest.core.process', require 'mcptest.core.sys'\n"
    "local p = assert(process.spawn{argv = {'sh', '-c', 'trap \"\" TERM; while :; do sleep 0.05; done'}})\n"
    "sys.sleep(0.1)\n"
    "local t0 = sys.now()\n"
    "p:close(0.2)\n"
    "assert(sys.now() - t0 < 3)\n"
    "local st, sig = p:status()\n"
    "assert(st == 'signaled' and sig == 9, st)");
  lua_check(L, "max_line must be positive: 0 and -1 are refused, not taken as no cap",
    "local process = require 'mcptest.core.process'\n"
    "for _, n in ipairs{0, -1} do\n"
    "  local ok, err = pcall(process.spawn, {argv = {'true'}, max_line = n})\n"
    "  assert(not ok and tostring(err):find('max_line must be positive'), tostring(err))\n"
    "end");
  lua_check(L, "writing to a child that exited is an error value",
    "local process, sys = require 'mcptest.core.process', require 'mcptest.core.sys'\n"
    "local p = assert(process.spawn{argv = {'true'}})\n"
    "sys.sleep(0.2)\n"
    "local n, err = p:send(string.rep('x', 100000))\n"
    "assert(n == nil and err.kind == 'transport', 'EPIPE expected')\n"
    "p:close()");
  lua_check(L, "poll times out with nothing ready",
    "local poll, sys = require 'mcptest.core.poll', require 'mcptest.core.sys'\n"
    "local t0 = sys.now()\n"
    "local fd = poll.wait({}, nil, 0.05)\n"
    "assert(fd == nil and sys.now() - t0 >= 0.04)");
  lua_gc(L, LUA_GCCOLLECT);
  CHECK(count_fds() == fds_before, "no descriptor leaked");
  CHECK(waitpid(-1, &status, WNOHANG) < 0, "no child left to reap (no zombies)");
  lua_close(L);
  return harness_done();
}
