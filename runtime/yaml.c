/*
 * yaml.c: mcptest.core.yaml, YAML text to Lua values over libyaml's event
 * parser. Policy (schema checks, defaults) belongs to the Lua callers; this
 * file only builds values and says exactly where the text is wrong.
 *
 * load(text [, name [, opts]]) -> value, marks | nil, err
 *  (err: an mcptest.Error of kind "usage", message "name:line:col: why")
 *  - mappings become tables with mcptest.json's object metatable,
 *    sequences arrays with its array metatable (util.c makes both, whether
 *    or not mcptest.core.json is open), so empty [] and {} survive a trip
 *    to JSON;
 *  - plain scalars are resolved with the YAML 1.2 core schema: null, true and
 *    false, integers (decimal, 0o, 0x), floats (.inf, .nan); quoted scalars
 *    stay strings; the tags !!str !!int !!float !!bool !!null are honoured;
 *  - null is json.null (a light userdata), so sequences keep their length;
 *  - anchors and aliases are shared tables, "<<" merge keys are applied,
 *    duplicate keys and non-scalar keys are errors;
 *  - only the first document is read; with opts.single = true a second
 *    document is an error (a suite is one document);
 *  - tags other than the core ones are refused, never silently ignored.
 * With opts.marks = true the second result holds, for every table t,
 * marks[t] = {key or index = key position << 31 | value position} and
 * marks.self[t] = t's position, each position line << 11 | column
 * (1-based), so callers can point at a bad value or an unknown key;
 * mcptest.yaml decodes them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "mcptest.h"

#define YAML_MT "mcptest.YamlParser"
#define YAML_MAX_DEPTH 200

typedef struct yaml_ctx {
  yaml_parser_t parser;
  yaml_event_t event;
  int parser_ok, event_ok; /* what __gc must release */
  const char *name;
  int depth;
  int anchors;  /* stack index of the anchors table (name -> value, false while being built) */
  int marks;    /* stack index of the marks table, 0 when not wanted */
  int seqs;     /* stack index of the set of tables that came from sequences */
  char err[512];
} yaml_ctx;

static void yaml_ctx_release(yaml_ctx *c) {
  if (c->event_ok) { yaml_event_delete(&c->event); c->event_ok = 0; }
  if (c->parser_ok) { yaml_parser_delete(&c->parser); c->parser_ok = 0; }
}

static int yaml_ctx_gc(lua_State *L) {
  yaml_ctx_release((yaml_ctx *)luaL_checkudata(L, 1, YAML_MT));
  return 0;
}

/* Record an error at a mark; returns -1 for the caller to pass up. */
static int yaml_error_at(yaml_ctx *c, yaml_mark_t m, const char *msg) {
  snprintf(c->err, sizeof c->err, "%s:%lu:%lu: %s", c->name, (unsigned long)m.line + 1,
           (unsigned long)m.column + 1, msg);
  return -1;
}

/* Next event into c->event; -1 with the parser's message on bad YAML. */
static int yaml_next(yaml_ctx *c) {
  if (c->event_ok) { yaml_event_delete(&c->event); c->event_ok = 0; }
  if (!yaml_parser_parse(&c->parser, &c->event)) {
    char msg[400];
    if (c->parser.context)
      snprintf(msg, sizeof msg, "%s %s", c->parser.problem ? c->parser.problem : "syntax error",
               c->parser.context);
    else
      snprintf(msg, sizeof msg, "%s", c->parser.problem ? c->parser.problem : "syntax error");
    return yaml_error_at(c, c->parser.problem_mark, msg);
  }
  c->event_ok = 1;
  return 0;
}

/* ===== scalar resolution (YAML 1.2 core schema) ===== */

static int yaml_is_null(const char *s) {
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int yaml_bool(const char *s) { /* 1 true, 0 false, -1 neither */
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return 1;
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return 0;
  return -1;
}

/* Push an integer for [-+]?[0-9]+, 0o[0-7]+ or 0x[0-9a-fA-F]+; 0 if not one. */
static int yaml_push_int(lua_State *L, const char *s) {
  const char *p = s;
  int base = 10;
  char *end;
  unsigned long long v;
  int neg = 0;
  if (s[0] == '0' && s[1] == 'o') { base = 8; p = s + 2; }
  else if (s[0] == '0' && s[1] == 'x') { base = 16; p = s + 2; }
  else if (*p == '-' || *p == '+') { neg = *p == '-'; p++; }
  if (!*p) return 0;
  for (end = (char *)p; *end; end++) {
    int ok = base == 16 ? ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f') || (*end >= 'A' && *end <= 'F'))
           : base == 8 ? (*end >= '0' && *end <= '7') : (*end >= '0' && *end <= '9');
    if (!ok) return 0;
  }
  errno = 0;
  v = strtoull(p, &end, base);
  if (errno == ERANGE || v > (unsigned long long)LUA_MAXINTEGER + (neg ? 1u : 0u)) {
    lua_pushnumber(L, strtod(s, NULL)); /* too big for an integer */
    return 1;
  }
  lua_pushinteger(L, neg ? (lua_Integer)(0 - v) : (lua_Integer)v);
  return 1;
}

/* Push a float for the core-schema float forms; 0 if not one. */
static int yaml_push_float(lua_State *L, const char *s) {
  const char *p = s;
  int digits = 0;
  char *end;
  if (*p == '-' || *p == '+') p++;
  if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
    lua_pushnumber(L, *s == '-' ? -HUGE_VAL : HUGE_VAL);
    return 1;
  }
  if (p == s && (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))) {
    lua_pushnumber(L, NAN);
    return 1;
  }
  while (*p >= '0' && *p <= '9') { p++; digits++; }
  if (*p == '.') { p++; while (*p >= '0' && *p <= '9') { p++; digits++; } }
  if (!digits) return 0;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '-' || *p == '+') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p) return 0;
  lua_pushnumber(L, strtod(s, &end));
  return 1;
}

static void yaml_push_null(lua_State *L) {
  lua_pushlightuserdata(L, NULL); /* the same value as cjson.null / json.null */
}

/* Push the value of the current scalar event; -1 on a bad explicit tag. */
static int yaml_push_scalar(lua_State *L, yaml_ctx *c) {
  const yaml_event_t *e = &c->event;
  const char *s = (const char *)e->data.scalar.value;
  const char *tag = (const char *)e->data.scalar.tag;
  size_t len = e->data.scalar.length;
  if (tag && strcmp(tag, "!") != 0) {
    if (!strcmp(tag, YAML_STR_TAG)) { lua_pushlstring(L, s, len); return 0; }
    if (!strcmp(tag, YAML_NULL_TAG)) { yaml_push_null(L); return 0; }
    if (!strcmp(tag, YAML_BOOL_TAG) && yaml_bool(s) >= 0) { lua_pushboolean(L, yaml_bool(s)); return 0; }
    if (!strcmp(tag, YAML_INT_TAG) && yaml_push_int(L, s)) return 0;
    if (!strcmp(tag, YAML_FLOAT_TAG) && (yaml_push_float(L, s) || yaml_push_int(L, s))) {
      lua_pushnumber(L, lua_tonumber(L, -1));
      lua_remove(L, -2);
      return 0;
    }
    {
      char msg[300];
      if (strncmp(tag, "tag:yaml.org,2002:", 18) != 0)
        snprintf(msg, sizeof msg, "tag %.60s is not supported: only the YAML 1.2 core tags "
                 "(!!str !!int !!float !!bool !!null !!map !!seq)", tag);
      else
        snprintf(msg, sizeof msg, "cannot read '%.40s' as %.60s", s, tag);
      return yaml_error_at(c, e->start_mark, msg);
    }
  }
  if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || tag) {
    lua_pushlstring(L, s, len); /* quoted, literal, folded: always a string */
    return 0;
  }
  if (yaml_is_null(s)) { yaml_push_null(L); return 0; }
  if (yaml_bool(s) >= 0) { lua_pushboolean(L, yaml_bool(s)); return 0; }
  if (yaml_push_int(L, s) || yaml_push_float(L, s)) return 0;
  lua_pushlstring(L, s, len);
  return 0;
}

/* ===== nodes ===== */

static int yaml_node(lua_State *L, yaml_ctx *c);

/* Remember an anchored value (on top of the stack). */
static void yaml_anchor(lua_State *L, yaml_ctx *c, const yaml_char_t *anchor) {
  if (!anchor) return;
  lua_pushvalue(L, -1);
  lua_setfield(L, c->anchors, (const char *)anchor);
}

/* A collection's anchor is registered only once the collection is complete,
 * so an alias inside it cannot make a cyclic table: at its start the name
 * is pushed (nil when none; it stays below the table on the stack) and
 * marked as being built (false); yaml_anchor_end then registers the table
 * on top and removes the name from the stack. */
static void yaml_anchor_begin(lua_State *L, yaml_ctx *c, const yaml_char_t *anchor) {
  if (!anchor) { lua_pushnil(L); return; }
  lua_pushstring(L, (const char *)anchor);
  lua_pushvalue(L, -1);
  lua_pushboolean(L, 0);
  lua_rawset(L, c->anchors);
}

static void yaml_anchor_end(lua_State *L, yaml_ctx *c, int name_idx) {
  if (lua_type(L, name_idx) == LUA_TSTRING) {
    lua_pushvalue(L, name_idx);
    lua_pushvalue(L, -2);
    lua_rawset(L, c->anchors);
  }
  lua_remove(L, name_idx);
}

/* Is the value at idx a table that came from a YAML sequence? */
static int yaml_is_seq(lua_State *L, yaml_ctx *c, int idx) {
  int r;
  if (!lua_istable(L, idx)) return 0;
  lua_pushvalue(L, idx);
  r = lua_rawget(L, c->seqs) != LUA_TNIL;
  lua_pop(L, 1);
  return r;
}

/* A position packed in 31 bits: line << 11 | column (1-based; lines
 * capped at 2^20 - 1, columns at 2047). Two of them make one entry of a
 * marks table, so marks cost no table per value (mcptest.yaml decodes). */
static lua_Integer yaml_pos(yaml_mark_t m) {
  lua_Integer line = (lua_Integer)m.line + 1, col = (lua_Integer)m.column + 1;
  if (line > 0xFFFFF) line = 0xFFFFF;
  if (col > 2047) col = 2047;
  return line << 11 | col;
}

/* Create the marks entry for the table on top; leaves it on the stack
 * above the table (stack: table, entry) or nothing when marks are off.
 * marks[table] = entry (key or index -> key position << 31 | value
 * position), marks.self[table] = the table's own position. */
static void yaml_mark_table(lua_State *L, yaml_ctx *c, yaml_mark_t m) {
  if (!c->marks) return;
  lua_newtable(L);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, -2);
  lua_rawset(L, c->marks);
  lua_pushvalue(L, -2);
  lua_pushinteger(L, yaml_pos(m));
  lua_rawset(L, c->marks + 1); /* the self table sits right above marks */
}

/* Give the table at the top the JSON array (1) or object (0) mark. */
static void yaml_json_mark(lua_State *L, int array) {
  mcpt_push_json_mt(L, array);
  lua_setmetatable(L, -2);
}

/* Copy keys of mapping at src missing in mapping at dst (the "<<" merge). */
static void yaml_merge_into(lua_State *L, int dst, int src) {
  lua_pushnil(L);
  while (lua_next(L, src)) {
    lua_pushvalue(L, -2);
    if (lua_rawget(L, dst) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushvalue(L, -2);
      lua_pushvalue(L, -2);
      lua_rawset(L, dst);
    } else {
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}

/* A collection may carry no tag, "!" or its own core tag; anything else
 * (an application tag like !ruby/object) is refused rather than ignored. */
static int yaml_collection_tag(yaml_ctx *c, const yaml_char_t *tag, const char *core) {
  char msg[300];
  if (!tag || !strcmp((const char *)tag, "!") || !strcmp((const char *)tag, core)) return 0;
  snprintf(msg, sizeof msg, "tag %.60s is not supported here: only the YAML 1.2 core tags "
           "(!!str !!int !!float !!bool !!null !!map !!seq)", (const char *)tag);
  return yaml_error_at(c, c->event.start_mark, msg);
}

static int yaml_sequence(lua_State *L, yaml_ctx *c) {
  lua_Integer n = 0;
  int t;
  yaml_mark_t start = c->event.start_mark;
  if (yaml_collection_tag(c, c->event.data.sequence_start.tag, YAML_SEQ_TAG)) return -1;
  yaml_anchor_begin(L, c, c->event.data.sequence_start.anchor);
  lua_newtable(L);
  yaml_json_mark(L, 1);
  t = lua_gettop(L);
  lua_pushvalue(L, t);
  lua_pushboolean(L, 1);
  lua_rawset(L, c->seqs);
  yaml_mark_table(L, c, start);
  for (;;) {
    yaml_mark_t at;
    if (yaml_next(c)) return -1;
    if (c->event.type == YAML_SEQUENCE_END_EVENT) break;
    at = c->event.start_mark;
    if (yaml_node(L, c)) return -1;
    lua_rawseti(L, t, ++n);
    if (c->marks) {
      lua_pushinteger(L, yaml_pos(at) << 31 | yaml_pos(at));
      lua_rawseti(L, t + 1, n);
    }
  }
  if (c->marks) lua_pop(L, 1); /* the marks entry */
  yaml_anchor_end(L, c, t - 1);
  return 0;
}

static int yaml_mapping(lua_State *L, yaml_ctx *c) {
  int t, merges = 0, i;
  yaml_mark_t start = c->event.start_mark;
  if (yaml_collection_tag(c, c->event.data.mapping_start.tag, YAML_MAP_TAG)) return -1;
  yaml_anchor_begin(L, c, c->event.data.mapping_start.anchor);
  lua_newtable(L);
  yaml_json_mark(L, 0);
  t = lua_gettop(L);
  yaml_mark_table(L, c, start);
  lua_pushnil(L); /* merge sources, created on the first "<<" */
  for (;;) {
    yaml_mark_t kat, vat;
    int is_merge;
    if (yaml_next(c)) return -1;
    if (c->event.type == YAML_MAPPING_END_EVENT) break;
    kat = c->event.start_mark;
    if (c->event.type != YAML_SCALAR_EVENT)
      return yaml_error_at(c, kat, "a mapping key must be a plain value, not a list or mapping");
    is_merge = c->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
               !strcmp((const char *)c->event.data.scalar.value, "<<");
    if (is_merge) lua_pushliteral(L, "<<");
    else if (yaml_push_scalar(L, c)) return -1;
    if (lua_type(L, -1) == LUA_TLIGHTUSERDATA)
      return yaml_error_at(c, kat, "a mapping key cannot be null");
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1))
      return yaml_error_at(c, kat, "a mapping key cannot be NaN (.nan)");
    lua_pushvalue(L, -1);
    if (!is_merge && lua_rawget(L, t) != LUA_TNIL) {
      char msg[200];
      snprintf(msg, sizeof msg, "duplicate key '%.80s'", lua_tostring(L, -2) ? lua_tostring(L, -2) : "?");
      return yaml_error_at(c, kat, msg);
    }
    lua_pop(L, 1);
    if (yaml_next(c)) return -1;
    vat = c->event.start_mark;
    if (yaml_node(L, c)) return -1; /* stack: ..., key, value */
    if (is_merge) {
      int vi = lua_gettop(L);
      if (!lua_istable(L, vi)) return yaml_error_at(c, vat, "'<<' needs a mapping or a list of mappings");
      if (lua_isnil(L, vi - 2)) { lua_newtable(L); lua_replace(L, vi - 2); }
      if (yaml_is_seq(L, c, vi)) { /* <<: [*a, *b], or an alias of such a list */
        lua_Integer j, n = (lua_Integer)lua_rawlen(L, vi);
        for (j = 1; j <= n; j++) {
          if (lua_rawgeti(L, vi, j) != LUA_TTABLE || yaml_is_seq(L, c, -1))
            return yaml_error_at(c, vat, "'<<' list items must be mappings");
          lua_rawseti(L, vi - 2, ++merges);
        }
      } else {
        lua_pushvalue(L, vi);
        lua_rawseti(L, vi - 2, ++merges);
      }
      lua_pop(L, 2);
      continue;
    }
    if (c->marks) { /* where the key and its value stand */
      lua_pushvalue(L, -2);
      lua_pushinteger(L, yaml_pos(kat) << 31 | yaml_pos(vat));
      lua_rawset(L, t + 1);
    }
    lua_rawset(L, t);
  }
  /* explicit keys win over merged ones; earlier merge sources over later */
  for (i = 1; i <= merges; i++) {
    lua_rawgeti(L, -1, i);
    yaml_merge_into(L, t, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_settop(L, t);
  yaml_anchor_end(L, c, t - 1);
  return 0;
}

/* Push the node that starts with the current event. */
static int yaml_node(lua_State *L, yaml_ctx *c) {
  int rc = 0;
  luaL_checkstack(L, 12, "YAML nesting");
  switch (c->event.type) {
    case YAML_SCALAR_EVENT:
      if (yaml_push_scalar(L, c)) return -1;
      yaml_anchor(L, c, c->event.data.scalar.anchor);
      return 0;
    case YAML_ALIAS_EVENT:
      switch (lua_getfield(L, c->anchors, (const char *)c->event.data.alias.anchor)) {
        case LUA_TNIL: {
          char msg[200];
          snprintf(msg, sizeof msg, "unknown alias *%.80s", (const char *)c->event.data.alias.anchor);
          return yaml_error_at(c, c->event.start_mark, msg);
        }
        case LUA_TBOOLEAN: { /* false: the anchored node is still being read */
          char msg[200];
          snprintf(msg, sizeof msg, "alias *%.80s inside the node it names (recursive aliases are not supported)",
                   (const char *)c->event.data.alias.anchor);
          return yaml_error_at(c, c->event.start_mark, msg);
        }
        default:
          return 0;
      }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (++c->depth > YAML_MAX_DEPTH) return yaml_error_at(c, c->event.start_mark, "nested too deeply");
      rc = c->event.type == YAML_SEQUENCE_START_EVENT ? yaml_sequence(L, c) : yaml_mapping(L, c);
      c->depth--;
      return rc;
    default:
      return yaml_error_at(c, c->event.start_mark, "unexpected YAML event");
  }
}

/* yaml.load(text [, name [, {marks=true}]]) -> value, marks | nil, err */
static int yaml_load(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, "(yaml)");
  int want_marks = 0, single = 0;
  yaml_ctx *c;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "marks");
    want_marks = lua_toboolean(L, -1);
    lua_getfield(L, 3, "single");
    single = lua_toboolean(L, -1);
    lua_pop(L, 2);
  }
  lua_settop(L, 2);
  c = (yaml_ctx *)lua_newuserdatauv(L, sizeof *c, 0); /* 3: owns the parser */
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, YAML_MT);
  c->name = name;
  if (!yaml_parser_initialize(&c->parser)) return luaL_error(L, "not enough memory");
  c->parser_ok = 1;
  yaml_parser_set_input_string(&c->parser, (const unsigned char *)text, len);
  lua_newtable(L); /* 4: anchors */
  c->anchors = 4;
  if (want_marks) { lua_newtable(L); c->marks = 5; } /* 5: marks */
  else { lua_pushnil(L); c->marks = 0; }
  lua_newtable(L); /* 6: marks.self (positions of the tables themselves) */
  if (want_marks) { lua_pushvalue(L, 6); lua_setfield(L, 5, "self"); }
  lua_newtable(L); /* 7: tables that came from sequences */
  c->seqs = 7;
  /* stream start, document start (or end of an empty stream) */
  if (yaml_next(c)) goto fail;
  if (yaml_next(c)) goto fail;
  if (c->event.type == YAML_STREAM_END_EVENT) {
    yaml_push_null(L); /* an empty file is null */
  } else {
    if (yaml_next(c)) goto fail;
    if (yaml_node(L, c)) goto fail;
    /* document end, then stream end or a second document */
    if (single && (yaml_next(c) || yaml_next(c))) goto fail;
    if (single && c->event.type == YAML_DOCUMENT_START_EVENT) {
      yaml_error_at(c, c->event.start_mark,
                    "a second YAML document starts here; this file must hold one document "
                    "(remove the '---' line or split the file)");
      goto fail;
    }
  }
  yaml_ctx_release(c);
  lua_pushvalue(L, 5);
  return 2;
fail:
  return mcpt_fail(L, "usage", "%s", c->err);
}

static const luaL_Reg yaml_funcs[] = {
  {"load", yaml_load},
  {NULL, NULL}
};

int luaopen_mcptest_core_yaml(lua_State *L) {
  luaL_newmetatable(L, YAML_MT);
  lua_pushcfunction(L, yaml_ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, yaml_funcs);
  return 1;
}
