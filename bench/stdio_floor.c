/*
 * stdio_floor.c: the benchmark floor for the stdio transport. A minimal C
 * JSON-RPC client: it spawns the server, writes the same request lines
 * mcptest writes (initialize, notifications/initialized, tools/call echo)
 * to its stdin and reads each reply line from its stdout, doing no JSON
 * work at all. Its calls per second and CPU per call are the floor
 * mcptest is measured against (bench/stdio_bench.sh).
 *
 * With --modern it speaks 2026-07-28 instead: no handshake, one
 * server/discover, then every request carrying the _meta envelope
 * (protocol version, client capabilities, client info) mcptest sends.
 *
 * usage: stdio_floor [--poll] [--modern] CALLS WARMUP -- SERVER ARGV...
 * prints: {"calls":N,"seconds":S,"calls_per_s":R,"cpu_us_per_call":C,"user_us_per_call":U,"sys_us_per_call":S,"max_rss_kib":K}
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int use_poll, modern, err_fd = -1;
#define META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
  "\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/clientInfo\":" \
  "{\"name\":\"floor\",\"version\":\"0\"}}"
static char rbuf[1 << 20];
static size_t rlen;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_user(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
}

static double cpu_sys(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) { if (errno == EINTR) continue; perror("write"); exit(1); }
    s += w; n -= (size_t)w;
  }
}

/* Read until a full line is buffered and drop it; with want_id >= 0, drop
 * lines until the one that answers that id (a notification may come
 * first). The only "parsing": a substring search for "id":N. */
static void read_line_for(int fd, int want_id) {
  char needle[32];
  int nlen = want_id >= 0 ? snprintf(needle, sizeof needle, "\"id\":%d", want_id) : 0;
  for (;;) {
    char *nl = memchr(rbuf, '\n', rlen);
    if (nl) {
      size_t used = (size_t)(nl - rbuf) + 1;
      char *hit = nlen ? memmem(rbuf, used, needle, (size_t)nlen) : rbuf;
      int match = hit != NULL && (!nlen || hit[nlen] == ',' || hit[nlen] == '}');
      memmove(rbuf, rbuf + used, rlen - used);
      rlen -= used;
      if (match) return;
      continue;
    }
    ssize_t r;
    if (use_poll) {
      struct pollfd fds[2] = { { fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
      if (poll(fds, 2, 10000) < 0 && errno != EINTR) { perror("poll"); exit(1); }
      if (fds[1].revents) { char junk[4096]; if (read(err_fd, junk, sizeof junk) <= 0) fds[1].fd = err_fd = -1; }
      if (!fds[0].revents) continue;
    }
    r = read(fd, rbuf + rlen, sizeof rbuf - rlen);
    if (r < 0 && errno == EAGAIN) continue;
    if (r <= 0) { fprintf(stderr, "server closed stdout\n"); exit(1); }
    rlen += (size_t)r;
  }
}

/* A request: one line written, lines read until the answer to its id. */
static void call(int in, int out, int id) {
  char line[512];
  int n = modern
    ? snprintf(line, sizeof line,
        "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
        "{\"name\":\"echo\",\"arguments\":{\"message\":\"hello\"}," META "}}\n", id)
    : snprintf(line, sizeof line,
        "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
        "{\"name\":\"echo\",\"arguments\":{\"message\":\"hello\"}}}\n", id);
  write_all(in, line, (size_t)n);
  read_line_for(out, id);
}

int main(int argc, char **argv) {
  int calls, warmup, i, pin[2], pout[2], perr[2], id = 1;
  pid_t pid;
  double t0, u0, s0, t1, u1, s1;
  struct rusage ru;
  const char *init =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
    "\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"floor\",\"version\":\"0\"}}}\n";
  const char *initialized = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
  const char *discover =
    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"server/discover\",\"params\":{" META "}}\n";
  if (argc > 1 && strcmp(argv[1], "--poll") == 0) { use_poll = 1; argv++; argc--; }
  if (argc > 1 && strcmp(argv[1], "--modern") == 0) { modern = 1; argv++; argc--; }
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: stdio_floor [--poll] [--modern] CALLS WARMUP -- SERVER ARGV...\n");
    return 2;
  }
  calls = atoi(argv[1]);
  warmup = atoi(argv[2]);
  if (pipe(pin) || pipe(pout) || pipe(perr)) { perror("pipe"); return 1; }
  pid = fork();
  if (pid == 0) {
    dup2(pin[0], 0); dup2(pout[1], 1);
    if (use_poll) dup2(perr[1], 2);
    close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]); close(perr[0]); close(perr[1]);
    execvp(argv[4], argv + 4);
    perror("exec");
    _exit(127);
  }
  close(pin[0]); close(pout[1]); close(perr[1]);
  if (use_poll) { err_fd = perr[0]; fcntl(pout[0], F_SETFL, O_NONBLOCK); fcntl(err_fd, F_SETFL, O_NONBLOCK); }
  else close(perr[0]);
  if (modern) {
    write_all(pin[1], discover, strlen(discover));
    read_line_for(pout[0], 0);
  } else {
    write_all(pin[1], init, strlen(init));
    read_line_for(pout[0], 0);
    write_all(pin[1], initialized, strlen(initialized));
  }
  for (i = 0; i < warmup; i++) call(pin[1], pout[0], id++);
  t0 = now(); u0 = cpu_user(); s0 = cpu_sys();
  for (i = 0; i < calls; i++) call(pin[1], pout[0], id++);
  t1 = now(); u1 = cpu_user(); s1 = cpu_sys();
  close(pin[1]);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"calls\":%d,\"seconds\":%.4f,\"calls_per_s\":%.1f,\"cpu_us_per_call\":%.2f,\"user_us_per_call\":%.2f,\"sys_us_per_call\":%.2f,\"max_rss_kib\":%ld}\n",
         calls, t1 - t0, calls / (t1 - t0), ((u1 - u0) + (s1 - s0)) * 1e6 / calls,
         (u1 - u0) * 1e6 / calls, (s1 - s0) * 1e6 / calls, ru.ru_maxrss);
  return 0;
}
