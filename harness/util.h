/* harness/util.h: what every stage of the harness stands on: the version
 * numbers and exit codes, growable buffers, allocation that cannot fail,
 * files, time and its formatting. Prefix gb_ (greenbench harness).
 *
 * Errors are negative errno values; a function that can fail returns 0 (or
 * a count) on success. Strings handed out are the caller's to free. */
#ifndef GREENBENCH_UTIL_H
#define GREENBENCH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GB_VERSION "0.1.0"
/* The layout of meta.json, cells.jsonl and summary.csv
 * (docs/results-format.md, "Schema version"). */
#define GB_SCHEMA_VERSION 2

/* Exit codes of every subcommand. */
enum { GB_EXIT_OK = 0, GB_EXIT_FAILED = 1, GB_EXIT_USAGE = 2 };

/* ---- buffers ---- */

/* A growable byte buffer. Zeroed or gb_buf_init'ed it is empty (data NULL);
 * once anything was added, data is NUL-terminated at len. The buffer owns
 * data: gb_buf_free releases it, or the caller takes it over. */
struct gb_buf {
    char *data;
    size_t len, cap;
};
/* The first line of a small file (a /proc or /sys value), its end of line
 * cut, into out (n bytes); false when it cannot be read or is empty. */
bool gb_file_line(const char *path, char *out, size_t n);

void gb_buf_init(struct gb_buf *b);
void gb_buf_free(struct gb_buf *b);                  /* and empty again */
void gb_buf_add(struct gb_buf *b, const char *s, size_t n); /* n bytes, NULs included */
void gb_buf_puts(struct gb_buf *b, const char *s);
/* s as one word of a POSIX shell: as it is when nothing in it is special,
 * else in single quotes (each ' as '\''). */
void gb_buf_shell_word(struct gb_buf *b, const char *s);
void gb_buf_printf(struct gb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gb_buf_vprintf(struct gb_buf *b, const char *fmt, va_list ap);
const char *gb_buf_str(const struct gb_buf *b);      /* its text; "" when empty */

/* ---- allocation ---- */

/* malloc, calloc, realloc, strdup and asprintf that cannot fail: out of
 * memory, the harness prints the size asked for and aborts. A size of 0
 * still gives a pointer that free accepts. */
void *gb_xmalloc(size_t n);
void *gb_xcalloc(size_t n, size_t size);
void *gb_xrealloc(void *p, size_t n);
char *gb_xstrdup(const char *s);
char *gb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- files ---- */

/* The whole file: *out (NUL-terminated, the caller frees it) and, when len
 * is not NULL, its length. Returns 0 or a negative errno. */
int gb_read_file(const char *path, char **out, size_t *len);
/* Create or truncate path and write data: 0 or a negative errno. */
int gb_write_file(const char *path, const char *data, size_t len);
/* All of data to fd, retrying short writes and EINTR: 0 or a negative errno. */
int gb_write_all(int fd, const char *data, size_t len);
/* Write path.tmp, fsync it, rename it over path: a reader sees the old file
 * or the new one, never half of one. 0 or a negative errno. */
int gb_write_file_atomic(const char *path, const char *data, size_t len);
/* mkdir -p: 0 (also when it exists), or a negative errno (-ENOTDIR when a
 * file is in the way). */
int gb_mkdir_p(const char *path);
bool gb_is_dir(const char *path);
bool gb_is_file(const char *path); /* a regular file (links followed) */
bool gb_is_executable(const char *path); /* a regular file we may execute */
/* 0 absent, 1 an empty directory, 2 a directory with entries (or one we
 * cannot read), 3 something else. */
int gb_dir_state(const char *path);
/* The directory holding the running greenbench binary, into out (n bytes):
 * 0 or a negative errno. */
int gb_self_dir(char *out, size_t n);

/* ---- text ---- */

/* The last line of text that is not empty once the trailing characters in
 * trim are cut off; text is modified in place and the result points into it. */
char *gb_last_line(char *text, const char *trim);

/* ---- time and the machine ---- */

int64_t gb_now_ns(void);              /* CLOCK_MONOTONIC, in nanoseconds */
void gb_utc_iso(char *out, size_t n); /* the time now, as 2024-11-30T01:40:12Z */
void gb_format_duration(char *out, size_t n, double seconds); /* 1:05, 1:02:03 */
/* CPUs this process may run on (its affinity mask), else those online. */
long gb_allowed_cpus(void);

#endif /* GREENBENCH_UTIL_H */
