#ifndef CLINUX_SHIM_H
#define CLINUX_SHIM_H

// Linux interfaces that Swift's Glibc module does not include.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>

// The SO_PEERCRED result. glibc declares `struct ucred` only under _GNU_SOURCE, which Swift's Glibc module is
// not built with; this has the same layout (socket(7)).
typedef struct {
    pid_t pid;
    uid_t uid;
    gid_t gid;
} clinux_peer_credentials;

// A descriptor that becomes readable when the process exits (glibc 2.36+). Declared here rather than by including
// <sys/pidfd.h>: that header pulls in <fcntl.h>, whose `struct stat` would then belong to this module instead of
// Glibc, and every file that uses `stat` would have to import CLinux.
int pidfd_open(pid_t pid, unsigned int flags);

// accept(2) with flags for the new descriptor (SOCK_NONBLOCK, SOCK_CLOEXEC); glibc declares it only under
// _GNU_SOURCE.
int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

// pipe(2) with flags for both ends (O_CLOEXEC, so that no other child spawned meanwhile inherits them);
// glibc declares it only under _GNU_SOURCE.
int pipe2(int fds[2], int flags);

#endif
