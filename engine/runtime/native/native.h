/* Shared by the native monitor's files (see monitor.c for what the program does). */
#ifndef COMPOSER_NATIVE_MONITOR_H
#define COMPOSER_NATIVE_MONITOR_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The monitor's numbers, defined here only (the Python test oracle, tests/support/monitor_oracle.py,
 * reads them from this file). */
#define HOLD_LIMIT (4L * 1024 * 1024) /* output kept for the first attach client (attach-before-start, execs) */
#define HOLD_WAIT_MS 10000L /* after the exit, how long a held container's output waits for that client */
#define EXEC_WAIT_MS 30000L /* the same for an exec */
#define SEND_TIMEOUT_MS 10000L /* a send to an attach client blocks at most this long, then it is dropped */
#define READ_SIZE 65536 /* one read of the container's output (and so the largest stdcopy frame we send) */
#define MAX_REQUEST 65536 /* an attach request line longer than this closes the connection */
#define MAX_LINE 16384 /* Docker's json-file cut: longer output without a newline is split into entries */


/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

typedef struct {
    const char *path;
    long long max_size; /* -1: unlimited */
    int max_file;
    int fd;
    long long size;
    buf_t pending[2]; /* stdout, stderr: the partial line held back */
} jlog_t;

typedef struct {
    bool out, err, in, resize;
    int height, width;
} request_t;

/* util.c */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
long now_ms(void);
void rfc3339nano(char out[40]);
void buf_put(buf_t *b, const void *data, size_t n);
void buf_str(buf_t *b, const char *s);
bool write_all(int fd, const char *p, size_t n);

/* jsonlog.c: the json-file log */
bool jlog_open(jlog_t *lg);
void jlog_write(jlog_t *lg, int stream, const char *data, size_t n);
void jlog_flush(jlog_t *lg);

/* request.c: the one-line JSON request on the attach socket */
bool parse_request(const char *line, size_t n, request_t *req);

#endif
