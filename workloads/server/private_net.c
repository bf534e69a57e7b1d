/* workloads/server/private_net.c: greenbench-dns --private-net (private_net.h). */
#include "server/private_net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESOLV_CONF "/etc/resolv.conf"
#define NSCD_DIR "/run/nscd"

static int fail(char *err, size_t errlen, const char *step)
{
    snprintf(err, errlen, "%s: %s", step, strerror(errno));
    return -1;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = (ssize_t)strlen(text), put = write(fd, text, (size_t)len);
    int saved = errno;
    close(fd);
    errno = saved;
    return put == len ? 0 : -1;
}

/* The namespaces, with a user namespace first where the caller lacks
 * CAP_SYS_ADMIN: uid and gid 0 inside are the caller's outside. */
static int unshare_namespaces(char *err, size_t errlen)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) == 0)
        return 0;
    if (errno != EPERM)
        return fail(err, errlen, "unshare(CLONE_NEWNET | CLONE_NEWNS)");
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0)
        return fail(err, errlen, "not root, and unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS)");
    char map[64];
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        return fail(err, errlen, "/proc/self/uid_map");
    if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
        return fail(err, errlen, "/proc/self/setgroups");
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    if (write_file("/proc/self/gid_map", map) != 0)
        return fail(err, errlen, "/proc/self/gid_map");
    return 0;
}

static int loopback_up(char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(err, errlen, "socket for the loopback's flags");
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc == 0 ? 0 : fail(err, errlen, "bringing lo up");
}

/* Bind a file holding the namespace's resolver over /etc/resolv.conf. The
 * file is made in /tmp and unlinked once mounted: the mount keeps it. */
static int replace_resolv_conf(char *err, size_t errlen)
{
    static const char text[] = "# greenbench-dns --private-net: this namespace's only resolver\n"
                               "nameserver 127.0.0.1\n"
                               "options ndots:1\n";
    char path[] = "/tmp/greenbench-resolv.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return fail(err, errlen, "mkstemp in /tmp");
    bool written = write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1) && fchmod(fd, 0644) == 0;
    int saved = errno;
    close(fd);
    int rc = written ? mount(path, RESOLV_CONF, NULL, MS_BIND, NULL) : -1;
    if (written)
        saved = errno;
    unlink(path);
    errno = saved;
    return rc == 0 ? 0 : fail(err, errlen, written ? "bind mount over " RESOLV_CONF : path);
}

int private_net_enter(char *err, size_t errlen)
{
    if (unshare_namespaces(err, errlen) != 0)
        return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return fail(err, errlen, "making the mounts private");
    if (loopback_up(err, errlen) != 0 || replace_resolv_conf(err, errlen) != 0)
        return -1;
    /* The C library asks a running nscd before DNS, over a socket in the
     * file system that the new network namespace does not hide. */
    struct stat st;
    if (stat(NSCD_DIR, &st) == 0 && S_ISDIR(st.st_mode) &&
        mount("tmpfs", NSCD_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") != 0)
        return fail(err, errlen, "hiding " NSCD_DIR);
    return 0;
}
