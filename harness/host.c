/* harness/host.c: the host fingerprint and the build's hash (host.h). */
#include "host.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process.h"
#include "util.h"

#ifndef GB_SOURCE_DIR
#define GB_SOURCE_DIR "."
#endif
#ifndef GB_COMPILER
#define GB_COMPILER "unknown"
#endif

static bool isalnum_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void gb_host_id(char *out, size_t n)
{
    const char *env = getenv("GREENBENCH_HOST_ID");
    char name[256] = "unknown";
    if (env && *env)
        snprintf(name, sizeof name, "%s", env);
    else if (gethostname(name, sizeof name) != 0)
        snprintf(name, sizeof name, "unknown");
    name[sizeof name - 1] = '\0';
    snprintf(out, n, "%s", name);
    for (char *s = out; *s; s++)
        if (!(isalnum_ascii(*s) || *s == '.' || *s == '_' || *s == '-'))
            *s = '_';
    /* "." and ".." name no folder of their own: merge's hosts/.. is OUT. */
    if (strspn(out, ".") == strlen(out))
        for (char *s = out; *s; s++)
            *s = '_';
    if (out[0] == '\0' && n > 0)
        snprintf(out, n, "unknown");
}

bool gb_host_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || strspn(id, ".") == len)
        return false;
    for (const char *s = id; *s; s++)
        if (!(isalnum_ascii(*s) || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

uint64_t gb_fnv1a(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "name size\n" of every greenbench-* file of dir, sorted, into b. */
static void bin_listing(const char *dir, struct gb_buf *b)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "greenbench-", 11) != 0)
            continue;
        names = gb_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = gb_xstrdup(e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *path = gb_xasprintf("%s/%s", dir, names[i]);
        struct stat st;
        gb_buf_printf(b, "%s %lld\n", names[i], stat(path, &st) == 0 ? (long long)st.st_size : -1LL);
        free(path);
        free(names[i]);
    }
    free(names);
}

static char *git_commit(void)
{
    char *rev[] = { "git", "-C", GB_SOURCE_DIR, "rev-parse", "HEAD", NULL };
    return gb_command_line1(rev);
}

void gb_build_hash(const struct gb_programs *p, char out[17])
{
    struct gb_buf b;
    gb_buf_init(&b);
    char *commit = git_commit();
    gb_buf_printf(&b, "commit %s\n", commit ? commit : "none");
    free(commit);
    bin_listing(p->bin_dir, &b);
    snprintf(out, 17, "%016llx", (unsigned long long)gb_fnv1a(b.data, b.len, GB_FNV_START));
    gb_buf_free(&b);
}

/* How many CPUs a list such as "0-1", "0,4" or "3" names. */
static long cpu_list_count(const char *s)
{
    long n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s)
            break;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        n += b >= a ? b - a + 1 : 1;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* CPUs online, hardware threads per core (from cpu0's siblings), cores,
 * and whether SMT is active (null when the kernel does not say). */
static void cpus_json(json_t *o)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    char v[256];
    long per_core = 1;
    if (gb_file_line("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", v, sizeof v))
        per_core = cpu_list_count(v) > 0 ? cpu_list_count(v) : 1;
    json_object_set_new(o, "cpus_online", json_integer(online));
    json_object_set_new(o, "cpus_allowed", json_integer(gb_allowed_cpus()));
    json_object_set_new(o, "cores", json_integer(online / per_core));
    json_object_set_new(o, "threads_per_core", json_integer(per_core));
    bool smt = gb_file_line("/sys/devices/system/cpu/smt/active", v, sizeof v);
    json_object_set_new(o, "smt", smt ? json_boolean(strcmp(v, "1") == 0) : json_null());
}

/* The virtualisation and where it was read: systemd-detect-virt ("none",
 * "kvm", "docker", ...) when installed, else the DMI vendor and product
 * (a cloud's or a hypervisor's name), else the CPU's hypervisor flag. */
static void virt_json(json_t *o, bool hypervisor_flag)
{
    char *argv[] = { "systemd-detect-virt", NULL }, *out = NULL;
    int rc = gb_run_capture(argv, false, 3000, &out);
    out[strcspn(out, "\r\n")] = '\0';
    const char *from = "systemd-detect-virt";
    char v[512];
    if ((rc == 0 || rc == 1) && *out) {
        snprintf(v, sizeof v, "%s", out);
    } else {
        char vendor[200], product[200];
        bool dmi = gb_file_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof vendor);
        dmi &= gb_file_line("/sys/class/dmi/id/product_name", product, sizeof product);
        from = dmi ? "dmi" : "cpuinfo";
        if (dmi)
            snprintf(v, sizeof v, "%s %s", vendor, product);
        else
            snprintf(v, sizeof v, "%s", hypervisor_flag ? "hypervisor" : "none");
    }
    free(out);
    json_object_set_new(o, "virtualization", gb_json_text(v));
    json_object_set_new(o, "virtualization_source", gb_json_text(from));
}

/* The job ids of the engines that start shards, null when unset. */
static void job_ids_json(json_t *o)
{
    static const char *const vars[][2] = {
        { "slurm_job_id", "SLURM_JOB_ID" },
        { "slurm_array_job_id", "SLURM_ARRAY_JOB_ID" },
        { "slurm_array_task_id", "SLURM_ARRAY_TASK_ID" },
        { "slurmd_nodename", "SLURMD_NODENAME" },
        { "parallel_seq", "PARALLEL_SEQ" },
    };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i][1]);
        json_object_set_new(o, vars[i][0], gb_json_text(v && *v ? v : NULL));
    }
}

/* "asm/libev asm/libuv ..." of the green programs found. */
static json_t *backends_json(const struct gb_programs *p)
{
    json_t *a = json_array();
    for (size_t i = 0; i < p->npairs; i++) {
        char s[2 * GB_NAME + 2];
        snprintf(s, sizeof s, "%s/%s", p->pairs[i].sw, p->pairs[i].loop);
        json_array_append_new(a, gb_json_text(s));
    }
    return a;
}

json_t *gb_host_to_json(const struct gb_preflight *pf, const struct gb_programs *p)
{
    json_t *o = json_object(), *machine = gb_machine_to_json();
    char id[256], name[256] = "", v[256], hash[17];
    gb_host_id(id, sizeof id);
    gethostname(name, sizeof name - 1);
    json_object_set_new(o, "id", gb_json_text(id));
    json_object_set_new(o, "hostname", gb_json_text(name));
    json_object_set_new(o, "cpu_model", json_incref(json_object_get(machine, "cpu_model")));
    cpus_json(o);
    json_object_set_new(o, "kernel", json_incref(json_object_get(machine, "kernel")));
    virt_json(o, json_is_true(json_object_get(machine, "virtualized")));
    bool gov = gb_file_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", v, sizeof v);
    json_object_set_new(o, "governor", gb_json_text(gov ? v : NULL));
    json_object_set_new(o, "compiler", gb_json_text(GB_COMPILER));
    char *commit = git_commit();
    json_object_set_new(o, "commit", gb_json_text(commit));
    free(commit);
    gb_build_hash(p, hash);
    json_object_set_new(o, "build_hash", gb_json_text(hash));
    json_object_set_new(o, "backends", backends_json(p));
    json_object_set_new(o, "syscall_ns", gb_json_number(pf->syscall_ns));
    json_object_set_new(o, "page_fault_ns", gb_json_number(pf->fault_ns));
    job_ids_json(o);
    json_decref(machine);
    return o;
}
