/* harness/util.c: growable buffers, allocation, files, time (util.h). */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation ---- */

static void oom(size_t n)
{
    fprintf(stderr, "greenbench: out of memory (%zu bytes)\n", n);
    abort();
}

void *gb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *gb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        oom(n * size);
    return p;
}

void *gb_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *gb_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = gb_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *gb_xasprintf(const char *fmt, ...)
{
    struct gb_buf b;
    gb_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    gb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (b.data == NULL)
        return gb_xstrdup("");
    return b.data;
}

/* ---- buffers ---- */

void gb_buf_init(struct gb_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void gb_buf_free(struct gb_buf *b)
{
    free(b->data);
    gb_buf_init(b);
}

static void reserve(struct gb_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = gb_xrealloc(b->data, cap);
    b->cap = cap;
}

void gb_buf_add(struct gb_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void gb_buf_puts(struct gb_buf *b, const char *s)
{
    gb_buf_add(b, s, strlen(s));
}

void gb_buf_shell_word(struct gb_buf *b, const char *s)
{
    if (*s != '\0' &&
        s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%")] == '\0') {
        gb_buf_puts(b, s);
        return;
    }
    gb_buf_puts(b, "'");
    for (; *s; s++)
        gb_buf_puts(b, *s == '\'' ? "'\\''" : (char[]){ *s, 0 });
    gb_buf_puts(b, "'");
}

void gb_buf_vprintf(struct gb_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void gb_buf_printf(struct gb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gb_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *gb_buf_str(const struct gb_buf *b)
{
    return b->data ? b->data : "";
}

/* ---- files ---- */

int gb_read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct gb_buf b;
    gb_buf_init(&b);
    char chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            close(fd);
            gb_buf_free(&b);
            return e;
        }
        if (r == 0)
            break;
        gb_buf_add(&b, chunk, (size_t)r);
    }
    close(fd);
    if (b.data == NULL)
        gb_buf_add(&b, "", 0);
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}

int gb_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int gb_write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = gb_write_all(fd, data, len);
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* Write to path.tmp, fsync, rename: readers see the old or the new file. */
int gb_write_file_atomic(const char *path, const char *data, size_t len)
{
    char *tmp = gb_xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
        goto fail_open;
    }
    rc = gb_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
fail_open:
    free(tmp);
    return rc;
}

int gb_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return gb_is_dir(buf) ? 0 : -ENOTDIR;
}

bool gb_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool gb_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool gb_is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int gb_dir_state(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return 3;
    DIR *d = opendir(path);
    if (d == NULL)
        return 2; /* unreadable: treat as not usable */
    int state = 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            state = 2;
            break;
        }
    }
    closedir(d);
    return state;
}

/* ---- time ---- */

int64_t gb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void gb_utc_iso(char *out, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void gb_format_duration(char *out, size_t n, double seconds)
{
    if (seconds < 0 || seconds != seconds)
        seconds = 0;
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, n, "%ld:%02ld", s / 60, s % 60);
}

/* ---- text ---- */

char *gb_last_line(char *text, const char *trim)
{
    size_t n = strlen(text);
    while (n > 0 && strchr(trim, text[n - 1]))
        text[--n] = '\0';
    char *nl = strrchr(text, '\n');
    return nl ? nl + 1 : text;
}

long gb_allowed_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

int gb_self_dir(char *out, size_t n)
{
    char path[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
    if (len < 0)
        return -errno;
    path[len] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        return -EINVAL;
    *slash = '\0';
    snprintf(out, n, "%s", path[0] ? path : "/");
    return 0;
}

bool gb_file_line(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    bool ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    if (ok)
        out[strcspn(out, "\r\n")] = '\0';
    return ok && *out;
}
