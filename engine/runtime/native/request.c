/* A minimal JSON reader for the one-line attach request. */
#include "native.h"

typedef struct {
    const char *p, *end;
} jcur_t;

static void jws(jcur_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skips one JSON string; *empty says whether it was "". */
static bool jstring(jcur_t *c, const char **start, size_t *len) {
    if (c->p >= c->end || *c->p != '"')
        return false;
    const char *s = ++c->p;
    while (c->p < c->end && *c->p != '"') {
        if ((unsigned char)*c->p < 0x20)
            return false;
        if (*c->p == '\\')
            c->p++;
        c->p++;
    }
    if (c->p >= c->end)
        return false;
    *start = s;
    *len = (size_t)(c->p - s);
    c->p++;
    return true;
}

/* Parses any JSON value; *truthy is Python's bool() of it, *num its value if a number. */
static bool jvalue(jcur_t *c, bool *truthy, double *num, int depth) {
    const char *s;
    size_t n;
    bool t;
    double d;
    jws(c);
    if (c->p >= c->end || depth > 32)
        return false;
    char ch = *c->p;
    *num = 0;
    if (ch == '"') {
        if (!jstring(c, &s, &n))
            return false;
        *truthy = n > 0;
        return true;
    }
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        int items = 0;
        c->p++;
        jws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            *truthy = false;
            return true;
        }
        for (;;) {
            if (ch == '{') {
                jws(c);
                if (!jstring(c, &s, &n))
                    return false;
                jws(c);
                if (c->p >= c->end || *c->p != ':')
                    return false;
                c->p++;
            }
            if (!jvalue(c, &t, &d, depth + 1))
                return false;
            items++;
            jws(c);
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == close) {
                c->p++;
                *truthy = items > 0;
                return true;
            }
            return false;
        }
    }
    static const struct {
        const char *word;
        bool truthy;
    } words[] = {{"true", true}, {"false", false}, {"null", false}};
    for (size_t i = 0; i < 3; i++) {
        size_t wl = strlen(words[i].word);
        if ((size_t)(c->end - c->p) >= wl && memcmp(c->p, words[i].word, wl) == 0) {
            c->p += wl;
            *truthy = words[i].truthy;
            return true;
        }
    }
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        char tmp[64];
        size_t k = 0;
        while (c->p < c->end && k < sizeof tmp - 1 && strchr("+-0123456789.eE", *c->p))
            tmp[k++] = *c->p++;
        tmp[k] = 0;
        char *endp;
        *num = strtod(tmp, &endp);
        if (*endp)
            return false;
        *truthy = *num != 0;
        return true;
    }
    return false;
}

/* The attach request: a JSON object; false if it is not one. */
bool parse_request(const char *line, size_t n, request_t *req) {
    jcur_t c = {line, line + n};
    memset(req, 0, sizeof *req);
    jws(&c);
    if (c.p >= c.end || *c.p != '{')
        return false;
    c.p++;
    jws(&c);
    if (c.p < c.end && *c.p == '}')
        c.p++;
    else
        for (;;) {
            const char *key;
            size_t klen;
            bool t;
            double d;
            jws(&c);
            if (!jstring(&c, &key, &klen))
                return false;
            jws(&c);
            if (c.p >= c.end || *c.p != ':')
                return false;
            c.p++;
            jws(&c);
            if (klen == 6 && memcmp(key, "resize", 6) == 0 && c.p < c.end && *c.p == '[') {
                /* [height, width] */
                double hw[2] = {0, 0};
                int k = 0;
                c.p++;
                for (;;) {
                    if (!jvalue(&c, &t, &d, 1))
                        return false;
                    if (k < 2)
                        hw[k] = d;
                    k++;
                    jws(&c);
                    if (c.p < c.end && *c.p == ',') {
                        c.p++;
                        continue;
                    }
                    if (c.p < c.end && *c.p == ']') {
                        c.p++;
                        break;
                    }
                    return false;
                }
                req->resize = k >= 2;
                req->height = (int)hw[0];
                req->width = (int)hw[1];
            } else {
                if (!jvalue(&c, &t, &d, 1))
                    return false;
                if (klen == 6 && memcmp(key, "stdout", 6) == 0)
                    req->out = t;
                else if (klen == 6 && memcmp(key, "stderr", 6) == 0)
                    req->err = t;
                else if (klen == 5 && memcmp(key, "stdin", 5) == 0)
                    req->in = t;
            }
            jws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            return false;
        }
    jws(&c);
    return c.p == c.end;
}
