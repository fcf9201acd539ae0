/*
 * alloc.c: the Lua state's allocator.
 *
 * Every request allocates and frees a dozen small blocks (the decoded
 * answer's tables, the arguments table); through malloc/free that was
 * about a tenth of mcptest's CPU per stdio request, more once a second
 * thread exists (glibc's malloc then takes locks). Lua passes the old
 * size of every block it frees or resizes, so blocks up to POOL_MAX bytes
 * come from per-size free lists carved out of POOL_CHUNK slabs, with no
 * header and no lock (one Lua state, one thread). Larger blocks go to
 * malloc. Freed small blocks stay in their list for reuse; the slabs are
 * freed with the state. Sanitizer builds use plain malloc, so ASan still
 * sees every Lua block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcptest.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_DISABLED 1
#endif
#endif

#define POOL_STEP 16
#define POOL_MAX 256
#define POOL_CLASSES (POOL_MAX / POOL_STEP)
#define POOL_CHUNK (64 * 1024)

typedef struct pool_chunk {
  struct pool_chunk *next;
} pool_chunk;

typedef struct pool_t {
  void *free_list[POOL_CLASSES]; /* a freed block holds the next one */
  char *carve;                   /* unused rest of the newest slab */
  size_t carve_left;
  pool_chunk *chunks;            /* every slab, freed with the state */
  int warn_on;                   /* the warn() switch of luaL_newstate's warnf */
} pool_t;

static size_t pool_class(size_t n) { return (n - 1) / POOL_STEP; }

static void *pool_get(pool_t *p, size_t c) {
  size_t size = (c + 1) * POOL_STEP;
  void *b = p->free_list[c];
  if (b) {
    p->free_list[c] = *(void **)b;
    return b;
  }
  if (p->carve_left < size) {
    /* the slab header keeps the blocks 16-byte aligned */
    pool_chunk *ch = (pool_chunk *)malloc(POOL_CHUNK);
    if (!ch) return NULL;
    ch->next = p->chunks;
    p->chunks = ch;
    p->carve = (char *)ch + POOL_STEP;
    p->carve_left = POOL_CHUNK - POOL_STEP;
  }
  b = p->carve;
  p->carve += size;
  p->carve_left -= size;
  return b;
}

static void pool_put(pool_t *p, void *b, size_t osize) {
  size_t c = pool_class(osize);
  *(void **)b = p->free_list[c];
  p->free_list[c] = b;
}

/* lua_Alloc. When ptr is NULL, osize is the object's type, not a size. */
static void *pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  pool_t *p = (pool_t *)ud;
  void *n;
  if (ptr == NULL) {
    if (nsize == 0) return NULL;
    return nsize <= POOL_MAX ? pool_get(p, pool_class(nsize)) : malloc(nsize);
  }
  if (nsize == 0) {
    if (osize <= POOL_MAX) pool_put(p, ptr, osize);
    else free(ptr);
    return NULL;
  }
  if (osize > POOL_MAX && nsize > POOL_MAX) return realloc(ptr, nsize);
  if (osize <= POOL_MAX && nsize <= POOL_MAX && pool_class(osize) == pool_class(nsize)) return ptr;
  n = nsize <= POOL_MAX ? pool_get(p, pool_class(nsize)) : malloc(nsize);
  if (n == NULL) {
    /* Lua counts on a shrink never failing: keep the block; it is big
     * enough, and freeing it later under the smaller size is safe */
    return nsize <= osize ? ptr : NULL;
  }
  memcpy(n, ptr, osize < nsize ? osize : nsize);
  if (osize <= POOL_MAX) pool_put(p, ptr, osize);
  else free(ptr);
  return n;
}

static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud; (void)osize;
  if (nsize == 0) { free(ptr); return NULL; }
  return realloc(ptr, nsize);
}

/* What luaL_newstate installs: a panic message and warn() off until
 * "@on" (lauxlib keeps its own versions static). */
static int state_panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "mcptest: PANIC: unprotected error in call to Lua API (%s)\n",
          msg ? msg : "error object is not a string");
  return 0;
}

static void state_warn(void *ud, const char *msg, int tocont) {
  static int continuing;
  pool_t *p = (pool_t *)ud;
  if (!continuing && !tocont && msg[0] == '@') { /* control message */
    if (strcmp(msg, "@off") == 0) p->warn_on = 0;
    else if (strcmp(msg, "@on") == 0) p->warn_on = 1;
    return;
  }
  if (p->warn_on) {
    if (!continuing) fputs("Lua warning: ", stderr);
    fputs(msg, stderr);
    if (!tocont) fputs("\n", stderr);
  }
  continuing = tocont;
}

lua_State *mcpt_newstate(void) {
  pool_t *p = (pool_t *)calloc(1, sizeof *p);
  lua_State *L;
  if (!p) return NULL;
#ifdef POOL_DISABLED
  L = lua_newstate(plain_alloc, p);
  (void)pool_alloc;
#else
  L = lua_newstate(pool_alloc, p);
  (void)plain_alloc;
#endif
  if (!L) { free(p); return NULL; }
  lua_atpanic(L, state_panic);
  lua_setwarnf(L, state_warn, p);
  return L;
}

void mcpt_close(lua_State *L) {
  void *ud;
  pool_t *p;
  lua_getallocf(L, &ud);
  p = (pool_t *)ud;
  lua_close(L);
  while (p->chunks) {
    pool_chunk *next = p->chunks->next;
    free(p->chunks);
    p->chunks = next;
  }
  free(p);
}
