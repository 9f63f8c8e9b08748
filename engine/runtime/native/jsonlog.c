/* The json-file log as Docker writes it: entries, escaping, rotation (byte for byte the test oracle's
 * JsonFileLog, tests/support/monitor_oracle.py). */
#include "native.h"

static const char *STREAMS[2] = {"stdout", "stderr"};

/* Length of the valid UTF-8 sequence at p, or of the maximal invalid subpart (returned negated): Python's
 * "replace" error handler turns each maximal subpart of an ill-formed sequence into one U+FFFD. */
static int utf8_seq(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    int need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the first continuation byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else
        return -1;
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n)
            return -i; /* truncated at the end: the whole prefix is one subpart */
        unsigned char b = p[i];
        bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok)
            return -i;
    }
    return need + 1;
}

/* json.dumps(..., ensure_ascii=False) of a str: quote, backslash and the C0 controls escaped. */
static void json_escape_utf8(buf_t *out, const unsigned char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < n) {
        int len = utf8_seq(p + i, n - i);
        if (len < 0) {
            buf_put(out, "\xEF\xBF\xBD", 3);
            i += (size_t)-len;
            continue;
        }
        if (len > 1) {
            buf_put(out, p + i, (size_t)len);
            i += (size_t)len;
            continue;
        }
        unsigned char c = p[i++];
        switch (c) {
        case '"': buf_put(out, "\\\"", 2); break;
        case '\\': buf_put(out, "\\\\", 2); break;
        case '\n': buf_put(out, "\\n", 2); break;
        case '\r': buf_put(out, "\\r", 2); break;
        case '\t': buf_put(out, "\\t", 2); break;
        case '\b': buf_put(out, "\\b", 2); break;
        case '\f': buf_put(out, "\\f", 2); break;
        default:
            if (c < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                buf_put(out, e, 6);
            } else
                buf_put(out, &c, 1);
        }
    }
}

static bool path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void jlog_rotate(jlog_t *lg) {
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
    close(lg->fd);
    if (lg->max_file > 1) {
        size_t n = strlen(lg->path) + 24;
        char *older = xmalloc(n), *newer = xmalloc(n);
        for (int i = lg->max_file - 1; i >= 1; i--) {
            snprintf(older, n, "%s.%d", lg->path, i);
            if (i == 1)
                snprintf(newer, n, "%s", lg->path);
            else
                snprintf(newer, n, "%s.%d", lg->path, i - 1);
            if (path_exists(newer) && rename(newer, older) != 0)
                warn("rotate %s: %s", newer, strerror(errno));
        }
        free(older);
        free(newer);
    } else
        flags |= O_TRUNC;
    lg->fd = open(lg->path, flags, 0640);
    if (lg->fd < 0)
        warn("open %s: %s", lg->path, strerror(errno));
    lg->size = 0;
}

static void jlog_entry(jlog_t *lg, int stream, const char *line, size_t n) {
    buf_t rec = {0};
    char stamp[40];
    buf_str(&rec, "{\"log\": \"");
    json_escape_utf8(&rec, (const unsigned char *)line, n);
    buf_str(&rec, "\", \"stream\": \"");
    buf_str(&rec, STREAMS[stream]);
    buf_str(&rec, "\", \"time\": \"");
    rfc3339nano(stamp);
    buf_str(&rec, stamp);
    buf_str(&rec, "\"}\n");
    if (lg->max_size > 0 && lg->size + (long long)rec.len > lg->max_size && lg->size > 0)
        jlog_rotate(lg);
    if (lg->fd >= 0 && !write_all(lg->fd, rec.p, rec.len))
        warn("write %s: %s", lg->path, strerror(errno));
    lg->size += (long long)rec.len;
    free(rec.p);
}

/* whole lines become entries; a newline-less run reaching MAX_LINE is cut there. */
void jlog_write(jlog_t *lg, int stream, const char *data, size_t n) {
    buf_t *pend = &lg->pending[stream];
    buf_put(pend, data, n);
    size_t start = 0;
    for (;;) {
        const char *base = pend->p + start;
        size_t left = pend->len - start;
        const char *nl = left ? memchr(base, '\n', left) : NULL;
        size_t cut;
        if (nl == NULL) {
            if (left < MAX_LINE)
                break;
            cut = MAX_LINE;
        } else
            cut = (size_t)(nl - base) + 1;
        jlog_entry(lg, stream, base, cut);
        start += cut;
    }
    memmove(pend->p, pend->p + start, pend->len - start);
    pend->len -= start;
}

void jlog_flush(jlog_t *lg) {
    for (int s = 0; s < 2; s++) {
        if (lg->pending[s].len) {
            jlog_entry(lg, s, lg->pending[s].p, lg->pending[s].len);
            lg->pending[s].len = 0;
        }
    }
}

bool jlog_open(jlog_t *lg) {
    struct stat st;
    lg->fd = open(lg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (lg->fd < 0 || fstat(lg->fd, &st) != 0) {
        warn("open %s: %s", lg->path, strerror(errno));
        return false;
    }
    lg->size = st.st_size;
    return true;
}
