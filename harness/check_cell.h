/* harness/check_cell.h: `greenbench check-cell`, the cell protocol's
 * conformance check (docs/cell-protocol.md, "Checking a cell"): it runs a
 * program's workloads at small sizes and with bad input, as the harness
 * would, and says of each check whether the program obeys. */
#ifndef GREENBENCH_CHECK_CELL_H
#define GREENBENCH_CHECK_CELL_H

/* argv[0] is "check-cell". 0 every check passed, 1 some failed, 2 bad usage. */
int gb_cmd_check_cell(int argc, char **argv);

#endif /* GREENBENCH_CHECK_CELL_H */
