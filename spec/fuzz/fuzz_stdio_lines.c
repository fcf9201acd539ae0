/* fuzz_stdio_lines.c: the stdio framing (runtime/process.c, mcpt_lines_*:
 * how a server's stdout is cut into messages) fed arbitrary output, in
 * reads cut as the input says, the way process_fill and
 * process_decode_lines drive it (the pipes left out).
 * Input: byte 0 picks max_line (1..192 bytes, or 1 MiB), byte 1 seeds the
 * reads (1..3 reads of 0..32 bytes before each pass over the lines), the
 * rest is the output. Checked against a plain split of the whole output
 * (LF ends a line, one CR before it is dropped, blank lines skipped, an
 * unterminated last line counts at end of file):
 *   - the lines come out exactly, in order, however the reads cut them;
 *   - the framing fails exactly when a line is longer than max_line, and
 *     only after every line before that one;
 *   - the bytes held stay bounded: a line over the cap fails before more
 *     than one more round of reads is buffered. */
#include "fuzz.h"

#define READ_MAX 32
#define READS_MAX 3

typedef struct ref_line { const char *s; size_t n; } ref_line;

/* The plain split, into lines[] (at most n + 1 of them); returns how many. */
static size_t split(const char *s, size_t n, ref_line *lines) {
  size_t count = 0, i = 0;
  while (i < n) {
    const char *nl = memchr(s + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - s) : n, len = end - i;
    if (len > 0 && s[end - 1] == '\r') len--;
    if (len > 0) { lines[count].s = s + i; lines[count].n = len; count++; }
    i = end + 1;
  }
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mcpt_lines f;
  fuzz_rng rng;
  const char *out;
  size_t n, nref, next = 0, pos = 0, max_line;
  ref_line *ref;
  int eof = 0, failed = 0;
  if (size < 2) return 0;
  max_line = data[0] >= 0xC0 ? (size_t)1 << 20 : (size_t)data[0] + 1;
  rng.s = data[1] * 2654435761u + 7u;
  out = (const char *)data + 2;
  n = size - 2;
  ref = malloc((n + 1) * sizeof *ref);
  if (!ref) fuzz_fail("out of memory");
  nref = split(out, n, ref);
  memset(&f, 0, sizeof f);
  f.max_line = max_line;
  while (!eof && !failed) {
    size_t start = 0, len;
    const char *line;
    int reads = 1 + (int)(fuzz_next(&rng) % READS_MAX);
    /* process_fill: the cap checked before each read */
    while (reads-- > 0) {
      size_t k = fuzz_next(&rng) % (READ_MAX + 1);
      if (mcpt_lines_over(&f)) { failed = 1; break; }
      if (pos == n) { eof = 1; break; } /* read() gave 0 */
      if (k > n - pos) k = n - pos;
      if (mcpt_buf_add(&f.buf, out + pos, k)) fuzz_fail("out of memory");
      pos += k;
    }
    if (failed) break;
    /* process_decode_lines: whole lines, each checked against the cap */
    while (mcpt_lines_next(&f, &start, eof, &line, &len)) {
      if (len > max_line) { failed = 1; break; }
      if (next >= nref) fuzz_fail("a line came out that the output does not have");
      if (len != ref[next].n || memcmp(line, ref[next].s, len) != 0)
        fuzz_fail("line %d came out as %d bytes, not the %d of the output", (int)next + 1, (int)len, (int)ref[next].n);
      next++;
    }
    mcpt_lines_consume(&f, start);
    if (!failed && f.buf.len > max_line + 2 + READ_MAX * READS_MAX)
      fuzz_fail("%d bytes of a line are held with max_line %d", (int)f.buf.len, (int)max_line);
  }
  if (failed) {
    if (next >= nref || ref[next].n <= max_line)
      fuzz_fail("the framing failed at line %d, which is not over max_line %d", (int)next + 1, (int)max_line);
  } else {
    if (next != nref) fuzz_fail("%d lines came out, the output has %d", (int)next, (int)nref);
  }
  for (size_t i = 0; i < next; i++)
    if (ref[i].n > max_line) fuzz_fail("line %d is over max_line but came out", (int)i + 1);
  mcpt_buf_free(&f.buf);
  free(ref);
  return 0;
}
