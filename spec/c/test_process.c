/* test_process.c: mcptest.core.process and mcptest.core.poll: spawning,
 * line reads, stderr, exit status, stopping a stubborn child, and no
 * leaked descriptors or zombies. */
#include <dirent.h>
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

int main(void) {
  lua_State *L = harness_state();
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
