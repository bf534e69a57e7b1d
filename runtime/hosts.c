/* runtime/hosts.c: which names the hosts file may answer, read once and
 * again when the file changes, so that c-ares is asked to read it only for
 * those names (ares.c). c-ares 1.18 opens and parses /etc/hosts for every
 * lookup it starts with its file step: five system calls of the eleven a
 * lookup made here, for a file that rarely names anything but localhost.
 * gevent's resolvers keep a parsed copy too, reloaded when it changes. */
#include "internal.h"

#include <ctype.h>
#include <netdb.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How often the file's identity is looked at again, in seconds: a name
 * added to it is seen at most this late. */
#define HOSTS_RECHECK_AFTER 1.0

struct green__hosts {
    const char *path;
    char *names;                /* Every name and alias, folded, NUL after each. */
    struct hsearch_data table;  /* Keys point into names. */
    int has_table;
    struct stat seen;           /* The file as last read (st_ino 0: absent). */
    double checked;             /* green_now() of the last look at it. */
};

/* A name as the set keeps it: lower case, no final dot, into key (at least
 * NI_MAXHOST bytes). 0, or -1 when it is too long to be a host name. */
static int fold(const char *name, char *key)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len >= NI_MAXHOST)
        return -1;
    for (size_t i = 0; i < len; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    key[len] = '\0';
    return 0;
}

static void drop_table(green__hosts *h)
{
    if (h->has_table)
        hdestroy_r(&h->table);
    h->has_table = 0;
    free(h->names);
    h->names = NULL;
}

/* Which families a name has lines for (an entry's data). */
enum { HAS_V4 = 1, HAS_V6 = 2 };

/* The names of the file's lines ("ADDRESS NAME [ALIAS...] [# comment]"),
 * folded, one after another, each after a byte of its line's family
 * (HAS_*) and ended by a NUL; *count of them. NULL when it cannot be read. */
static char *read_names(FILE *f, size_t *count)
{
    char *out = NULL, *line = NULL;
    size_t out_len = 0, line_cap = 0;
    FILE *acc = open_memstream(&out, &out_len);
    if (acc == NULL)
        return NULL;
    *count = 0;
    while (getline(&line, &line_cap, f) > 0) {
        line[strcspn(line, "#\n")] = '\0';
        char *save = NULL, key[NI_MAXHOST];
        const char *address = strtok_r(line, " \t\r", &save);
        if (address == NULL)
            continue;
        char family = strchr(address, ':') != NULL ? HAS_V6 : HAS_V4;
        for (char *name; (name = strtok_r(NULL, " \t\r", &save)) != NULL;)
            if (fold(name, key) == 0) {
                fputc(family, acc);
                fwrite(key, 1, strlen(key) + 1, acc);
                (*count)++;
            }
    }
    free(line);
    if (ferror(f) | fclose(acc)) {
        free(out);
        return NULL;
    }
    return out;
}

/* Read the file into h's set; an absent or unreadable file is an empty
 * set, as it is to c-ares. Returns 0, or GREEN_ENOMEM with no set left. */
static int load(green__hosts *h, const struct stat *now_is)
{
    drop_table(h);
    h->seen = *now_is;
    FILE *f = fopen(h->path, "re");
    if (f == NULL)
        return 0;
    size_t count = 0;
    h->names = read_names(f, &count);
    fclose(f);
    memset(&h->table, 0, sizeof h->table);
    if (h->names == NULL || hcreate_r(count * 2 + 8, &h->table) == 0)
        goto out_of_memory;
    h->has_table = 1;
    char *at = h->names;
    for (size_t i = 0; i < count; i++) {
        uintptr_t family = (unsigned char)*at++;
        ENTRY e = { .key = at, .data = NULL }, *found;
        if (hsearch_r(e, ENTER, &found, &h->table) == 0)
            goto out_of_memory;
        found->data = (void *)((uintptr_t)found->data | family); /* A name may have several lines. */
        at += strlen(at) + 1;
    }
    return 0;
out_of_memory:
    drop_table(h);
    return GREEN_ENOMEM;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

green__hosts *green__hosts_new(const char *path)
{
    green__hosts *h = calloc(1, sizeof *h);
    if (h != NULL) {
        h->path = path;
        h->checked = -HOSTS_RECHECK_AFTER;
    }
    return h;
}

void green__hosts_free(green__hosts *h)
{
    if (h == NULL)
        return;
    drop_table(h);
    free(h);
}

int green__hosts_may_name(green__hosts *h, const char *name, int family, double now)
{
    if (now - h->checked >= HOSTS_RECHECK_AFTER) {
        h->checked = now;
        struct stat st = { 0 };
        if (stat(h->path, &st) != 0)
            memset(&st, 0, sizeof st);
        if (!same_file(&st, &h->seen) && load(h, &st) != 0)
            h->seen.st_ino = (ino_t)-1; /* Read it again at the next look. */
    }
    if (!h->has_table) /* No file, or (marked) no memory to read it: then maybe. */
        return h->seen.st_ino == (ino_t)-1;
    char key[NI_MAXHOST];
    if (fold(name, key) != 0)
        return 1;
    ENTRY e = { .key = key, .data = NULL }, *found = NULL;
    if (hsearch_r(e, FIND, &found, &h->table) == 0)
        return 0;
    uintptr_t has = (uintptr_t)found->data;
    return family == AF_INET ? (has & HAS_V4) != 0 : family == AF_INET6 ? (has & HAS_V6) != 0 : 1;
}
