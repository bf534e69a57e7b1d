/* harness/programs.c: the programs found in the bin directory, and the
 * one that runs a cell (programs.h). */
#include "programs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void gb_bin_dir(char *out, size_t n)
{
    const char *env = getenv("GREENBENCH_BIN_DIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (gb_self_dir(out, n) != 0)
        snprintf(out, n, ".");
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int cmp_pair(const void *a, const void *b)
{
    const char *x = a, *y = b; /* sw then loop, both GB_NAME wide */
    int c = strcmp(x, y);
    return c ? c : strcmp(x + GB_NAME, y + GB_NAME);
}

void gb_programs_scan(const char *bin_dir, struct gb_programs *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->bin_dir, sizeof p->bin_dir, "%s", bin_dir);
    DIR *d = opendir(bin_dir);
    if (d == NULL)
        return;
    static const char prefix[] = "greenbench-cell-";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", bin_dir, e->d_name);
        if (strcmp(e->d_name, "greenbench-server") == 0) {
            p->server = gb_is_executable(path);
            continue;
        }
        if (strcmp(e->d_name, "greenbench-dns") == 0) {
            p->dns = gb_is_executable(path);
            continue;
        }
        bool peer = false;
        for (size_t i = 0; i < gb_npeers; i++) {
            if (strcmp(e->d_name, gb_peers[i].program) == 0 && gb_is_executable(path)) {
                p->peer_found[i] = true;
                peer = true;
            }
        }
        if (peer || strncmp(e->d_name, prefix, sizeof prefix - 1) != 0 || !gb_is_executable(path))
            continue;
        const char *rest = e->d_name + sizeof prefix - 1;
        if (strcmp(rest, "threads") == 0) {
            p->threads = true;
            continue;
        }
        if (strcmp(rest, "epoll") == 0) {
            p->epoll = true;
            continue;
        }
        /* greenbench-cell-<switch>-<loop>; loop names have no dash, switch
         * names may (asm-nofpu). */
        const char *dash = strrchr(rest, '-');
        if (dash == NULL || dash == rest || dash[1] == '\0')
            continue;
        if ((size_t)(dash - rest) >= GB_NAME || strlen(dash + 1) >= GB_NAME ||
            p->npairs >= GB_MAX_LIST)
            continue;
        snprintf(p->pairs[p->npairs].sw, GB_NAME, "%.*s", (int)(dash - rest), rest);
        snprintf(p->pairs[p->npairs].loop, GB_NAME, "%s", dash + 1);
        p->npairs++;
    }
    closedir(d);
    /* An external peer's program is a path of its own, outside bin_dir. */
    for (size_t i = 0; i < gb_npeers; i++)
        if (gb_peers[i].program[0] == '/')
            p->peer_found[i] = gb_is_executable(gb_peers[i].program);
    qsort(p->pairs, p->npairs, sizeof p->pairs[0], cmp_pair);
    for (size_t i = 0; i < p->npairs; i++) {
        gb_name_add(p->switches, &p->nswitches, p->pairs[i].sw);
        gb_name_add(p->loops, &p->nloops, p->pairs[i].loop);
    }
    qsort(p->switches, p->nswitches, GB_NAME, cmp_name);
    qsort(p->loops, p->nloops, GB_NAME, cmp_name);
}

/* ---- which program runs a cell ---- */

char *gb_cell_program(const struct gb_programs *p, const struct gb_cell *c, char *why,
                      size_t whylen)
{
    if (strcmp(c->impl, "threads") == 0 || strcmp(c->impl, "epoll") == 0) {
        if (!(strcmp(c->impl, "threads") == 0 ? p->threads : p->epoll)) {
            snprintf(why, whylen, "greenbench-cell-%s is not in %s", c->impl, p->bin_dir);
            return NULL;
        }
        return gb_xasprintf("%s/greenbench-cell-%s", p->bin_dir, c->impl);
    }
    if (strcmp(c->impl, "green") == 0) {
        const char *sw = c->sw;
        if (!sw[0]) { /* default: asm when built, else the first */
            sw = p->nswitches ? p->switches[0] : "";
            for (size_t i = 0; i < p->nswitches; i++)
                if (strcmp(p->switches[i], "asm") == 0)
                    sw = "asm";
        }
        const char *loop = NULL;
        for (size_t i = 0; i < p->npairs; i++) {
            if (strcmp(p->pairs[i].sw, sw) != 0)
                continue;
            if (c->loop[0] ? strcmp(p->pairs[i].loop, c->loop) == 0
                           : (loop == NULL || strcmp(p->pairs[i].loop, "libev") == 0))
                loop = p->pairs[i].loop;
        }
        if (loop == NULL) {
            char built[256] = "";
            for (size_t i = 0; i < p->npairs; i++) {
                size_t len = strlen(built);
                snprintf(built + len, sizeof built - len, "%s%s/%s", len ? ", " : "",
                         p->pairs[i].sw, p->pairs[i].loop);
            }
            snprintf(why, whylen, "no green cell program for switch '%s'%s%s in %s (built: %s)", sw,
                     c->loop[0] ? " and loop " : "", c->loop, p->bin_dir, built[0] ? built : "none");
            return NULL;
        }
        return gb_xasprintf("%s/greenbench-cell-%s-%s", p->bin_dir, sw, loop);
    }
    for (size_t i = 0; i < gb_npeers; i++) {
        if (strcmp(c->impl, gb_peers[i].name) != 0)
            continue;
        if (!p->peer_found[i]) {
            snprintf(why, whylen, "peer '%s': %s", c->impl, gb_peers[i].note);
            return NULL;
        }
        if (gb_peers[i].program[0] == '/')
            return gb_xstrdup(gb_peers[i].program);
        return gb_xasprintf("%s/%s", p->bin_dir, gb_peers[i].program);
    }
    snprintf(why, whylen, "unknown implementation '%s'", c->impl);
    return NULL;
}
