/* workloads/server/private_net.h: greenbench-dns --private-net: a network
 * and mount namespace of its own in which 127.0.0.1 is the only resolver,
 * for the programs that resolve through the C library (which asks
 * /etc/resolv.conf's servers on port 53 and nowhere else). A process joins
 * it by setns(2) on /proc/PID/ns/{user,net,mnt} of the server (the
 * harness's cells; `nsenter --target PID --net --mount` by hand). */
#ifndef GREENBENCH_PRIVATE_NET_H
#define GREENBENCH_PRIVATE_NET_H

#include <stddef.h>

/* Move the calling process (single-threaded) into new network and mount
 * namespaces: as root, or else inside a user namespace of its own that
 * maps the caller's uid to 0 where the kernel lets an unprivileged user
 * make one. Then: loopback up; mounts private, so nothing leaks out;
 * /etc/resolv.conf replaced by a bind mount of "nameserver 127.0.0.1"; a
 * running nscd's socket hidden, so that the C library asks DNS itself.
 * Returns 0, or -1 with err (errlen bytes) saying which step failed and why. */
int private_net_enter(char *err, size_t errlen);

#endif /* GREENBENCH_PRIVATE_NET_H */
