/* harness/compare.h: the compare stage: `greenbench compare A B`, two
 * loaded runs cell by cell (results.h): the ratio of medians B/A with its
 * distribution-free 95% interval (Moses), the Mann-Whitney U p-value, and a
 * verdict; a Markdown table on stdout and the same as CSV
 * (docs/results-format.md, "greenbench compare"). */
#ifndef GREENBENCH_COMPARE_H
#define GREENBENCH_COMPARE_H

/* greenbench compare [--csv FILE] [--alpha A] DIR_A DIR_B: exit 0, 1 (a run
 * could not be read, or the CSV not written) or 2. */
int gb_cmd_compare(int argc, char **argv);

#endif /* GREENBENCH_COMPARE_H */
