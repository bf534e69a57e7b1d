/* harness/cell.c: a cell and its spellings: key, labels, JSON, CSV
 * columns, the cell program's argv (cell.h). */
#include "cell.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

long gb_cell_get(const struct gb_cell *c, enum gb_axis_id a)
{
    return *(const long *)((const char *)c + gb_axes[a].cell_off);
}

void gb_cell_set(struct gb_cell *c, enum gb_axis_id a, long v)
{
    *(long *)((char *)c + gb_axes[a].cell_off) = v;
}

long gb_cell_axis(const struct gb_cell *c, unsigned bit)
{
    for (int a = 0; a < GB_NAXES; a++)
        if (bit == 1u << a)
            return gb_cell_get(c, a);
    return -1;
}

bool gb_cell_same(const struct gb_cell *a, const struct gb_cell *b, unsigned axes)
{
    for (int x = 0; x < GB_NAXES; x++)
        if ((axes & 1u << x) && gb_cell_get(a, x) != gb_cell_get(b, x))
            return false;
    return true;
}

bool gb_cell_same_work(const struct gb_cell *a, const struct gb_cell *b)
{
    if (strcmp(a->workload, b->workload) != 0)
        return false;
    const struct gb_workload *wk = gb_workload_find(a->workload);
    unsigned n = wk != NULL && wk->per_iteration ? GB_AX_N : 0u;
    return gb_cell_same(a, b, GB_AX_SAME_WORK & ~n);
}

void gb_cell_init(struct gb_cell *c)
{
    memset(c, 0, sizeof *c);
    for (int a = 0; a < GB_NAXES; a++)
        gb_cell_set(c, a, -1);
}

/* " d=10ms": one value as keys and labels spell it. */
static void axis_value(struct gb_buf *b, const struct gb_axis *ax, long v)
{
    gb_buf_printf(b, " %s%ld%s", ax->key, v, ax->unit);
}

void gb_cell_series(const struct gb_cell *c, char *out, size_t n)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, c->impl);
    if (c->sw[0] && c->loop[0])
        gb_buf_printf(&b, " %s/%s", c->sw, c->loop);
    else if (c->sw[0])
        gb_buf_printf(&b, " %s", c->sw);
    for (int a = 0; a < GB_NAXES; a++) {
        long v = gb_cell_get(c, a);
        if (gb_axes[a].flag && v > 0)
            gb_buf_printf(&b, " %s", gb_axes[a].key);
        else if (gb_axes[a].green && gb_axes[a].series && v > 0)
            gb_buf_printf(&b, " %s%ld", gb_axes[a].key, v);
        else if (gb_axes[a].setup && v >= 0)
            axis_value(&b, &gb_axes[a], v);
    }
    snprintf(out, n, "%s", gb_buf_str(&b));
    gb_buf_free(&b);
}

void gb_cell_params(const struct gb_cell *c, unsigned axes, struct gb_buf *out)
{
    for (int a = 0; a < GB_NAXES; a++) {
        long v = gb_cell_get(c, a);
        /* Green work at 0 is none (no live bytes): keys stay as they were. */
        if (!gb_axes[a].series && (axes & 1u << a) && v >= 0 && !(gb_axes[a].green && v == 0))
            axis_value(out, &gb_axes[a], v);
    }
}

void gb_cell_make_key(struct gb_cell *c)
{
    char series[160];
    gb_cell_series(c, series, sizeof series);
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_printf(&b, "%s %s", c->workload, series);
    gb_cell_params(c, GB_AX_ALL, &b);
    snprintf(c->key, sizeof c->key, "%s", gb_buf_str(&b));
    gb_buf_free(&b);
}

json_t *gb_cell_to_json(const struct gb_cell *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "workload", gb_json_text(c->workload));
    json_object_set_new(o, "impl", gb_json_text(c->impl));
    json_object_set_new(o, GB_KEY_SWITCH, gb_json_text(c->sw[0] ? c->sw : NULL));
    json_object_set_new(o, "loop", gb_json_text(c->loop[0] ? c->loop : NULL));
    for (int a = 0; a < GB_NAXES; a++)
        json_object_set_new(o, gb_axes[a].name,
                            gb_cell_get(c, a) >= 0 ? json_integer(gb_cell_get(c, a)) : json_null());
    return o;
}

int gb_cell_from_json(const json_t *v, struct gb_cell *c)
{
    gb_cell_init(c);
    const char *wl = gb_json_str(v, "workload", NULL), *impl = gb_json_str(v, "impl", NULL);
    if (wl == NULL || impl == NULL)
        return -EINVAL;
    snprintf(c->workload, sizeof c->workload, "%s", wl);
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    snprintf(c->sw, sizeof c->sw, "%s", gb_json_str(v, GB_KEY_SWITCH, ""));
    snprintf(c->loop, sizeof c->loop, "%s", gb_json_str(v, "loop", ""));
    for (int a = 0; a < GB_NAXES; a++)
        gb_cell_set(c, a, (long)gb_json_num(v, gb_axes[a].name, -1));
    gb_cell_make_key(c);
    return 0;
}

static void push_arg(char ***argv, size_t *n, char *arg)
{
    *argv = gb_xrealloc(*argv, (*n + 2) * sizeof **argv);
    (*argv)[(*n)++] = arg;
    (*argv)[*n] = NULL;
}

static void push_axis(char ***argv, size_t *n, const struct gb_cell *c, int a)
{
    long v = gb_cell_get(c, a);
    if (v >= 0 && gb_axes[a].green && gb_axes[a].series) /* The stack mode, as the cells spell it. */
        push_arg(argv, n,
                 v == 0 ? gb_xasprintf("%s=private", gb_axes[a].option)
                        : gb_xasprintf("%s=%s%ld", gb_axes[a].option, gb_axes[a].key, v));
    else if (v >= 0)
        push_arg(argv, n, gb_xasprintf("%s=%ld", gb_axes[a].option, v));
}

char **gb_cell_argv(const struct gb_cell *c, const char *program, const char *url, const char *cacert,
                    long rounds)
{
    char **argv = NULL;
    size_t n = 0;
    push_arg(&argv, &n, gb_xstrdup(program));
    /* An external peer's command may carry words of its own
     * (`python3 cell.py`): they come before the protocol's. */
    const struct gb_peer *peer = gb_peer_find(c->impl);
    for (char *const *a = peer && peer->args ? peer->args : NULL; a && *a; a++)
        push_arg(&argv, &n, gb_xstrdup(*a));
    push_arg(&argv, &n, gb_xstrdup(c->workload));
    push_arg(&argv, &n, gb_xasprintf("--impl=%s", c->impl));
    if (c->sw[0])
        push_arg(&argv, &n, gb_xasprintf("--switch=%s", c->sw));
    if (c->loop[0])
        push_arg(&argv, &n, gb_xasprintf("--loop=%s", c->loop));
    for (int a = 0; a < GB_NAXES; a++)
        if (!gb_axes[a].setup)
            push_axis(&argv, &n, c, a);
    if (url)
        push_arg(&argv, &n, gb_xasprintf("--url=%s", url));
    if (cacert)
        push_arg(&argv, &n, gb_xasprintf("--cacert=%s", cacert));
    /* The setup axes last, the last first: the order every recorded argv
     * in cells.jsonl has (--stack-kib before --cpus). */
    for (int a = GB_NAXES - 1; a >= 0; a--)
        if (gb_axes[a].setup)
            push_axis(&argv, &n, c, a);
    /* One hub per CPU: a green cell of a workload with hubs given C CPUs
     * runs C hubs. */
    const struct gb_workload *w = gb_workload_find(c->workload);
    if (w && w->hubs && strcmp(c->impl, "green") == 0 && c->cpus > 1)
        push_arg(&argv, &n, gb_xasprintf("--hubs=%ld", c->cpus));
    if (rounds > 1)
        push_arg(&argv, &n, gb_xasprintf("--rounds=%ld", rounds));
    return argv;
}

void gb_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
}

/* ---- CSV columns ---- */

void gb_csv_cell_header(struct gb_buf *b)
{
    gb_buf_puts(b, "cell,workload,impl," GB_KEY_SWITCH ",loop");
    for (int a = 0; a < GB_NAXES; a++)
        gb_buf_printf(b, ",%s", gb_axes[a].name);
}

void gb_csv_cell(struct gb_buf *b, const struct gb_cell *c)
{
    gb_csv_field(b, c->key);
    const char *strs[] = { c->workload, c->impl, c->sw, c->loop };
    for (size_t k = 0; k < 4; k++) {
        gb_csv_sep(b);
        gb_csv_field(b, strs[k]);
    }
    /* -1 (not applicable) is an empty field. */
    for (int a = 0; a < GB_NAXES; a++) {
        gb_csv_sep(b);
        if (gb_cell_get(c, a) >= 0)
            gb_buf_printf(b, "%ld", gb_cell_get(c, a));
    }
}
