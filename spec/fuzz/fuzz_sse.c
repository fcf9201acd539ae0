/* fuzz_sse.c: the SSE parser (runtime/sse.c, mcptest.core.sse: every
 * Streamable HTTP and legacy SSE stream goes through it) fed arbitrary
 * streams, through its Lua API as the transports use it.
 * Input: byte 0 picks max_event (1..128 bytes, or 1 MiB), byte 1 seeds how
 * the stream is cut into chunks (0..16 bytes, empty ones included), the
 * rest is the stream. The same stream is parsed twice, whole and in those
 * chunks; the parser promises the result does not depend on the chunking:
 *   - without a size failure: the same events (data, type, id), the same
 *     last_id, retry and finish() answer;
 *   - a size failure whole means one cut too (a cut stream fails earlier
 *     when a partial line is already over max_event), and the events a
 *     failing run delivered are the first events of the whole run;
 *   - feed() never raises, events counts the events delivered, last_id
 *     never holds a NUL (the spec ignores such ids). */
#include "fuzz.h"

typedef struct run {
  mcpt_buf events; /* the delivered events, each field length-prefixed */
  lua_Integer count, retry;
  int failed, cut, has_retry, has_last_id;
  mcpt_buf last_id;
} run;

static void put_field(mcpt_buf *b, lua_State *L, int idx) {
  size_t n = 0;
  const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &n) : NULL;
  long long len = s ? (long long)n : -1; /* nil and "" differ */
  if (mcpt_buf_add(b, &len, sizeof len) || (s && mcpt_buf_add(b, s, n))) fuzz_fail("out of memory");
}

/* on_event(data, type, id, ctx): ctx is the run (a light userdata). */
static int on_event(lua_State *L) {
  run *r = (run *)lua_touserdata(L, 4);
  if (lua_type(L, 1) != LUA_TSTRING || lua_rawlen(L, 1) == 0) fuzz_fail("an event without data was delivered");
  if (lua_type(L, 2) != LUA_TSTRING) fuzz_fail("an event without a type was delivered");
  put_field(&r->events, L, 1);
  put_field(&r->events, L, 2);
  put_field(&r->events, L, 3);
  r->count++;
  return 0;
}

/* parser:method(arg) in protected mode; leaves its results (nres). */
static void call(lua_State *L, int parser, const char *method, const char *arg, size_t n, int nres) {
  lua_getfield(L, parser, method);
  lua_pushvalue(L, parser);
  if (arg) lua_pushlstring(L, arg, n);
  if (lua_pcall(L, arg ? 2 : 1, nres, 0) != LUA_OK) fuzz_fail("p:%s raised: %s", method, lua_tostring(L, -1));
}

static void parse(lua_State *L, run *r, size_t max_event, const char *s, size_t n, uint8_t seed) {
  int top = lua_gettop(L), parser;
  fuzz_rng rng = {seed * 2654435761u + 1u};
  size_t pos = 0;
  memset(r, 0, sizeof *r);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "mcptest.core.sse");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new");
  lua_pushcfunction(L, on_event);
  lua_pushlightuserdata(L, r);
  lua_pushinteger(L, (lua_Integer)max_event);
  lua_call(L, 3, 1);
  parser = lua_gettop(L);
  do {
    size_t k = seed == 0 ? n : fuzz_next(&rng) % 17; /* seed 0: the whole stream */
    if (k > n - pos) k = n - pos;
    call(L, parser, "feed", s + pos, k, 2);
    pos += k;
    if (lua_isnil(L, -2)) { /* nil, err: the size limit, for good */
      if (lua_type(L, -1) != LUA_TTABLE) fuzz_fail("feed failed without an error");
      r->failed = 1;
    } else if (!lua_toboolean(L, -2)) {
      fuzz_fail("feed returned neither true nor nil, err");
    }
    lua_pop(L, 2);
  } while (pos < n && !r->failed);
  call(L, parser, "finish", NULL, 0, 1);
  r->cut = lua_toboolean(L, -1);
  lua_getfield(L, parser, "events");
  if (lua_tointeger(L, -1) != r->count) fuzz_fail("p.events is %d, %d events were delivered", (int)lua_tointeger(L, -1), (int)r->count);
  if (lua_getfield(L, parser, "last_id") == LUA_TSTRING) {
    size_t ln;
    const char *id = lua_tolstring(L, -1, &ln);
    if (memchr(id, '\0', ln)) fuzz_fail("last_id holds a NUL");
    r->has_last_id = 1;
    if (mcpt_buf_add(&r->last_id, id, ln)) fuzz_fail("out of memory");
  }
  if (lua_getfield(L, parser, "retry") == LUA_TNUMBER) { r->has_retry = 1; r->retry = lua_tointeger(L, -1); }
  lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_state();
  run whole, cut;
  size_t max_event;
  uint8_t seed;
  if (size < 2) return 0;
  max_event = data[0] & 0x80 ? (size_t)1 << 20 : (size_t)(data[0] & 0x7f) + 1;
  seed = data[1] ? data[1] : 1;
  parse(L, &whole, max_event, (const char *)data + 2, size - 2, 0);
  parse(L, &cut, max_event, (const char *)data + 2, size - 2, seed);
  if (whole.failed && !cut.failed) fuzz_fail("the whole stream failed the size limit, the cut one did not");
  if (cut.events.len > whole.events.len ||
      (cut.events.len && memcmp(cut.events.data, whole.events.data, cut.events.len) != 0))
    fuzz_fail("cut in chunks, the stream gave other events (%d) than whole (%d)", (int)cut.count, (int)whole.count);
  if (!whole.failed && !cut.failed) {
    if (cut.events.len != whole.events.len) fuzz_fail("cut in chunks, the stream gave fewer events");
    if (cut.has_last_id != whole.has_last_id || cut.last_id.len != whole.last_id.len ||
        (cut.last_id.len && memcmp(cut.last_id.data, whole.last_id.data, cut.last_id.len) != 0))
      fuzz_fail("cut in chunks, the stream ended with another last_id");
    if (cut.has_retry != whole.has_retry || cut.retry != whole.retry)
      fuzz_fail("cut in chunks, the stream ended with another retry");
    if (cut.cut != whole.cut) fuzz_fail("finish() says %d cut, %d whole", cut.cut, whole.cut);
  }
  mcpt_buf_free(&whole.events);
  mcpt_buf_free(&cut.events);
  mcpt_buf_free(&whole.last_id);
  mcpt_buf_free(&cut.last_id);
  fuzz_state_done(L, lua_gettop(L));
  return 0;
}
