/* harness/host.h: part of the meta stage: the fingerprint of the machine a
 * run ran on (meta.json's "host"), so that runs of many machines can be
 * told apart and never pooled (docs/results-format.md, "host"); and the
 * hashes that say whether two runs ran one plan on one build. */
#ifndef GREENBENCH_HOST_H
#define GREENBENCH_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "preflight.h"
#include "programs.h"

/* The host's id into out (n bytes): GREENBENCH_HOST_ID, else the host
 * name, every byte but [A-Za-z0-9._-] replaced by '_', and one of dots
 * alone ("..") by as many '_' (it names folders: merge's hosts/<id>). */
void gb_host_id(char *out, size_t n);
/* Is id one that gb_host_id gives: it names a folder of its own. */
bool gb_host_id_valid(const char *id);
/* meta.json's "host": the id, the host name, CPU model, CPUs, cores and
 * SMT, kernel, virtualisation, governor, compiler, build commit and hash,
 * backends, pf's system-call and page-fault costs, and the Slurm and GNU
 * parallel job ids when set. Runs git and systemd-detect-virt once each. */
json_t *gb_host_to_json(const struct gb_preflight *pf, const struct gb_programs *p);
/* FNV-1a, 64 bits, of n bytes, continuing from h (start: GB_FNV_START). */
#define GB_FNV_START 0xcbf29ce484222325ULL
uint64_t gb_fnv1a(const void *data, size_t n, uint64_t h);
/* The build's hash as 16 hex digits into out (17 bytes): the source
 * tree's git commit and the names and sizes of the programs in p's bin
 * directory (not their times: a copy keeps its sizes, not its times). */
void gb_build_hash(const struct gb_programs *p, char out[17]);

#endif /* GREENBENCH_HOST_H */
