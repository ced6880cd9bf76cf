#ifndef SOOT_CEVENTPOLL_SHIM_H
#define SOOT_CEVENTPOLL_SHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/// accept4 with close-on-exec and non-blocking set atomically.
static inline int soot_accept_nonblocking(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static inline int soot_socket_nonblocking(int domain, int type, int protocol) {
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

static inline int soot_errno(void) { return errno; }

#include <pthread.h>
#include <time.h>
/* GNU extensions, declared here because the C library hides them without _GNU_SOURCE. */
extern int pthread_setname_np(pthread_t thread, const char *name);
extern char *strptime(const char *s, const char *format, struct tm *tm);

static inline ssize_t soot_send_nosignal(int fd, const void *buf, size_t len) {
    return send(fd, buf, len, MSG_NOSIGNAL);
}

static inline ssize_t soot_sendmsg_iov_nosignal(int fd, const struct iovec *iov, int count) {
    struct msghdr msg = {0};
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)count;
    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

static inline uint32_t soot_epollin(void) { return EPOLLIN; }
static inline uint32_t soot_epollout(void) { return EPOLLOUT; }
static inline uint32_t soot_epollet(void) { return EPOLLET; }
static inline uint32_t soot_epollrdhup(void) { return EPOLLRDHUP; }
static inline uint32_t soot_epollerr(void) { return EPOLLERR; }
static inline uint32_t soot_epollhup(void) { return EPOLLHUP; }
static inline uint32_t soot_epollexclusive(void) { return EPOLLEXCLUSIVE; }

/// Ignores SIGPIPE for the whole process: writes to a closed peer then fail with EPIPE.
static inline void soot_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

#endif
