/* harness/plot.h: the plot stage: chart data and gnuplot. For each kind of
 * chart a run has data for, DIR/plots/<kind>.dat (the numbers), <kind>.gp
 * (a short generated preamble + the template plots/<kind>.gp) and
 * style.gp, then <kind>.svg and <kind>.png drawn by gnuplot
 * (docs/results-format.md, "plots/"). Everything needed to restyle and
 * redraw stays beside the images. */
#ifndef GREENBENCH_PLOT_H
#define GREENBENCH_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "results.h"

/* The templates, embedded at build time from the .gp files of plots/
 * (embed.cmake). */
struct gb_template { const char *name; const char *text; };
extern const struct gb_template gb_templates[];
extern const size_t gb_ntemplates;
/* A template's text (malloc'd), from GREENBENCH_PLOTS_DIR when set, else the
 * embedded copy; NULL when there is no such template. */
char *gb_template_load(const char *name);
/* The gnuplot program: GREENBENCH_GNUPLOT (set but empty or not executable:
 * none), else "gnuplot" on PATH; NULL if none. Borrowed. */
const char *gb_gnuplot(void);
/* Write the .dat and .gp of every chart into rd->dir/plots, and draw them
 * when draw. First every file of plots/ this stage can write is removed
 * (each chart kind's .svg, .png, .gp, .dat and _ideal.dat, style.gp,
 * gnuplot.log), so that a chart without data this time, or a picture not
 * redrawn (draw false, no gnuplot), leaves no stale file behind; other files
 * are left alone. Every series of the run (gb_cell_series) keeps one line
 * style of its own in every chart (series_lt of each .gp, style.gp).
 * Returns the number of SVGs drawn, 0 (nothing to draw, draw false, or
 * plots/ could not be made, said on stderr), or -1 when gnuplot is
 * missing. */
int gb_write_plots(const struct gb_rundata *rd, bool draw);
/* One chart outside a run's charts (a merged folder's): pdir/kind.dat
 * (data), pdir/kind.gp (vars, gnuplot assignments, then the template
 * plots/kind.gp) and style.gp, drawn as SVG and PNG when gnuplot is there.
 * Returns the pictures drawn (0 to 2), or a negative errno. */
int gb_plot_one(const char *pdir, const char *kind, const char *vars, const char *data);

#endif /* GREENBENCH_PLOT_H */
