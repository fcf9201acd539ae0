/*
 * fs.c: mcptest.core.fs, the file primitives the token cache needs and Lua's
 * io library lacks: modes, owners, atomic replacement, and advisory locks.
 *   fs.stat(path)                 -> {type=, mode=, uid=, size=, mtime=} | nil, err
 *   fs.mkdir(path, mode)          -> true | nil, err (an existing directory is fine)
 *   fs.chmod(path, mode)          -> true | nil, err
 *   fs.uid()                      -> the process's effective uid
 *   fs.list(dir)                  -> {names...} (sorted; no . or ..) | nil, err
 *   fs.write_atomic(path, data, mode) -> true | nil, err
 *        a temporary file beside path (mode from the start), written,
 *        fsynced, renamed over path, then the directory fsynced: a reader
 *        sees the old file or the new one, never half of one.
 *   fs.try_lock(path)             -> lock | false (held elsewhere) | nil, err
 *        flock(LOCK_EX) on path (created 0600 if missing), never blocking:
 *        the caller waits in the event loop. lock:unlock(); __gc and
 *        __close unlock too. A process that dies releases its locks.
 * Errors are mcptest.Error tables (kind "io") naming the path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcptest.h"

#define LOCK_MT "mcptest.core.fs.lock"

typedef struct {
  int fd; /* -1 once unlocked */
} fs_lock;

static int fs_errno(lua_State *L, const char *what, const char *path) {
  return mcpt_fail(L, "io", "%s %s: %s", what, path, strerror(errno));
}

static int fs_stat(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (lstat(path, &st) != 0) return fs_errno(L, "cannot stat", path);
  lua_createtable(L, 0, 5);
  lua_pushstring(L, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file"
                     : S_ISLNK(st.st_mode) ? "link" : "other");
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, st.st_mode & 07777);
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st.st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st.st_size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)st.st_mtime);
  lua_setfield(L, -2, "mtime");
  return 1;
}

static int fs_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  mode_t mode = (mode_t)luaL_checkinteger(L, 2);
  if (mkdir(path, mode) != 0) {
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      lua_pushboolean(L, 1);
      return 1;
    }
    return fs_errno(L, "cannot create directory", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int fs_chmod(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  mode_t mode = (mode_t)luaL_checkinteger(L, 2);
  if (chmod(path, mode) != 0) return fs_errno(L, "cannot chmod", path);
  lua_pushboolean(L, 1);
  return 1;
}

static int fs_uid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)geteuid());
  return 1;
}

/* scandir's entries are struct dirent pointers: compare their names */
static int name_cmp(const void *a, const void *b) {
  return strcmp((*(struct dirent *const *)a)->d_name, (*(struct dirent *const *)b)->d_name);
}

static int fs_list(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct dirent **names;
  int n = scandir(path, &names, NULL, NULL), i, k = 0;
  if (n < 0) return fs_errno(L, "cannot list", path);
  qsort(names, (size_t)n, sizeof *names, name_cmp);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    const char *nm = names[i]->d_name;
    if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0) {
      lua_pushstring(L, nm);
      lua_rawseti(L, -2, ++k);
    }
    free(names[i]);
  }
  free(names);
  return 1;
}

/* fsync the directory that holds path, so a rename in it is durable. */
static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir;
  int fd;
  if (!slash) dir = strdup(".");
  else if (slash == path) dir = strdup("/");
  else dir = strndup(path, (size_t)(slash - path));
  if (!dir) return;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(dir);
}

static int fs_write_atomic(lua_State *L) {
  size_t n, done = 0;
  const char *path = luaL_checkstring(L, 1);
  const char *data = luaL_checklstring(L, 2, &n);
  mode_t mode = (mode_t)luaL_optinteger(L, 3, 0600);
  int fd, saved;
  const char *tmp = lua_pushfstring(L, "%s.tmp.%d", path, (int)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fs_errno(L, "cannot create", tmp);
  fchmod(fd, mode); /* the umask may have taken bits away; never added any */
  while (done < n) {
    ssize_t w = write(fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      goto fail;
    }
    done += (size_t)w;
  }
  if (fsync(fd) != 0) goto fail;
  if (close(fd) != 0) {
    fd = -1;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) goto fail;
  sync_dir(path);
  lua_pushboolean(L, 1);
  return 1;
fail:
  saved = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  errno = saved;
  return fs_errno(L, "cannot write", path);
}

static int fs_try_lock(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  fs_lock *lk = (fs_lock *)lua_newuserdatauv(L, sizeof *lk, 0);
  lk->fd = -1; /* unlocked until the lock is held */
  luaL_setmetatable(L, LOCK_MT);
  lk->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lk->fd < 0) return fs_errno(L, "cannot open lock file", path);
  if (flock(lk->fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(lk->fd);
    lk->fd = -1;
    if (e == EWOULDBLOCK) {
      lua_pushboolean(L, 0);
      return 1;
    }
    errno = e;
    return fs_errno(L, "cannot lock", path);
  }
  return 1;
}

/* unlock, __gc and __close: safe to run twice. */
static int lock_unlock(lua_State *L) {
  fs_lock *lk = (fs_lock *)luaL_checkudata(L, 1, LOCK_MT);
  if (lk->fd >= 0) {
    flock(lk->fd, LOCK_UN);
    close(lk->fd);
    lk->fd = -1;
  }
  return 0;
}

static int lock_held(lua_State *L) {
  fs_lock *lk = (fs_lock *)luaL_checkudata(L, 1, LOCK_MT);
  lua_pushboolean(L, lk->fd >= 0);
  return 1;
}

static const luaL_Reg lock_meta[] = {
  {"__gc", lock_unlock},
  {"__close", lock_unlock},
  {"__index", NULL}, /* the methods table, below */
  {NULL, NULL}
};

static const luaL_Reg lock_methods[] = {
  {"unlock", lock_unlock},
  {"held", lock_held},
  {NULL, NULL}
};

static const luaL_Reg fs_funcs[] = {
  {"stat", fs_stat},
  {"mkdir", fs_mkdir},
  {"chmod", fs_chmod},
  {"uid", fs_uid},
  {"list", fs_list},
  {"write_atomic", fs_write_atomic},
  {"try_lock", fs_try_lock},
  {NULL, NULL}
};

int luaopen_mcptest_core_fs(lua_State *L) {
  luaL_newmetatable(L, LOCK_MT);
  luaL_setfuncs(L, lock_meta, 0);
  luaL_newlib(L, lock_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, fs_funcs);
  return 1;
}
