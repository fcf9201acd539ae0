/* fuzz.h: what the libFuzzer targets of spec/fuzz share (docs/fuzzing.md).
 * Each target is one LLVMFuzzerTestOneInput over one parser; a finding is
 * a sanitizer report, a timeout, a leak, or fuzz_fail() when an invariant
 * the parser promises does not hold (it aborts, so libFuzzer saves the
 * input). */
#ifndef MCPTEST_FUZZ_H
#define MCPTEST_FUZZ_H
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcptest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broke: say which and abort (libFuzzer writes the crash-*
 * file). */
static inline void fuzz_fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "fuzz: invariant broken: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

/* One Lua state for the whole run, as the host sets it up (the modules
 * and the embedded Lua sources). */
static inline lua_State *fuzz_state(void) {
  static lua_State *L;
  if (!L) {
    signal(SIGPIPE, SIG_IGN);
    L = luaL_newstate();
    if (!L) fuzz_fail("cannot create a Lua state");
    luaL_openlibs(L);
    mcpt_open_modules(L);
  }
  return L;
}

/* End an input: drop what it left on the stack and collect its garbage.
 * Without the collection the mallocs of an input outnumber its frees, and
 * libFuzzer then runs a whole leak check after every input (100x slower);
 * with it, an input that really leaks still shows. */
static inline void fuzz_state_done(lua_State *L, int top) {
  lua_settop(L, top);
  lua_gc(L, LUA_GCCOLLECT);
}

/* Chunk sizes from the input, so one input also tries one way of splitting
 * a stream: a small deterministic generator (xorshift) seeded by a byte. */
typedef struct fuzz_rng { uint32_t s; } fuzz_rng;
static inline uint32_t fuzz_next(fuzz_rng *r) {
  uint32_t x = r->s ? r->s : 0x9e3779b9u;
  x ^= x << 13; x ^= x >> 17; x ^= x << 5;
  return r->s = x;
}

/* ===== coverage for parsers written in Lua =====
 * Lua code is interpreted by an uninstrumented VM, so libFuzzer would see
 * no new paths in it. A line hook feeds libFuzzer's extra counters (the
 * __libfuzzer_extra_counters section, read with the compiler's own
 * counters): one counter per (function, previous line, line) edge. */
#define FUZZ_LUA_COUNTERS 8192
__attribute__((section("__libfuzzer_extra_counters"), used))
static uint8_t fuzz_lua_counters[FUZZ_LUA_COUNTERS];
static uintptr_t fuzz_lua_prev;

static inline void fuzz_lua_line_hook(lua_State *L, lua_Debug *ar) {
  uintptr_t h;
  if (!lua_getinfo(L, "S", ar)) return;
  /* the source string's address names the function's chunk; linedefined
   * tells functions of one chunk apart */
  h = (uintptr_t)ar->source * 31u + (uintptr_t)ar->linedefined * 131u + (uintptr_t)ar->currentline;
  fuzz_lua_counters[(h ^ (fuzz_lua_prev >> 1)) % FUZZ_LUA_COUNTERS]++;
  fuzz_lua_prev = h;
}

/* Count Lua line edges from now on (call once, before the parser runs). */
static inline void fuzz_lua_coverage(lua_State *L) {
  lua_sethook(L, fuzz_lua_line_hook, LUA_MASKLINE, 0);
}
#endif
