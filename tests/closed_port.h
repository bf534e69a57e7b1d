/* tests/closed_port.h: a loopback port that refuses connections, for the
 * tests of what a cell says when nothing answers (test_workloads.c,
 * test_epoll.c). */
#ifndef GREEN_TEST_CLOSED_PORT_H
#define GREEN_TEST_CLOSED_PORT_H

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Bound, never listening, so connect is refused: its port number. The
 * socket goes to *fd_out; keep it open while the port must stay taken. */
static inline int closed_port(int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

#endif
