/*
 * embedded.h: the Lua sources of lua/ and stdlib/, compiled into the binary
 * by cmake/embed.cmake, and the searcher that loads them.
 */
#ifndef MCPTEST_EMBEDDED_H
#define MCPTEST_EMBEDDED_H

typedef struct mcpt_embedded_t {
  const char *module;  /* "mcptest.client" */
  const char *chunk;   /* "@lua/mcptest/client.lua": tracebacks show real paths */
  const char *source;
  unsigned long length;
} mcpt_embedded_t;

extern const mcpt_embedded_t mcpt_embedded[];

#endif
