/*
 * hist.c: mcptest.core.hist, a latency histogram for load mode.
 *
 * Log-linear buckets in the manner of HdrHistogram: values (integers,
 * microseconds in practice) below 256 have a bucket each; above, every
 * power of two is cut into 128 equal buckets, so a bucket is at most
 * 1/128 of its values wide and a percentile read from its midpoint is
 * within 0.4% of the true sample. Values up to 2^40 (12 days in
 * microseconds) fit; larger ones are clamped. A histogram is 4352 64-bit
 * counters (34 KiB) whatever the rate, and two merge exactly (shards of a
 * run, workers): percentiles are recomputed from the merged counts, never
 * averaged.
 *
 *   h = hist.new()
 *   h:record(v [, n])      add n (default 1) samples of value v (>= 0)
 *   h:count() h:min() h:max() h:mean() h:sum()
 *   h:percentile(p)        0 <= p <= 100; nil when empty
 *   h:merge(other)
 *   h:export() -> { count=, min=, max=, sum=, buckets = { {index, n}, ... } }
 *   hist.import(t) -> h    (export's table, e.g. read back from JSON)
 *   hist.ERROR             the largest relative error of a percentile
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mcptest.h"

#define HIST_MT "mcptest.Histogram"
#define HIST_SUB 256      /* exact below this */
#define HIST_HALF 128     /* buckets per power of two above it */
#define HIST_MAX_SHIFT 32 /* values up to 2^40 */
#define HIST_BUCKETS (HIST_SUB + HIST_MAX_SHIFT * HIST_HALF)
#define HIST_MAX_VALUE ((((uint64_t)1) << 40) - 1)

typedef struct hist {
  uint64_t count;
  uint64_t min, max;
  double sum;
  uint64_t buckets[HIST_BUCKETS];
} hist;

static int hist_index(uint64_t v) {
  int bits, shift;
  if (v < HIST_SUB) return (int)v;
  if (v > HIST_MAX_VALUE) v = HIST_MAX_VALUE;
  bits = 64 - __builtin_clzll(v); /* v >= 256: bits >= 9 */
  shift = bits - 8;
  return HIST_SUB + (shift - 1) * HIST_HALF + (int)((v >> shift) - HIST_HALF);
}

/* The lowest value of bucket i and its width. */
static void hist_bounds(int i, uint64_t *low, uint64_t *width) {
  int shift, top;
  if (i < HIST_SUB) { *low = (uint64_t)i; *width = 1; return; }
  shift = (i - HIST_SUB) / HIST_HALF + 1;
  top = (i - HIST_SUB) % HIST_HALF + HIST_HALF;
  *low = ((uint64_t)top) << shift;
  *width = ((uint64_t)1) << shift;
}

static hist *hist_check(lua_State *L, int idx) { return (hist *)luaL_checkudata(L, idx, HIST_MT); }

static hist *hist_push(lua_State *L) {
  hist *h = (hist *)lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  luaL_setmetatable(L, HIST_MT);
  return h;
}

static int hist_new(lua_State *L) {
  hist_push(L);
  return 1;
}

static void hist_add(hist *h, uint64_t v, uint64_t n) {
  if (n == 0) return;
  if (v > HIST_MAX_VALUE) v = HIST_MAX_VALUE;
  if (h->count == 0 || v < h->min) h->min = v;
  if (h->count == 0 || v > h->max) h->max = v;
  h->count += n;
  h->sum += (double)v * (double)n;
  h->buckets[hist_index(v)] += n;
}

static int hist_record(lua_State *L) {
  hist *h = hist_check(L, 1);
  lua_Number v = luaL_checknumber(L, 2);
  lua_Integer n = luaL_optinteger(L, 3, 1);
  luaL_argcheck(L, v >= 0 && v == v, 2, "a value must be a number >= 0");
  luaL_argcheck(L, n >= 0, 3, "a count must be >= 0");
  hist_add(h, (uint64_t)llround(v), (uint64_t)n);
  return 0;
}

/* hist.record_all(list, value): one value into each histogram of a list
 * (load mode records every request's times into several: a metric and its
 * submetrics), in one call rather than a method call per histogram. */
static int hist_record_all(lua_State *L) {
  lua_Number v = luaL_checknumber(L, 2);
  lua_Integer i, n;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argcheck(L, v >= 0 && v == v, 2, "a value must be a number >= 0");
  n = (lua_Integer)lua_rawlen(L, 1);
  for (i = 1; i <= n; i++) { /* all or nothing: every item checked first */
    int ok = lua_rawgeti(L, 1, i) == LUA_TUSERDATA && luaL_testudata(L, -1, HIST_MT) != NULL;
    lua_pop(L, 1);
    if (!ok) return luaL_error(L, "hist.record_all: item %d of the list is not a histogram", (int)i);
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    hist_add((hist *)lua_touserdata(L, -1), (uint64_t)llround(v), 1);
    lua_pop(L, 1);
  }
  return 0;
}

static int hist_count(lua_State *L) { lua_pushinteger(L, (lua_Integer)hist_check(L, 1)->count); return 1; }
static int hist_sum(lua_State *L) { lua_pushnumber(L, hist_check(L, 1)->sum); return 1; }

static int hist_min(lua_State *L) {
  hist *h = hist_check(L, 1);
  if (!h->count) lua_pushnil(L); else lua_pushinteger(L, (lua_Integer)h->min);
  return 1;
}

static int hist_max(lua_State *L) {
  hist *h = hist_check(L, 1);
  if (!h->count) lua_pushnil(L); else lua_pushinteger(L, (lua_Integer)h->max);
  return 1;
}

static int hist_mean(lua_State *L) {
  hist *h = hist_check(L, 1);
  if (!h->count) lua_pushnil(L); else lua_pushnumber(L, h->sum / (double)h->count);
  return 1;
}

/* The value below which p percent of the samples lie: the midpoint of the
 * bucket holding the ceil(p/100 * count)-th sample, kept within min..max. */
static int hist_percentile(lua_State *L) {
  hist *h = hist_check(L, 1);
  lua_Number p = luaL_checknumber(L, 2);
  uint64_t rank, seen = 0, low, width;
  double v;
  int i;
  luaL_argcheck(L, p >= 0 && p <= 100, 2, "a percentile is between 0 and 100");
  if (!h->count) { lua_pushnil(L); return 1; }
  rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
  if (rank < 1) rank = 1;
  if (rank >= h->count) { lua_pushinteger(L, (lua_Integer)h->max); return 1; } /* exact */
  for (i = 0; i < HIST_BUCKETS; i++) {
    seen += h->buckets[i];
    if (seen >= rank) break;
  }
  if (i == HIST_BUCKETS) i = HIST_BUCKETS - 1;
  hist_bounds(i, &low, &width);
  v = width == 1 ? (double)low : (double)low + (double)(width - 1) / 2.0;
  if (v < (double)h->min) v = (double)h->min;
  if (v > (double)h->max) v = (double)h->max;
  lua_pushnumber(L, v);
  return 1;
}

static void hist_merge_into(hist *a, const hist *b) {
  int i;
  if (!b->count) return;
  if (a->count == 0 || b->min < a->min) a->min = b->min;
  if (a->count == 0 || b->max > a->max) a->max = b->max;
  a->count += b->count;
  a->sum += b->sum;
  for (i = 0; i < HIST_BUCKETS; i++) a->buckets[i] += b->buckets[i];
}

static int hist_merge(lua_State *L) {
  hist_merge_into(hist_check(L, 1), hist_check(L, 2));
  return 0;
}

static int hist_export(lua_State *L) {
  hist *h = hist_check(L, 1);
  int i, n = 0;
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, (lua_Integer)h->count); lua_setfield(L, -2, "count");
  lua_pushinteger(L, (lua_Integer)h->min); lua_setfield(L, -2, "min");
  lua_pushinteger(L, (lua_Integer)h->max); lua_setfield(L, -2, "max");
  lua_pushnumber(L, h->sum); lua_setfield(L, -2, "sum");
  lua_newtable(L);
  for (i = 0; i < HIST_BUCKETS; i++) {
    if (!h->buckets[i]) continue;
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, i); lua_rawseti(L, -2, 1);
    lua_pushinteger(L, (lua_Integer)h->buckets[i]); lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, ++n);
  }
  lua_setfield(L, -2, "buckets");
  return 1;
}

/* hist.import(t): every field checked, so a hand-edited or foreign report
 * is refused with the reason rather than merged wrong. */
static int hist_import(lua_State *L) {
  hist *h;
  lua_Integer count, total = 0;
  int n, k;
  luaL_checktype(L, 1, LUA_TTABLE);
  h = hist_push(L);
  lua_getfield(L, 1, "count");
  if (!lua_isinteger(L, -1) || (count = lua_tointeger(L, -1)) < 0)
    return luaL_error(L, "histogram: count must be an integer >= 0");
  lua_pop(L, 1);
  lua_getfield(L, 1, "buckets");
  if (!lua_istable(L, -1)) return luaL_error(L, "histogram: buckets must be a list");
  n = (int)luaL_len(L, -1);
  for (k = 1; k <= n; k++) {
    lua_Integer i, c;
    lua_rawgeti(L, -1, k);
    if (!lua_istable(L, -1)) return luaL_error(L, "histogram: bucket %d is not a pair", k);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1)) return luaL_error(L, "histogram: bucket %d is not a pair of integers", k);
    i = lua_tointeger(L, -2);
    c = lua_tointeger(L, -1);
    if (i < 0 || i >= HIST_BUCKETS || c < 0) return luaL_error(L, "histogram: bucket %d out of range", k);
    h->buckets[i] += (uint64_t)c;
    total += c;
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
  if (total != count) return luaL_error(L, "histogram: buckets hold %d samples, count says %d", (int)total, (int)count);
  h->count = (uint64_t)count;
  lua_getfield(L, 1, "min");
  h->min = (uint64_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 1, "max");
  h->max = (uint64_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 1, "sum");
  h->sum = luaL_optnumber(L, -1, 0);
  lua_pop(L, 3);
  return 1;
}

static const luaL_Reg hist_methods[] = {
  {"record", hist_record},
  {"count", hist_count},
  {"sum", hist_sum},
  {"min", hist_min},
  {"max", hist_max},
  {"mean", hist_mean},
  {"percentile", hist_percentile},
  {"merge", hist_merge},
  {"export", hist_export},
  {NULL, NULL}
};

int luaopen_mcptest_core_hist(lua_State *L) {
  if (luaL_newmetatable(L, HIST_MT)) {
    luaL_newlib(L, hist_methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, hist_new);
  lua_setfield(L, -2, "new");
  lua_pushcfunction(L, hist_record_all);
  lua_setfield(L, -2, "record_all");
  lua_pushcfunction(L, hist_import);
  lua_setfield(L, -2, "import");
  lua_pushnumber(L, 0.5 / HIST_HALF);
  lua_setfield(L, -2, "ERROR");
  return 1;
}
