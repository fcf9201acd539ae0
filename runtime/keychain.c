/*
 * keychain.c: mcptest.core.keychain, the Secret Service (the desktop
 * keychain: gnome-keyring, KeePassXC...) through libsecret. Mechanism
 * only: which secrets go there, the fallback and the messages are in
 * lua/mcptest/auth/cache.lua.
 *
 *   keychain.store(attrs, label, secret) -> true | nil, err
 *   keychain.lookup(attrs) -> secret | false (no such item) | nil, err
 *   keychain.clear(attrs) -> true (removed) | false (none) | nil, err
 * attrs: a table of string -> string. Items carry the schema name
 * dev.mcptest.Secret, but lookups do not match on it, so `secret-tool
 * lookup application mcptest ...` finds them.
 */
#include <libsecret/secret.h>
#include <string.h>

#include "mcptest.h"

static const SecretSchema keychain_schema = {
  "dev.mcptest.Secret", SECRET_SCHEMA_DONT_MATCH_NAME,
  {{"application", SECRET_SCHEMA_ATTRIBUTE_STRING},
   {"kind", SECRET_SCHEMA_ATTRIBUTE_STRING},
   {"key", SECRET_SCHEMA_ATTRIBUTE_STRING},
   {"url", SECRET_SCHEMA_ATTRIBUTE_STRING},
   {NULL, 0}},
  0, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

/* The attributes at index idx as a GHashTable (strings copied, so a Lua
 * error cannot leave them dangling). Only the schema's names are allowed:
 * libsecret refuses others with a g_warning, not an error. */
static GHashTable *keychain_attrs(lua_State *L, int idx) {
  GHashTable *h;
  luaL_checktype(L, idx, LUA_TTABLE);
  h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int known = 0, i;
    for (i = 0; k && keychain_schema.attributes[i].name; i++)
      if (strcmp(keychain_schema.attributes[i].name, k) == 0) known = 1;
    if (!known || !v) {
      g_hash_table_destroy(h);
      lua_pop(L, 2);
      luaL_error(L, "keychain: attributes are application, kind, key, url with string values");
    }
    g_hash_table_insert(h, g_strdup(k), g_strdup(v));
    lua_pop(L, 1);
  }
  return h;
}

static int keychain_fail(lua_State *L, GError *err) {
  lua_pushnil(L);
  lua_pushstring(L, err && err->message ? err->message : "the Secret Service failed");
  if (err) g_error_free(err);
  return 2;
}

static int keychain_store(lua_State *L) {
  GHashTable *h = keychain_attrs(L, 1);
  const char *label = luaL_checkstring(L, 2);
  const char *secret = luaL_checkstring(L, 3);
  GError *err = NULL;
  gboolean ok = secret_password_storev_sync(&keychain_schema, h, SECRET_COLLECTION_DEFAULT, label, secret,
                                            NULL, &err);
  g_hash_table_destroy(h);
  if (!ok) return keychain_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int keychain_lookup(lua_State *L) {
  GHashTable *h = keychain_attrs(L, 1);
  GError *err = NULL;
  gchar *secret = secret_password_lookupv_sync(&keychain_schema, h, NULL, &err);
  g_hash_table_destroy(h);
  if (err) return keychain_fail(L, err);
  if (!secret) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushstring(L, secret);
  secret_password_free(secret); /* wipes the copy before freeing it */
  return 1;
}

static int keychain_clear(lua_State *L) {
  GHashTable *h = keychain_attrs(L, 1);
  GError *err = NULL;
  gboolean removed = secret_password_clearv_sync(&keychain_schema, h, NULL, &err);
  g_hash_table_destroy(h);
  if (err) return keychain_fail(L, err);
  lua_pushboolean(L, removed);
  return 1;
}

int luaopen_mcptest_core_keychain(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"store", keychain_store}, {"lookup", keychain_lookup}, {"clear", keychain_clear}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
