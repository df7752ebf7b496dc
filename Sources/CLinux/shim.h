/* Linux APIs that Swift's Glibc module hides because it is built without _GNU_SOURCE. */
#ifndef RELYD_CLINUX_SHIM_H
#define RELYD_CLINUX_SHIM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
/* Same layout as glibc's struct ucred, which needs _GNU_SOURCE. */
struct relyd_ucred { pid_t pid; uid_t uid; gid_t gid; };
#include <pthread.h>
int pthread_setname_np(pthread_t thread, const char *name);
#include <sched.h>
int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask);
int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t *mask);
int sched_getcpu(void);
#endif
