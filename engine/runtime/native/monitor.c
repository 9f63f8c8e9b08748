/* The container monitor: the one program that serves a running container (or exec) for the engine.
 *
 * The Python monitor (engine/runtime/monitor.py) starts the container's process (namespaces, cgroup, pty,
 * runc...), answers the daemon, then execve()s this program. execve keeps the pid, the children and the
 * descriptors passed to us, so we are still the parent of the container's init and hold its stdio:
 *   - attach socket: one JSON request line, {"stdout","stderr","stdin"} flags or {"resize": [h, w]}
 *     (answered "{}\n"); output framed with Docker's stdcopy header unless a TTY; client half-close
 *     = stdin EOF for the container (not for a TTY, as in Docker);
 *   - the hold buffer (attach-before-start, execs): output kept for the first client, up to HOLD_LIMIT;
 *     after the exit we wait HOLD_WAIT (EXEC_WAIT for an exec) for that client;
 *   - the json-file log, as Docker's (json.dumps escaping with ensure_ascii=False of the line decoded as
 *     UTF-8 with U+FFFD replacement, rotation by size/count);
 *   - status.json, written atomically (tmp + rename) as state.write_status does; not fsynced: it lives in
 *     the exec root (tmpfs in production, emptied by a reboot), only the daemon's death must not tear it.
 * tests/support/monitor_oracle.py is this program again in Python: tests run both on the same scenarios
 * and compare what clients, the log and status.json saw.
 *
 * Arguments are key=value words (see parse_args); the Python side builds them (native/handoff.py).
 * Single-threaded: one epoll loop over the outputs, the listener, clients and a pidfd of the process. */
#include "native.h"

/* ---------- the monitor ---------- */

enum kind { K_OUT, K_LISTEN, K_EXIT, K_PENDING, K_CLIENT };

typedef struct { /* what an epoll event points at */
    enum kind kind;
    int fd;
} tag_t;

typedef struct conn {
    tag_t tag;
    buf_t req;                   /* K_PENDING: the request line so far */
    bool want[2], in, reading;   /* K_CLIENT */
    bool dead;                   /* dropped: freed after the current batch of events */
    struct conn *next;           /* clients list, or the graveyard */
} conn_t;

typedef struct chunk {
    int stream;
    size_t len;
    struct chunk *next;
    char data[];
} chunk_t;

static struct {
    int ep;
    pid_t pid;
    bool tty, exec_mode;
    tag_t out[2]; /* stdout/stderr (a TTY: only stdout, the pty master); fd -1 when closed */
    tag_t listener, exit;
    int stdin_fd;
    int master; /* a TTY's pty master, for resize; -1 if none */
    jlog_t log;
    bool logging;
    bool holding, served;
    chunk_t *hold, **hold_tail;
    long held;
    conn_t *clients, *graveyard;
    const char *sock_path, *status_path, *started_at, *comm;
    ino_t sock_ino;
    const char *oom; /* "v2:<dir>" or "v1:<memory dir>"; NULL: not asked (execs) */
    const char *runc, *runc_root, *cid;
} M = {.stdin_fd = -1, .master = -1, .out = {{K_OUT, -1}, {K_OUT, -1}}, .listener = {K_LISTEN, -1}, .exit = {K_EXIT, -1}};

static void ep_add(int fd, void *ptr) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ptr};
    if (epoll_ctl(M.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        warn("epoll add fd=%d: %s", fd, strerror(errno));
}

static void ep_del(int fd) { epoll_ctl(M.ep, EPOLL_CTL_DEL, fd, NULL); }

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void drop(conn_t *c) {
    if (c->dead)
        return;
    for (conn_t **pp = &M.clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->tag.kind == K_PENDING || c->reading)
        ep_del(c->tag.fd);
    shutdown(c->tag.fd, SHUT_RDWR);
    close(c->tag.fd);
    c->dead = true;
    c->next = M.graveyard;
    M.graveyard = c;
}

/* sendall with one deadline for the whole payload (Python's socket timeout semantics). */
static bool send_all(int fd, const char *p, size_t n) {
    long deadline = now_ms() + SEND_TIMEOUT_MS;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return false;
        long left = deadline - now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return false;
    }
    return true;
}

static void send_to(conn_t *c, int stream, const char *data, size_t n) {
    static char framed[8 + READ_SIZE];
    if (c->dead || !c->want[stream])
        return;
    bool ok;
    if (M.tty)
        ok = send_all(c->tag.fd, data, n);
    else {
        /* stdcopy: stream id, 3 zero bytes, big-endian length; one send as monitor.frame() builds it
         * (n never exceeds one read, READ_SIZE; a larger one would go as header, then payload) */
        char *head = framed;
        head[0] = (char)(stream + 1);
        head[1] = head[2] = head[3] = 0;
        head[4] = (char)(n >> 24);
        head[5] = (char)(n >> 16);
        head[6] = (char)(n >> 8);
        head[7] = (char)n;
        if (n <= READ_SIZE) {
            memcpy(framed + 8, data, n);
            ok = send_all(c->tag.fd, framed, n + 8);
        } else
            ok = send_all(c->tag.fd, head, 8) && send_all(c->tag.fd, data, n);
    }
    if (!ok)
        drop(c);
}

static void emit(int stream, const char *data, size_t n) {
    if (M.logging)
        jlog_write(&M.log, stream, data, n);
    if (M.holding && M.held < HOLD_LIMIT) {
        chunk_t *ch = xmalloc(sizeof *ch + n);
        ch->stream = stream;
        ch->len = n;
        ch->next = NULL;
        memcpy(ch->data, data, n);
        *M.hold_tail = ch;
        M.hold_tail = &ch->next;
        M.held += (long)n;
    }
    conn_t *next;
    for (conn_t *c = M.clients; c; c = next) {
        next = c->next;
        send_to(c, stream, data, n);
    }
}

static void close_output(int s) {
    ep_del(M.out[s].fd);
    if (M.out[s].fd != M.stdin_fd) /* a TTY's master is also its stdin */
        close(M.out[s].fd);
    M.out[s].fd = -1;
}

static void read_output(int s) {
    static char data[READ_SIZE];
    ssize_t n = read(M.out[s].fd, data, sizeof data);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) { /* EOF, or EIO: the pty's last slave closed */
        close_output(s);
        return;
    }
    emit(s, data, (size_t)n);
}

/* After the exit: what is still in the pipes, without waiting on a straggler that holds them open. */
static void drain(void) {
    static char data[READ_SIZE];
    for (int s = 0; s < 2; s++) {
        while (M.out[s].fd >= 0) {
            ssize_t n = read(M.out[s].fd, data, sizeof data);
            if (n <= 0)
                break;
            emit(s, data, (size_t)n);
        }
    }
}

static void accept_client(void) {
    int fd = accept4(M.listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    conn_t *c = xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->tag.kind = K_PENDING;
    c->tag.fd = fd;
    ep_add(fd, c);
}

static void write_stdin(conn_t *c, const char *data, size_t n) {
    if (c->in && M.stdin_fd >= 0) {
        ssize_t w = write(M.stdin_fd, data, n); /* one write, errors ignored */
        (void)w;
    }
}

static void request(conn_t *c) {
    char chunk[4096];
    ssize_t n = recv(c->tag.fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n > 0)
        buf_put(&c->req, chunk, (size_t)n);
    char *nl = c->req.len ? memchr(c->req.p, '\n', c->req.len) : NULL;
    if (nl == NULL) {
        if (n <= 0 || c->req.len > MAX_REQUEST)
            drop(c);
        return;
    }
    request_t req;
    size_t line = (size_t)(nl - c->req.p);
    if (!parse_request(c->req.p, line, &req)) {
        drop(c);
        return;
    }
    if (req.resize) {
        if (M.master >= 0) {
            struct winsize ws = {.ws_row = (unsigned short)req.height, .ws_col = (unsigned short)req.width};
            ioctl(M.master, TIOCSWINSZ, &ws);
        }
        send_all(c->tag.fd, "{}\n", 3);
        drop(c);
        return;
    }
    ep_del(c->tag.fd);
    c->tag.kind = K_CLIENT;
    c->want[0] = req.out;
    c->want[1] = req.err;
    c->in = req.in;
    c->reading = true;
    if (M.holding && !M.served && (req.out || req.err)) {
        M.served = true;
        M.holding = false;
        chunk_t *next;
        for (chunk_t *ch = M.hold; ch; ch = next) {
            next = ch->next;
            send_to(c, ch->stream, ch->data, ch->len);
            free(ch);
        }
        M.hold = NULL;
        if (c->dead)
            return;
    }
    c->next = M.clients;
    M.clients = c;
    ep_add(c->tag.fd, c);
    if (c->req.len > line + 1)
        write_stdin(c, nl + 1, c->req.len - line - 1);
    free(c->req.p);
    c->req = (buf_t){0};
}

static void client_input(conn_t *c) {
    static char data[READ_SIZE];
    ssize_t n = recv(c->tag.fd, data, sizeof data, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        write_stdin(c, data, (size_t)n);
        return;
    }
    /* Half-close from the client: stdin EOF for the container (a pty gets no EOF, as in Docker). */
    ep_del(c->tag.fd);
    c->reading = false;
    if (c->in && M.stdin_fd >= 0 && !M.tty) {
        close(M.stdin_fd);
        M.stdin_fd = -1;
    }
}

/* Cgroup.oom_killed: v2 memory.events oom_kill; v1 memory.oom_control oom_kill, else memory.failcnt. */
static long long kv_get(const char *path, const char *key, bool *found) {
    char line[256];
    long long value = 0;
    *found = false;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f)) {
        char k[128];
        long long v;
        char extra;
        if (sscanf(line, "%127s %lld %c", k, &v, &extra) == 2 && strcmp(k, key) == 0) {
            value = v;
            *found = true;
        }
    }
    fclose(f);
    return value;
}

static bool oom_killed(void) {
    if (M.oom == NULL || strlen(M.oom) < 4)
        return false;
    const char *dir = M.oom + 3;
    char path[4096];
    bool found;
    if (strncmp(M.oom, "v2:", 3) == 0) {
        snprintf(path, sizeof path, "%s/memory.events", dir);
        return kv_get(path, "oom_kill", &found) > 0;
    }
    snprintf(path, sizeof path, "%s/memory.oom_control", dir);
    long long v = kv_get(path, "oom_kill", &found);
    if (found)
        return v > 0;
    snprintf(path, sizeof path, "%s/memory.failcnt", dir);
    FILE *f = fopen(path, "re");
    long long failcnt = 0;
    if (f != NULL) {
        if (fscanf(f, "%lld", &failcnt) != 1)
            failcnt = 0;
        fclose(f);
    }
    return failcnt > 0;
}

static void runc_delete(void) {
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execl(M.runc, M.runc, "--root", M.runc_root, "delete", "--force", M.cid, (char *)NULL);
        _exit(127);
    }
    if (child > 0)
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
        }
}

static void json_ascii(buf_t *b, const char *s) { /* json.dumps default (ensure_ascii=True) of an ASCII str */
    static const char hex[] = "0123456789abcdef";
    buf_str(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_put(b, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_put(b, e, 6);
        } else
            buf_put(b, &c, 1);
    }
    buf_str(b, "\"");
}

/* state.write_status via util.atomic.atomic_write_json: sorted keys, compact separators. */
static void write_status(int exit_code, bool oom) {
    buf_t b = {0};
    char num[256], finished[40];
    rfc3339nano(finished);
    buf_str(&b, "{\"error\":\"\",\"exit_code\":");
    snprintf(num, sizeof num, "%d", exit_code);
    buf_str(&b, num);
    buf_str(&b, ",\"finished_at\":");
    json_ascii(&b, finished);
    snprintf(num, sizeof num, ",\"monitor_pid\":%d,\"oom_killed\":%s,\"pid\":%d,\"started_at\":", (int)getpid(),
             oom ? "true" : "false", (int)M.pid);
    buf_str(&b, num);
    json_ascii(&b, M.started_at);
    buf_str(&b, ",\"status\":\"exited\"}");

    /* the temp name beside the target, as atomic_write_bytes: .<name>.tmp-<pid> */
    const char *slash = strrchr(M.status_path, '/');
    char *dir = NULL, *tmp = NULL;
    int dirlen = slash ? (int)(slash - M.status_path) : 1;
    if (asprintf(&dir, "%.*s", dirlen, slash ? M.status_path : ".") < 0 ||
        asprintf(&tmp, "%s/.%s.tmp-%d", dir, slash ? slash + 1 : M.status_path, (int)getpid()) < 0) {
        warn("out of memory");
        exit(1);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, b.p, b.len);
    if (fd >= 0)
        close(fd);
    free(b.p);
    if (!ok || rename(tmp, M.status_path) != 0) {
        warn("record exit %s: %s", M.status_path, strerror(errno));
        unlink(tmp);
        free(tmp);
        free(dir);
        return;
    }
    free(tmp);
    free(dir);
}

static int reap(void) {
    int status = 0;
    while (waitpid(M.pid, &status, 0) < 0) {
        if (errno != EINTR) {
            warn("waitpid %d: %s", (int)M.pid, strerror(errno));
            return 128;
        }
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 128;
}

static void record_exit(int code) {
    if (M.logging)
        jlog_flush(&M.log);
    bool oom = M.exec_mode ? false : oom_killed();
    if (M.runc != NULL && !M.exec_mode)
        runc_delete();
    write_status(code, oom);
}

static int serve(void) {
    struct epoll_event events[64];
    bool exited = false;
    long deadline = 0;
    for (int s = 0; s < 2; s++)
        if (M.out[s].fd >= 0) {
            set_nonblock(M.out[s].fd);
            ep_add(M.out[s].fd, &M.out[s]);
        }
    set_nonblock(M.listener.fd);
    ep_add(M.listener.fd, &M.listener);
    ep_add(M.exit.fd, &M.exit);
    for (;;) {
        int timeout = -1;
        if (exited) {
            long left = deadline - now_ms();
            timeout = left > 0 ? (int)left : 0;
            if (M.served || timeout == 0)
                break;
        }
        int n = epoll_wait(M.ep, events, 64, timeout);
        if (n < 0 && errno != EINTR) {
            warn("epoll_wait: %s", strerror(errno));
            exit(1);
        }
        for (int i = 0; i < n; i++) {
            tag_t *tag = events[i].data.ptr;
            switch (tag->kind) {
            case K_OUT:
                if (tag->fd >= 0)
                    read_output(tag == &M.out[0] ? 0 : 1);
                break;
            case K_LISTEN:
                accept_client();
                break;
            case K_EXIT:
                if (exited)
                    break;
                exited = true;
                int code = reap();
                drain();
                ep_del(M.exit.fd);
                close(M.exit.fd);
                record_exit(code);
                deadline = now_ms() + (M.holding ? (M.exec_mode ? EXEC_WAIT_MS : HOLD_WAIT_MS) : 0);
                break;
            case K_PENDING:
            case K_CLIENT: {
                conn_t *c = (conn_t *)tag;
                if (c->dead)
                    break;
                if (tag->kind == K_PENDING)
                    request(c);
                else
                    client_input(c);
                break;
            }
            }
        }
        while (M.graveyard) { /* nothing in this batch points at them any more */
            conn_t *c = M.graveyard;
            M.graveyard = c->next;
            free(c->req.p);
            free(c);
        }
    }
    while (M.clients)
        drop(M.clients);
    return 0;
}

static void usage(const char *word) {
    warn("bad argument: %s", word);
    exit(2);
}

static void parse_args(int argc, char **argv, bool serving) {
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL)
            usage(argv[i]);
        /* the key copied out: argv stays intact, so /proc/<pid>/cmdline reads as it was passed */
        char k[32];
        snprintf(k, sizeof k, "%.*s", (int)(eq - argv[i]), argv[i]);
        const char *v = eq + 1;
        if (!strcmp(k, "pid"))
            M.pid = (pid_t)atoi(v);
        else if (!strcmp(k, "listen"))
            M.listener.fd = atoi(v);
        else if (!strcmp(k, "stdout"))
            M.out[0].fd = atoi(v);
        else if (!strcmp(k, "stderr"))
            M.out[1].fd = atoi(v);
        else if (!strcmp(k, "stdin"))
            M.stdin_fd = atoi(v);
        else if (!strcmp(k, "master"))
            M.master = atoi(v);
        else if (!strcmp(k, "tty"))
            M.tty = atoi(v) != 0;
        else if (!strcmp(k, "exec"))
            M.exec_mode = atoi(v) != 0;
        else if (!strcmp(k, "hold"))
            M.holding = atoi(v) != 0;
        else if (!strcmp(k, "log")) {
            M.log.path = v;
            M.logging = *v != 0;
        } else if (!strcmp(k, "log-max-size"))
            M.log.max_size = atoll(v);
        else if (!strcmp(k, "log-max-file"))
            M.log.max_file = atoi(v);
        else if (!strcmp(k, "status"))
            M.status_path = v;
        else if (!strcmp(k, "started"))
            M.started_at = v;
        else if (!strcmp(k, "sock"))
            M.sock_path = v;
        else if (!strcmp(k, "sock-ino"))
            M.sock_ino = (ino_t)strtoull(v, NULL, 10);
        else if (!strcmp(k, "oom"))
            M.oom = v;
        else if (!strcmp(k, "comm"))
            M.comm = v;
        else if (!strcmp(k, "runc"))
            M.runc = v;
        else if (!strcmp(k, "runc-root"))
            M.runc_root = v;
        else if (!strcmp(k, "id"))
            M.cid = v;
        else
            usage(k);
    }
    if (serving && (M.pid <= 0 || M.listener.fd < 0 || M.status_path == NULL || M.started_at == NULL))
        usage("pid, listen, status and started are required");
    if (M.runc != NULL && (M.runc_root == NULL || M.cid == NULL))
        usage("runc needs runc-root and id");
    if (M.log.max_file < 1)
        M.log.max_file = 1;
    if (M.log.max_size == 0)
        M.log.max_size = -1;
}

/* `log-replay log=<path> ...`: feed the json-file writer from stdin records (stream byte 0/1, 4-byte
 * big-endian length, data) and flush at EOF. Tests write the same chunks through the oracle's JsonFileLog and
 * compare the files; it is also a handy way to see what the writer does with odd bytes. */
static int log_replay(void) {
    unsigned char head[5];
    if (!M.logging || !jlog_open(&M.log))
        return 1;
    for (;;) {
        ssize_t n = read(0, head, 5);
        if (n == 0)
            break;
        if (n != 5)
            return 1;
        size_t len = (size_t)head[1] << 24 | (size_t)head[2] << 16 | (size_t)head[3] << 8 | head[4];
        char *data = xmalloc(len);
        size_t got = 0;
        while (got < len) {
            ssize_t r = read(0, data + got, len - got);
            if (r <= 0)
                return 1;
            got += (size_t)r;
        }
        jlog_write(&M.log, head[0] ? 1 : 0, data, len);
        free(data);
    }
    jlog_flush(&M.log);
    return close(M.log.fd) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "log-replay") == 0) {
        parse_args(argc - 1, argv + 1, false);
        return log_replay();
    }
    parse_args(argc, argv, true);
    if (M.comm != NULL)
        prctl(PR_SET_NAME, M.comm, 0, 0, 0); /* what `ps -o comm` shows: cmon-<id> */
    signal(SIGPIPE, SIG_IGN);
    M.hold_tail = &M.hold;
    M.ep = epoll_create1(EPOLL_CLOEXEC);
    M.exit.fd = (int)syscall(SYS_pidfd_open, M.pid, 0);
    if (M.ep < 0 || M.exit.fd < 0) {
        warn("epoll/pidfd_open pid=%d: %s", (int)M.pid, strerror(errno));
        return 1;
    }
    if (M.logging && !jlog_open(&M.log))
        M.logging = false;
    serve();
    close(M.listener.fd);
    struct stat st;
    if (M.sock_path != NULL && stat(M.sock_path, &st) == 0 && st.st_ino == M.sock_ino)
        unlink(M.sock_path); /* a restarted container's new monitor may already have bound this path */
    if (M.logging) {
        jlog_flush(&M.log);
        close(M.log.fd);
    }
    return 0;
}
