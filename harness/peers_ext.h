/* harness/peers_ext.h: external peers, registered without a rebuild: any
 * program that obeys the cell protocol (docs/cell-protocol.md), described
 * by a peers file or given on run's command line (docs/peers.md). Each
 * becomes a row of gb_peers (catalog.h), after the built-in ones, so that
 * the plan, the run, the results, the plots and the report treat it as
 * they treat gevent or Go. */
#ifndef GREENBENCH_PEERS_EXT_H
#define GREENBENCH_PEERS_EXT_H

#include <stddef.h>

#include "json.h"
#include "options.h"
#include "programs.h"

/* Register the external peers: first every DIR/NAME.conf in name order, DIR
 * being dir when not NULL or empty (--peers-dir), else GREENBENCH_PEERS_DIR,
 * else $XDG_CONFIG_HOME/greenbench/peers.d (default ~/.config/...), which
 * may be missing and whose files that cannot be registered are skipped
 * with a warning (gb_peers_ext_broken); then each of the nspecs specs "NAME=FILE.conf" (a peers
 * file) or "NAME=COMMAND" (--peer), whose workloads are the given ones
 * (run's --workload; none is an error). 0, or GB_EXIT_USAGE with err
 * (errlen bytes) naming the file and line, or the spec, and what is wrong. */
int gb_peers_ext_load(const char *dir, char *const *specs, size_t nspecs, const struct gb_names *workloads,
                      char *err, size_t errlen);
/* The peers files of the default folder that gb_peers_ext_load skipped
 * (it warned on stderr): the i-th one's peer name and *why (the error a
 * peers file named by --peers-dir would stop the command with), NULL past
 * the last; and why the peer called name was skipped, NULL when it was
 * not. */
const char *gb_peers_ext_broken(size_t i, const char **why);
const char *gb_peers_ext_broken_why(const char *name);
/* Run each external peer's setup command once (sh -c, in its file's
 * folder), its output on stderr. One that fails is skipped, not fatal:
 * gb_peers_ext_mark then marks it missing, its note saying why. */
void gb_peers_ext_setup(void);
/* After gb_programs_scan: the peers whose setup failed are not found. */
void gb_peers_ext_mark(struct gb_programs *p);
/* The external peers as meta.json's "external_peers" (a new reference: an
 * array, empty when there is none), and back: a run's report or --resume
 * registers those of its meta.json that are not registered yet. */
json_t *gb_peers_ext_to_json(void);
void gb_peers_ext_from_meta(const json_t *meta);
/* Before `run --resume DIR`: an external peer of DIR/meta.json with cells in
 * its plan whose program is no longer executable is refused (as a fresh
 * run refuses it), not run as a failure in every repetition left. 0 (also
 * when meta.json cannot be read: resuming says so), or GB_EXIT_USAGE with
 * err naming the peer and its program. */
int gb_peers_ext_check_resume(const char *dir, char *err, size_t errlen);
/* cmd ("prog arg ...", '...' and "..." keeping blanks) as an argv whose
 * program is an absolute path: with a slash, against base when relative;
 * without, found in PATH. NULL with err (errlen bytes) when it is empty,
 * not found or not executable. Free with gb_argv_free. */
char **gb_peer_command(const char *cmd, const char *base, char *err, size_t errlen);
/* Is peer one registered here (not built in). */
bool gb_peer_external(const struct gb_peer *peer);

#endif /* GREENBENCH_PEERS_EXT_H */
