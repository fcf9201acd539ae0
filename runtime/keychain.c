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
 *
 * libsecret is opened with dlopen on first use, not linked: it brings
 * GLib, GIO and GObject (ten libraries, about 2.5 MB of RSS and their
 * constructors) into every run, and only a run that uses the keychain
 * needs them. Without libsecret installed, each call fails with a
 * message the fallback in cache.lua reports.
 */
#include <dlfcn.h>
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

/* The functions used, found in libsecret and the GLib it loads. */
static struct {
  int tried;
  const char *error;
  GHashTable *(*hash_table_new_full)(GHashFunc, GEqualFunc, GDestroyNotify, GDestroyNotify);
  guint (*str_hash)(gconstpointer);
  gboolean (*str_equal)(gconstpointer, gconstpointer);
  void (*free)(gpointer);
  void (*hash_table_destroy)(GHashTable *);
  gchar *(*strdup)(const gchar *);
  gboolean (*hash_table_insert)(GHashTable *, gpointer, gpointer);
  void (*error_free)(GError *);
  gboolean (*storev_sync)(const SecretSchema *, GHashTable *, const gchar *, const gchar *, const gchar *,
                          GCancellable *, GError **);
  gchar *(*lookupv_sync)(const SecretSchema *, GHashTable *, GCancellable *, GError **);
  void (*password_free)(gchar *);
  gboolean (*clearv_sync)(const SecretSchema *, GHashTable *, GCancellable *, GError **);
} lib;

/* Open libsecret once; 1, or 0 with nil, message pushed. */
static int keychain_open(lua_State *L) {
  if (!lib.tried) {
    void *h = dlopen("libsecret-1.so.0", RTLD_NOW | RTLD_LOCAL);
    lib.tried = 1;
    if (!h) {
      lib.error = "libsecret-1.so.0 cannot be loaded (install libsecret-1-0)";
    } else {
#define KEYCHAIN_SYM(field, name) \
      if (!lib.error && !(*(void **)&lib.field = dlsym(h, name))) lib.error = "libsecret lacks " name;
      KEYCHAIN_SYM(hash_table_new_full, "g_hash_table_new_full")
      KEYCHAIN_SYM(str_hash, "g_str_hash")
      KEYCHAIN_SYM(str_equal, "g_str_equal")
      KEYCHAIN_SYM(free, "g_free")
      KEYCHAIN_SYM(hash_table_destroy, "g_hash_table_destroy")
      KEYCHAIN_SYM(strdup, "g_strdup")
      KEYCHAIN_SYM(hash_table_insert, "g_hash_table_insert")
      KEYCHAIN_SYM(error_free, "g_error_free")
      KEYCHAIN_SYM(storev_sync, "secret_password_storev_sync")
      KEYCHAIN_SYM(lookupv_sync, "secret_password_lookupv_sync")
      KEYCHAIN_SYM(password_free, "secret_password_free")
      KEYCHAIN_SYM(clearv_sync, "secret_password_clearv_sync")
#undef KEYCHAIN_SYM
    }
  }
  if (lib.error) {
    lua_pushnil(L);
    lua_pushstring(L, lib.error);
    return 0;
  }
  return 1;
}

/* The attributes at index idx as a GHashTable (strings copied, so a Lua
 * error cannot leave them dangling). Only the schema's names are allowed:
 * libsecret refuses others with a g_warning, not an error. */
static GHashTable *keychain_attrs(lua_State *L, int idx) {
  GHashTable *h;
  luaL_checktype(L, idx, LUA_TTABLE);
  h = lib.hash_table_new_full(lib.str_hash, lib.str_equal, lib.free, lib.free);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int known = 0, i;
    for (i = 0; k && keychain_schema.attributes[i].name; i++)
      if (strcmp(keychain_schema.attributes[i].name, k) == 0) known = 1;
    if (!known || !v) {
      lib.hash_table_destroy(h);
      lua_pop(L, 2);
      luaL_error(L, "keychain: attributes are application, kind, key, url with string values");
    }
    lib.hash_table_insert(h, lib.strdup(k), lib.strdup(v));
    lua_pop(L, 1);
  }
  return h;
}

static int keychain_fail(lua_State *L, GError *err) {
  lua_pushnil(L);
  lua_pushstring(L, err && err->message ? err->message : "the Secret Service failed");
  if (err) lib.error_free(err);
  return 2;
}

static int keychain_store(lua_State *L) {
  GHashTable *h;
  if (!keychain_open(L)) return 2;
  h = keychain_attrs(L, 1);
  const char *label = luaL_checkstring(L, 2);
  const char *secret = luaL_checkstring(L, 3);
  GError *err = NULL;
  gboolean ok = lib.storev_sync(&keychain_schema, h, SECRET_COLLECTION_DEFAULT, label, secret,
                                            NULL, &err);
  lib.hash_table_destroy(h);
  if (!ok) return keychain_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int keychain_lookup(lua_State *L) {
  GHashTable *h;
  if (!keychain_open(L)) return 2;
  h = keychain_attrs(L, 1);
  GError *err = NULL;
  gchar *secret = lib.lookupv_sync(&keychain_schema, h, NULL, &err);
  lib.hash_table_destroy(h);
  if (err) return keychain_fail(L, err);
  if (!secret) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushstring(L, secret);
  lib.password_free(secret); /* wipes the copy before freeing it */
  return 1;
}

static int keychain_clear(lua_State *L) {
  GHashTable *h;
  if (!keychain_open(L)) return 2;
  h = keychain_attrs(L, 1);
  GError *err = NULL;
  gboolean removed = lib.clearv_sync(&keychain_schema, h, NULL, &err);
  lib.hash_table_destroy(h);
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
