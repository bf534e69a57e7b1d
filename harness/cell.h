/* harness/cell.h: one cell of the matrix (a workload x an implementation x
 * a value per axis) and every spelling of it: its key, its report and plot
 * labels, its JSON object (the record's "params" and the plan in
 * meta.json), its summary.csv columns and the cell program's command line
 * (docs/results-format.md, "The cell key"; docs/cell-protocol.md, "Command
 * line"). Made by the plan stage, read by every stage after it. */
#ifndef GREENBENCH_CELL_H
#define GREENBENCH_CELL_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "json.h"
#include "util.h"

/* The JSON key and CSV column of a cell's context-switch backend: the
 * backend, not the workload of the same name. */
#define GB_KEY_SWITCH "switch"

/* One cell: workload x implementation x parameters. -1: not applicable. */
struct gb_cell {
    char workload[GB_NAME];
    char impl[GB_NAME];       /* green, threads or a peer name */
    char sw[GB_NAME], loop[GB_NAME]; /* "" when not applicable */
#define GB_AXIS(ID, field, ...) long field;
#include "axes.def"
#undef GB_AXIS
    char key[256];            /* "joinall green asm/libev n=1000 d=10ms size=1024" */
};
/* Everything empty, every axis -1. */
void gb_cell_init(struct gb_cell *c);
/* The cell's value on axis a, and on the axis of one GB_AX_* bit (-1 for
 * none, or for bit 0). */
long gb_cell_get(const struct gb_cell *c, enum gb_axis_id a);
void gb_cell_set(struct gb_cell *c, enum gb_axis_id a, long v);
long gb_cell_axis(const struct gb_cell *c, unsigned bit);
/* Do a and b have the same values on every axis of the mask (GB_AX_*). */
bool gb_cell_same(const struct gb_cell *a, const struct gb_cell *b, unsigned axes);
/* Do a and b measure the same work, so that the report compares them: one
 * workload, every work axis equal (GB_AX_SAME_WORK), but n for a
 * per-iteration workload (n says how long, not what). */
bool gb_cell_same_work(const struct gb_cell *a, const struct gb_cell *b);
/* Set c->key from the rest: "<workload> <series><params>". */
void gb_cell_make_key(struct gb_cell *c);
/* Append " n=1000 k=10 d=10ms size=1024": the parameters among axes (GB_AX_*)
 * that the cell has, but for the setup ones, which gb_cell_series spells.
 * The one spelling of keys, report rows and plot labels. */
void gb_cell_params(const struct gb_cell *c, unsigned axes, struct gb_buf *out);
/* "green asm/libev", "threads cpus=1": the implementation, its backends and
 * its setup axes, into out (n bytes). */
void gb_cell_series(const struct gb_cell *c, char *out, size_t n);
/* {"workload", "impl", "switch", "loop", then one key per axis}: null where
 * the cell has no value. */
json_t *gb_cell_to_json(const struct gb_cell *c); /* a new reference */
/* The reverse, its key made: 0, or -EINVAL without a workload and an impl. */
int gb_cell_from_json(const json_t *v, struct gb_cell *c);
/* The cell's columns of summary.csv and compare's CSV: the header names and
 * the fields (an empty one for -1), without a separator before or after. */
void gb_csv_cell_header(struct gb_buf *b);
void gb_csv_cell(struct gb_buf *b, const struct gb_cell *c);
/* argv for the cell program (argv[0] = the program path, then an external
 * peer's own words, peers_ext.h), NULL-terminated;
 * free with gb_argv_free. url and cacert (the CA of a --tls server, after
 * --url) may be NULL; a green cell of a workload with
 * hubs (catalog.h) given C > 1 CPUs gets --hubs=C; rounds > 1 adds --rounds
 * (the workload runs that many times in the process). The order of the
 * options is the one every recorded argv in cells.jsonl has. */
char **gb_cell_argv(const struct gb_cell *c, const char *program, const char *url, const char *cacert,
                    long rounds);
void gb_argv_free(char **argv); /* NULL: nothing */

#endif /* GREENBENCH_CELL_H */
