/* harness/peers_ext.c: external peers (peers_ext.h): peers files, --peer,
 * their setup, and their record in meta.json. The format is one key per
 * line (docs/peers.md): it needs no library and reads as what it is. */
#include "peers_ext.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cell.h"
#include "process.h"
#include "util.h"

/* The keys a peers file may have; command and workloads are required. */
static const char *const keys[] = { "command",   "workloads", "version", "includes",
                                    "multicore", "setup",     NULL };
static const char keys_text[] = "command, workloads, version, includes, multicore, setup";

/* Which external peers' setup failed (indexes into gb_peers). */
static bool setup_failed[GB_MAX_PEERS];

/* The peers files of the default folder that could not be registered: one
 * there stops no command (docs/peers.md, "Errors"). */
static struct broken {
    char name[GB_NAME];
    char *why;
} *broken;
static size_t nbroken;

bool gb_peer_external(const struct gb_peer *peer)
{
    return peer->source != NULL;
}

/* A peer's name becomes an --impl value, a CSV field and a key word: no
 * blank, no comma, no slash. */
static bool valid_name(const char *s)
{
    if (!*s || *s == '-' || strlen(s) >= GB_NAME)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

/* cmd split into words at blanks; '...' and "..." keep blanks (no escapes:
 * this is no shell). NULL with err when a quote is not closed or there is
 * no word. */
static char **split_words(const char *cmd, char *err, size_t errlen)
{
    char **w = gb_xcalloc(strlen(cmd) / 2 + 2, sizeof *w);
    size_t n = 0;
    for (const char *p = cmd; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        struct gb_buf b;
        gb_buf_init(&b);
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\'' || *p == '"') {
                const char *end = strchr(p + 1, *p);
                if (end == NULL) {
                    snprintf(err, errlen, "command '%s': a %c quote is not closed", cmd, *p);
                    gb_buf_free(&b);
                    gb_argv_free(w);
                    return NULL;
                }
                gb_buf_add(&b, p + 1, (size_t)(end - p - 1));
                p = end + 1;
            } else {
                gb_buf_add(&b, p++, 1);
            }
        }
        w[n++] = gb_xstrdup(gb_buf_str(&b));
        gb_buf_free(&b);
    }
    if (n == 0) {
        snprintf(err, errlen, "the command is empty");
        free(w);
        return NULL;
    }
    return w;
}

/* word as an absolute path: with a slash, against base (relative) or as
 * it is; without, the first executable of PATH, as a shell finds it. 0, or
 * -ENOENT / -EACCES with err saying so. */
static int resolve(const char *word, const char *base, char *out, size_t n, char *err, size_t errlen)
{
    if (strchr(word, '/')) {
        while (strncmp(word, "./", 2) == 0) /* said plainly when it is missing */
            word += 2;
        snprintf(out, n, "%s%s%s", word[0] == '/' ? "" : base, word[0] == '/' ? "" : "/", word);
    } else {
        const char *path = getenv("PATH");
        char *copy = gb_xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        out[0] = '\0';
        for (char *d = strtok(copy, ":"); d && !out[0]; d = strtok(NULL, ":")) {
            char *cand = gb_xasprintf("%s/%s", d, word);
            if (gb_is_executable(cand) && strlen(cand) < n)
                snprintf(out, n, "%s", cand);
            free(cand);
        }
        free(copy);
        if (!out[0]) {
            /* As a shell: a file here is no command without its ./ */
            if (gb_is_executable(word))
                snprintf(err, errlen, "command '%s' not found in PATH: give ./%s for the file here", word,
                         word);
            else if (access(word, F_OK) == 0)
                snprintf(err, errlen, "command '%s' not found in PATH, and ./%s is not executable", word,
                         word);
            else
                snprintf(err, errlen, "command '%s' not found in PATH", word);
            return -ENOENT;
        }
    }
    char real[PATH_MAX];
    if (realpath(out, real) && strlen(real) < n) /* "./x" and "a/../b" said plainly */
        snprintf(out, n, "%s", real);
    if (access(out, F_OK) != 0) {
        snprintf(err, errlen, "command %s not found", out);
        return -ENOENT;
    }
    if (!gb_is_executable(out)) {
        snprintf(err, errlen, "command %s is not an executable file", out);
        return -EACCES;
    }
    return 0;
}

/* The peer being read: its fields as text, before they become a gb_peer. */
struct draft {
    char name[GB_NAME];
    char *command, *workloads, *version, *includes, *setup;
    bool multicore, multicore_given;
    char dir[PATH_MAX]; /* relative commands are resolved, and commands run, here */
    char source[PATH_MAX + 32];
};

static void draft_free(struct draft *d)
{
    free(d->command);
    free(d->workloads);
    free(d->version);
    free(d->includes);
    free(d->setup);
}

/* "switch, spawn" -> "switch,spawn", each a workload of the catalog. 0, or
 * -EINVAL with err naming the one that is not. */
static int parse_workloads(const char *v, char **out, char *err, size_t errlen)
{
    struct gb_buf b;
    gb_buf_init(&b);
    char *copy = gb_xstrdup(v);
    int rc = 0;
    for (char *t = strtok(copy, ", \t"); t && rc == 0; t = strtok(NULL, ", \t")) {
        if (gb_workload_find(t) == NULL) {
            char *valid = gb_workload_names(GB_PICK_ALL, 0, ", ", ", ");
            snprintf(err, errlen, "unknown workload '%s' (valid: %s)", t, valid);
            free(valid);
            rc = -EINVAL;
        }
        gb_buf_printf(&b, "%s%s", b.len ? "," : "", t);
    }
    if (rc == 0 && b.len == 0) {
        snprintf(err, errlen, "no workload given");
        rc = -EINVAL;
    }
    *out = rc == 0 ? gb_xstrdup(gb_buf_str(&b)) : NULL;
    free(copy);
    gb_buf_free(&b);
    return rc;
}

/* One "key = value" line of a peers file into d. 0, or -EINVAL with err. */
static int file_line(struct draft *d, char *line, char *err, size_t errlen)
{
    char *eq = strchr(line, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "expected 'key = value', got '%.80s'", line);
        return -EINVAL;
    }
    char *key = line, *v = eq + 1, *end = eq;
    *eq = '\0';
    while (end > key && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    while (*v == ' ' || *v == '\t')
        v++;
    size_t k = 0;
    while (keys[k] && strcmp(keys[k], key) != 0)
        k++;
    if (keys[k] == NULL) {
        snprintf(err, errlen, "unknown key '%s' (valid: %s)", key, keys_text);
        return -EINVAL;
    }
    char **slot[] = { &d->command, &d->workloads, &d->version, &d->includes, NULL, &d->setup };
    if (slot[k] != NULL ? *slot[k] != NULL : d->multicore_given) {
        snprintf(err, errlen, "key '%s' given twice", key);
        return -EINVAL;
    }
    if (*v == '\0') {
        snprintf(err, errlen, "key '%s' has no value", key);
        return -EINVAL;
    }
    if (strcmp(key, "multicore") == 0) {
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
            snprintf(err, errlen, "multicore: 'yes' or 'no', not '%s'", v);
            return -EINVAL;
        }
        d->multicore = strcmp(v, "yes") == 0;
        d->multicore_given = true;
        return 0;
    }
    if (strcmp(key, "workloads") == 0)
        return parse_workloads(v, slot[k], err, errlen);
    *slot[k] = gb_xstrdup(v);
    return 0;
}

/* The peers file at path into d (d->name set). 0, or GB_EXIT_USAGE with err
 * naming the file and line. */
static int read_file(const char *path, struct draft *d, char *err, size_t errlen)
{
    char *text;
    size_t len;
    int rc = gb_read_file(path, &text, &len);
    if (rc != 0) {
        snprintf(err, errlen, "peers file %s: %s", path, strerror(-rc));
        return GB_EXIT_USAGE;
    }
    char real[PATH_MAX];
    snprintf(d->dir, sizeof d->dir, "%s", realpath(path, real) ? real : path);
    char *slash = strrchr(d->dir, '/');
    if (slash)
        *slash = '\0';
    snprintf(d->source, sizeof d->source, "%s", path);
    char why[512] = "";
    int lineno = 0;
    for (char *line = text, *next; line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        line[strcspn(line, "\r")] = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line && *line != '#')
            rc = file_line(d, line, why, sizeof why);
    }
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "peers file %s, line %d: %s", path, lineno, why);
        return GB_EXIT_USAGE;
    }
    const char *missing = !d->command ? "command" : !d->workloads ? "workloads" : NULL;
    if (missing) {
        snprintf(err, errlen, "peers file %s: no '%s = ...' line (required: command, workloads)", path,
                 missing);
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* "cd 'DIR' && cmd": a version or setup command runs in the peer's folder. */
static char *in_dir(const char *dir, const char *cmd)
{
    struct gb_buf b;
    gb_buf_init(&b);
    gb_buf_puts(&b, "cd ");
    gb_buf_shell_word(&b, dir);
    gb_buf_printf(&b, " && %s", cmd);
    char *s = gb_xstrdup(gb_buf_str(&b));
    gb_buf_free(&b);
    return s;
}

/* What draft_register allocated for p, from d, when gb_peers refused it. */
static void peer_free(struct gb_peer *p, const struct draft *d)
{
    char *own[] = { (char *)p->name,      (char *)p->program, (char *)p->note,
                    (char *)p->workloads, (char *)p->source,  (char *)p->setup };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        free(own[i]);
    if (d->version)
        free((char *)p->version_cmd);
    if (d->includes)
        free((char *)p->includes);
    for (char *const *a = p->args; *a; a++)
        free(*a);
    free((char **)p->args - 1); /* the array split_words made; its [0] was freed */
}

/* d as a row of gb_peers. 0, or GB_EXIT_USAGE with err. */
static int draft_register(struct draft *d, char *err, size_t errlen)
{
    char why[PATH_MAX + 256];
    char **words = split_words(d->command, why, sizeof why);
    char prog[PATH_MAX];
    int rc = words ? resolve(words[0], d->dir, prog, sizeof prog, why, sizeof why) : -EINVAL;
    /* A setup command may build the program: only then may it be missing. */
    if (rc != 0 && !(d->setup && words && rc == -ENOENT && strchr(words[0], '/'))) {
        snprintf(err, errlen, "peer '%s' (%s): %s", d->name, d->source, why);
        gb_argv_free(words);
        return GB_EXIT_USAGE;
    }
    struct gb_peer p = {
        .name = gb_xstrdup(d->name),
        .program = gb_xstrdup(prog),
        .package = "(external peer)",
        .version_cmd = d->version ? in_dir(d->dir, d->version) : "",
        /* Said only when it is so: gb_programs_scan, list and check-cell
         * show it for a program they do not find (meta.json too). */
        .note = gb_xasprintf("its program %s is missing or not executable", prog),
        .includes = d->includes ? gb_xstrdup(d->includes) : "(its peers file does not say)",
        .multicore = d->multicore,
        .workloads = gb_xstrdup(d->workloads),
        .args = words + 1,
        .source = gb_xstrdup(d->source),
        .setup = d->setup ? in_dir(d->dir, d->setup) : NULL,
    };
    free(words[0]); /* the program, now p.program; the array stays for args */
    if (gb_peer_add(&p, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s (%s)", why, d->source);
        peer_free(&p, d);
        return GB_EXIT_USAGE;
    }
    return 0;
}

/* The peers file dir/name (NAME.conf), registered. */
static int load_file(const char *path, const char *name, char *err, size_t errlen)
{
    struct draft d = { 0 };
    if (!valid_name(name)) {
        snprintf(err, errlen,
                 "peers file %s: '%s' is not a valid peer name (letters, digits, '-', '_', '.'; "
                 "at most %d bytes)",
                 path, name, GB_NAME - 1);
        return GB_EXIT_USAGE;
    }
    snprintf(d.name, sizeof d.name, "%s", name);
    int rc = read_file(path, &d, err, errlen);
    if (rc == 0)
        rc = draft_register(&d, err, errlen);
    draft_free(&d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every dir/NAME.conf, in name order. The default folder (must_exist
 * false) may be missing, and a file of it that cannot be registered is
 * skipped with a warning: the user may have copied a file there long ago,
 * and no command that does not use it should stop for it. */
static int load_dir(const char *dir, bool must_exist, char *err, size_t errlen)
{
    DIR *dp = opendir(dir);
    if (dp == NULL) {
        if (!must_exist && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "peers directory %s: %s", dir, strerror(errno));
        return GB_EXIT_USAGE;
    }
    char **names = NULL; /* every one: past GB_MAX_PEERS, gb_peer_add says so */
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dp)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0 || e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            names = gb_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = gb_xstrdup(e->d_name);
    }
    closedir(dp);
    if (n > 1) /* names is NULL when there is none: qsort must not see it */
        qsort(names, n, sizeof names[0], cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            char *path = gb_xasprintf("%s/%s", dir, names[i]);
            names[i][strlen(names[i]) - 5] = '\0';
            rc = load_file(path, names[i], err, errlen);
            if (rc != 0 && !must_exist) {
                fprintf(stderr,
                        "greenbench: warning: %s: skipped (fix or remove it: %s is the default "
                        "peers folder, read by every run, list and check-cell)\n",
                        err, dir);
                broken = gb_xrealloc(broken, (nbroken + 1) * sizeof *broken);
                snprintf(broken[nbroken].name, GB_NAME, "%s", names[i]);
                broken[nbroken++].why = gb_xstrdup(err);
                rc = 0;
            }
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* --peer NAME=FILE.conf or NAME=COMMAND, registered. */
static int load_spec(const char *spec, const struct gb_names *wl, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    char name[GB_NAME + 64];
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - spec) : 0, spec);
    if (eq == NULL || !valid_name(name) || !eq[1]) {
        snprintf(err, errlen,
                 "--peer %s: give NAME=COMMAND or NAME=FILE.conf, NAME of letters, digits, '-', "
                 "'_', '.'",
                 spec);
        return GB_EXIT_USAGE;
    }
    const char *value = eq + 1;
    size_t vlen = strlen(value);
    if (vlen > 5 && strcmp(value + vlen - 5, ".conf") == 0)
        return load_file(value, name, err, errlen);
    struct draft d = { 0 };
    snprintf(d.name, sizeof d.name, "%.*s", GB_NAME - 1, name); /* valid_name: it fits */
    snprintf(d.source, sizeof d.source, "--peer");
    if (getcwd(d.dir, sizeof d.dir) == NULL)
        snprintf(d.dir, sizeof d.dir, ".");
    struct gb_buf b;
    gb_buf_init(&b);
    for (size_t i = 0; wl && i < wl->n; i++)
        gb_buf_printf(&b, "%s%s", i ? "," : "", wl->v[i]);
    int rc = 0;
    if (b.len == 0) {
        /* wl NULL: a command (list) that takes no --workload. */
        snprintf(err, errlen,
                 "--peer %s: which workloads does it run? Give them %sin a peers file: --peer "
                 "%s=FILE.conf with a 'workloads = ...' line",
                 spec, wl != NULL ? "with --workload=W,... or " : "", name);
        rc = GB_EXIT_USAGE;
    } else {
        d.command = gb_xstrdup(value);
        d.workloads = gb_xstrdup(gb_buf_str(&b));
        d.includes = gb_xstrdup("(given by --peer: nothing said)");
        rc = draft_register(&d, err, errlen);
    }
    gb_buf_free(&b);
    draft_free(&d);
    return rc;
}

/* The peers directory: dir, GREENBENCH_PEERS_DIR, or XDG's (*must_exist
 * false). */
static char *peers_dir(const char *dir, bool *must_exist)
{
    *must_exist = true;
    if (dir && *dir)
        return gb_xstrdup(dir);
    const char *env = getenv("GREENBENCH_PEERS_DIR");
    if (env && *env)
        return gb_xstrdup(env);
    *must_exist = false;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        return gb_xasprintf("%s/greenbench/peers.d", xdg);
    return home && *home ? gb_xasprintf("%s/.config/greenbench/peers.d", home) : NULL;
}

int gb_peers_ext_load(const char *dir, char *const *specs, size_t nspecs, const struct gb_names *workloads,
                      char *err, size_t errlen)
{
    bool must_exist;
    char *d = peers_dir(dir, &must_exist);
    int rc = d ? load_dir(d, must_exist, err, errlen) : 0;
    free(d);
    for (size_t i = 0; i < nspecs && rc == 0; i++)
        rc = load_spec(specs[i], workloads, err, errlen);
    return rc;
}

const char *gb_peers_ext_broken(size_t i, const char **why)
{
    if (i >= nbroken)
        return NULL;
    if (why)
        *why = broken[i].why;
    return broken[i].name;
}

const char *gb_peers_ext_broken_why(const char *name)
{
    for (size_t i = 0; i < nbroken; i++)
        if (strcmp(broken[i].name, name) == 0)
            return broken[i].why;
    return NULL;
}

void gb_peers_ext_setup(void)
{
    for (size_t i = gb_nbuiltin_peers; i < gb_npeers; i++) {
        struct gb_peer *p = &gb_peers[i];
        if (p->setup == NULL || setup_failed[i])
            continue;
        fprintf(stderr, "greenbench: peer %s: setup: %s\n", p->name, p->setup);
        char *argv[] = { "sh", "-c", (char *)p->setup, NULL };
        char *out = NULL;
        int rc = gb_run_capture(argv, true, 600 * 1000, &out);
        if (out && *out)
            fprintf(stderr, "%s%s", out, out[strlen(out) - 1] == '\n' ? "" : "\n");
        if (rc != 0) {
            char *copy = gb_xstrdup(out ? out : "");
            free((char *)p->note); /* an external peer's: always allocated here */
            p->note = gb_xasprintf("its setup command failed (%s%d): %.300s", rc < 0 ? "" : "exit ", rc,
                                   gb_last_line(copy, "\n\r "));
            free(copy);
            setup_failed[i] = true;
            fprintf(stderr, "greenbench: peer %s skipped: %s\n", p->name, p->note);
        }
        free(out);
    }
}

void gb_peers_ext_mark(struct gb_programs *p)
{
    for (size_t i = gb_nbuiltin_peers; i < gb_npeers; i++)
        if (setup_failed[i])
            p->peer_found[i] = false;
}

json_t *gb_peers_ext_to_json(void)
{
    json_t *a = json_array();
    for (size_t i = gb_nbuiltin_peers; i < gb_npeers; i++) {
        const struct gb_peer *p = &gb_peers[i];
        json_t *o = json_object(), *args = json_array();
        for (char *const *w = p->args; w && *w; w++)
            json_array_append_new(args, gb_json_text(*w));
        json_object_set_new(o, "name", gb_json_text(p->name));
        json_object_set_new(o, "program", gb_json_text(p->program));
        json_object_set_new(o, "args", args);
        json_object_set_new(o, "workloads", gb_json_text(p->workloads));
        json_object_set_new(o, "version", gb_json_text(p->version_cmd));
        json_object_set_new(o, "includes", gb_json_text(p->includes));
        json_object_set_new(o, "multicore", json_boolean(p->multicore));
        json_object_set_new(o, "source", gb_json_text(p->source));
        /* Why it was skipped, and only when it was: p->note is what a
         * missing program would be told, set at registration. */
        if (setup_failed[i] || !gb_is_executable(p->program))
            json_object_set_new(o, "note", gb_json_text(p->note));
        json_object_set_new(o, "setup_failed", json_boolean(setup_failed[i]));
        json_array_append_new(a, o);
    }
    return a;
}

/* A string of o, copied for the process's life ("" when missing). */
static const char *kept(const json_t *o, const char *key)
{
    return gb_xstrdup(gb_json_str(o, key, ""));
}

void gb_peers_ext_from_meta(const json_t *meta)
{
    const json_t *a = json_object_get(meta, "external_peers");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i), *args = json_object_get(o, "args");
        if (gb_peer_find(gb_json_str(o, "name", "")) || !valid_name(gb_json_str(o, "name", "")))
            continue;
        char **words = gb_xcalloc(json_array_size(args) + 1, sizeof *words);
        for (size_t k = 0; k < json_array_size(args); k++)
            words[k] = gb_xstrdup(
                json_is_string(json_array_get(args, k)) ? json_string_value(json_array_get(args, k)) : "");
        struct gb_peer p = {
            .name = kept(o, "name"),
            .program = kept(o, "program"),
            .package = "(external peer)",
            .version_cmd = kept(o, "version"),
            .note = gb_json_str(o, "note", NULL)
                        ? kept(o, "note")
                        : gb_xasprintf("its program %s is missing or not executable",
                                       gb_json_str(o, "program", "")),
            .includes = kept(o, "includes"),
            .multicore = json_is_true(json_object_get(o, "multicore")),
            .workloads = kept(o, "workloads"),
            .args = words,
            .source = kept(o, "source"),
        };
        char err[256];
        size_t at = gb_npeers;
        if (gb_peer_add(&p, err, sizeof err) != 0)
            fprintf(stderr, "greenbench: meta.json's external peer: %s\n", err);
        else if (json_is_true(json_object_get(o, "setup_failed")))
            setup_failed[at] = true;
    }
}

int gb_peers_ext_check_resume(const char *dir, char *err, size_t errlen)
{
    char *path = gb_xasprintf("%s/meta.json", dir), *text;
    size_t len;
    json_t *meta = NULL;
    int rc = gb_read_file(path, &text, &len);
    free(path);
    if (rc != 0)
        return 0; /* resuming says what is wrong with it */
    rc = gb_json_parse(text, len, &meta, NULL, 0);
    free(text);
    if (rc != 0)
        return 0;
    const json_t *a = json_object_get(meta, "external_peers");
    const json_t *cells = json_object_get(json_object_get(meta, "plan"), "cells");
    for (size_t i = 0; i < json_array_size(a) && rc == 0; i++) {
        const json_t *o = json_array_get(a, i);
        const char *name = gb_json_str(o, "name", ""), *prog = gb_json_str(o, "program", "");
        /* A peer skipped at the start has no cell; a built one ran, and must still. */
        if (json_is_true(json_object_get(o, "setup_failed")) || gb_is_executable(prog))
            continue;
        size_t n = 0;
        for (size_t k = 0; k < json_array_size(cells); k++)
            n += strcmp(gb_json_str(json_array_get(cells, k), "impl", ""), name) == 0;
        if (n == 0)
            continue;
        snprintf(err, errlen,
                 "--resume %s: peer '%s' (%s): its program %s is missing or not executable, and the "
                 "plan has %zu cell%s of it: put it back, then resume",
                 dir, name, gb_json_str(o, "source", "?"), prog, n, n == 1 ? "" : "s");
        rc = GB_EXIT_USAGE;
    }
    json_decref(meta);
    return rc;
}

char **gb_peer_command(const char *cmd, const char *base, char *err, size_t errlen)
{
    char **words = split_words(cmd, err, errlen);
    char prog[PATH_MAX];
    if (words == NULL || resolve(words[0], base, prog, sizeof prog, err, errlen) != 0) {
        gb_argv_free(words);
        return NULL;
    }
    free(words[0]);
    words[0] = gb_xstrdup(prog);
    return words;
}
