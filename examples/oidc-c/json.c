/*
 * json.c: the JSON reader and writer of the oidc-c plugin (see json.h).
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* arena                                                               */
/* ------------------------------------------------------------------ */

struct arena_block {
    arena_block *next;
    size_t size, used; /* bytes of data, bytes handed out */
    /* data follows, 8-aligned (the header is 16 bytes on wasm32) */
};

#define ARENA_BLOCK (64 * 1024)
#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

static char *block_data(arena_block *b) { return (char *)b + ALIGN8(sizeof *b); }

void *arena_alloc(arena *a, size_t n) {
    n = ALIGN8(n ? n : 1);
    arena_block *b = a->head;
    if (b && b->size - b->used >= n) {
        void *p = block_data(b) + b->used;
        b->used += n;
        return p;
    }
    if (n > (size_t)-1 - ALIGN8(sizeof *b) - ARENA_BLOCK)
        return NULL; /* would overflow size_t */
    /* A large request gets a block of its own, put behind the current one
       so that the current block's free space stays in use. */
    int own = n > ARENA_BLOCK / 4;
    size_t size = own ? n : ARENA_BLOCK;
    arena_block *nb = malloc(ALIGN8(sizeof *nb) + size);
    if (!nb)
        return NULL;
    nb->size = size;
    nb->used = n;
    if (own && b) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        a->head = nb;
    }
    return block_data(nb);
}

void arena_free(arena *a) {
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ------------------------------------------------------------------ */
/* growable buffers, for the parser's scratch space and for output     */
/* ------------------------------------------------------------------ */

/* grow makes room for need more elements of size sz in *buf; 0 when out of memory. */
static int grow(void **buf, size_t *cap, size_t len, size_t need, size_t sz) {
    if (*cap - len >= need)
        return 1;
    if (need > ((size_t)-1) / sz - len)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c - len < need) {
        if (c > ((size_t)-1) / sz / 2) {
            c = len + need;
            break;
        }
        c *= 2;
    }
    void *nb = realloc(*buf, c * sz);
    if (!nb)
        return 0;
    *buf = nb;
    *cap = c;
    return 1;
}

void jb_raw(json_buf *b, const char *s, size_t n) {
    if (b->failed)
        return;
    if (!grow((void **)&b->buf, &b->cap, b->len, n, 1)) {
        b->failed = 1;
        return;
    }
    if (n) memcpy(b->buf + b->len, s, n);
    b->len += n;
}

void jb_lit(json_buf *b, const char *s) { jb_raw(b, s, strlen(s)); }

static const char hexdigits[] = "0123456789abcdef";

/*
 * utf8_len returns the length of the valid UTF-8 sequence at s[0:n], or 0
 * when s does not start one: the rules of Go's utf8.DecodeRune (shortest
 * form only, no surrogates, nothing above U+10FFFF).
 */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3) return 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* surrogates */
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c < 0xF5) {
        if (n < 4) return 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/*
 * jb_string escapes as Go's json.Marshal does (HTML-safe): ", \ and control
 * characters, <, > and &, and U+2028 and U+2029; invalid UTF-8 becomes
 * \ufffd. Any JSON reader decodes it to the same value; matching Go byte for
 * byte just makes outputs easy to compare with the Go plugin's.
 */
void jb_string(json_buf *b, const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, start = 0; /* s[start:i] is pending, to copy as is */
    jb_raw(b, "\"", 1);
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            i++;
            continue;
        }
        size_t l = c < 0x80 ? 1 : utf8_len(s + i, n - i);
        if (l > 1 && !(l == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))) {
            i += l; /* valid multi-byte UTF-8 other than U+2028/U+2029 */
            continue;
        }
        jb_raw(b, (const char *)s + start, i - start);
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};
        switch (c) {
        case '"': jb_raw(b, "\\\"", 2); break;
        case '\\': jb_raw(b, "\\\\", 2); break;
        case '\b': jb_raw(b, "\\b", 2); break;
        case '\f': jb_raw(b, "\\f", 2); break;
        case '\n': jb_raw(b, "\\n", 2); break;
        case '\r': jb_raw(b, "\\r", 2); break;
        case '\t': jb_raw(b, "\\t", 2); break;
        default:
            if (c < 0x80) { /* control character, <, > or & */
                esc[4] = hexdigits[c >> 4];
                esc[5] = hexdigits[c & 15];
                jb_raw(b, esc, 6);
            } else if (l == 3) { /* U+2028 or U+2029 */
                jb_raw(b, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            } else { /* invalid UTF-8: one byte */
                l = 1;
                jb_raw(b, "\\ufffd", 6);
            }
        }
        i += c < 0x80 ? 1 : l;
        start = i;
    }
    jb_raw(b, (const char *)s + start, i - start);
    jb_raw(b, "\"", 1);
}

void jb_cstring(json_buf *b, const char *s) { jb_string(b, s, strlen(s)); }

/* ------------------------------------------------------------------ */
/* reader                                                              */
/* ------------------------------------------------------------------ */

#define MAX_DEPTH 10000 /* as Go's encoding/json */

typedef struct {
    int is_object;
    size_t start;  /* first of this container's entries in p->members or p->items */
    json_str key;  /* objects: the key of the member being read */
} frame;

typedef struct {
    arena *a;
    const unsigned char *doc;
    size_t len, pos;
    const char *err;

    frame *frames; /* the containers being read, innermost last */
    size_t depth, frames_cap;
    json_member *members; /* members of the open objects, in order */
    size_t members_len, members_cap;
    json_value **items; /* elements of the open arrays, in order */
    size_t items_len, items_cap;
    char *sb; /* the string being decoded */
    size_t sb_len, sb_cap;
} parser;

/* ---- error messages ---- */

/* msg_cat joins up to 5 NUL-terminated parts (NULL ends them early) in the arena. */
static const char *msg_cat(arena *a, const char *p0, const char *p1, const char *p2, const char *p3,
                           const char *p4) {
    const char *parts[5] = {p0, p1, p2, p3, p4};
    size_t lens[5] = {0}, total = 0;
    for (int i = 0; i < 5 && parts[i]; i++) {
        lens[i] = strlen(parts[i]);
        total += lens[i];
    }
    char *m = arena_alloc(a, total + 1);
    if (!m)
        return "out of memory";
    char *w = m;
    for (int i = 0; i < 5 && parts[i]; i++) {
        memcpy(w, parts[i], lens[i]);
        w += lens[i];
    }
    *w = 0;
    return m;
}

static void fail(parser *p, const char *msg) {
    if (!p->err)
        p->err = msg;
}

static void fail_oom(parser *p) { fail(p, "out of memory"); }

static void fail_eof(parser *p) { fail(p, "unexpected end of JSON input"); }

/*
 * quote_char writes byte c as Go's encoding/json quotes it in its syntax
 * errors: the byte taken as a rune (so 0xFF is 'ÿ'), as strconv.Quote
 * writes it, between single quotes. out needs 9 bytes.
 */
static void quote_char(unsigned c, char *out) {
    char *w = out;
    *w++ = '\'';
    if (c == '\'') {
        *w++ = '\\', *w++ = '\'';
    } else if (c == '\\') {
        *w++ = '\\', *w++ = '\\';
    } else if (c >= 0x20 && c < 0x7F) {
        *w++ = (char)c;
    } else if (c < 0x80) {
        const char *named = NULL;
        switch (c) {
        case 7: named = "\\a"; break;
        case 8: named = "\\b"; break;
        case 9: named = "\\t"; break;
        case 10: named = "\\n"; break;
        case 11: named = "\\v"; break;
        case 12: named = "\\f"; break;
        case 13: named = "\\r"; break;
        }
        if (named) {
            *w++ = named[0], *w++ = named[1];
        } else {
            *w++ = '\\', *w++ = 'x', *w++ = hexdigits[c >> 4], *w++ = hexdigits[c & 15];
        }
    } else if (c < 0xA0 || c == 0xA0 || c == 0xAD) {
        /* C1 controls, no-break space, soft hyphen: not printable for Go */
        *w++ = '\\', *w++ = 'u', *w++ = '0', *w++ = '0';
        *w++ = hexdigits[c >> 4], *w++ = hexdigits[c & 15];
    } else { /* U+00A1..U+00FF in UTF-8 */
        *w++ = (char)(0xC0 | c >> 6), *w++ = (char)(0x80 | (c & 0x3F));
    }
    *w++ = '\'';
    *w = 0;
}

static void utoa(size_t v, char *out) { /* out needs 21 bytes */
    char tmp[21];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *out++ = tmp[--n];
    *out = 0;
}

/* fail_char reports the byte at offset at: invalid character 'c' <context> at offset N. */
static void fail_char(parser *p, size_t at, const char *context) {
    char q[9], off[21];
    quote_char(p->doc[at], q);
    utoa(at, off);
    const char *m = msg_cat(p->a, "invalid character ", q, " ", context, " at offset ");
    fail(p, msg_cat(p->a, m, off, NULL, NULL, NULL));
}

/* ---- values ---- */

/* Scalars other than strings carry nothing the plugin reads, so every
   null, true, false and number is one of these: a document of a million
   numbers costs no tree memory. (A number's text is checked, not kept.) */
static json_value v_null = {JSON_NULL, {{0}}}, v_false = {JSON_FALSE, {{0}}},
                  v_true = {JSON_TRUE, {{0}}}, v_number = {JSON_NUMBER, {{0}}};

static json_value *new_value(parser *p, json_type t) {
    json_value *v = arena_alloc(p->a, sizeof *v);
    if (!v) {
        fail_oom(p);
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        unsigned c = p->doc[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static int hexval(unsigned c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* hex4 reads the 4 hex digits at doc[at:at+4] into *r; 0 when there are none. */
static int hex4(const parser *p, size_t at, unsigned *r) {
    if (at > p->len || p->len - at < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->doc[at + i]);
        if (h < 0)
            return 0;
        v = v << 4 | (unsigned)h;
    }
    *r = v;
    return 1;
}

static int sb_put(parser *p, const void *s, size_t n) {
    if (!grow((void **)&p->sb, &p->sb_cap, p->sb_len, n, 1)) {
        fail_oom(p);
        return 0;
    }
    memcpy(p->sb + p->sb_len, s, n);
    p->sb_len += n;
    return 1;
}

static int sb_rune(parser *p, unsigned r) {
    unsigned char u[4];
    size_t n;
    if (r < 0x80) {
        u[0] = (unsigned char)r, n = 1;
    } else if (r < 0x800) {
        u[0] = (unsigned char)(0xC0 | r >> 6), u[1] = (unsigned char)(0x80 | (r & 0x3F)), n = 2;
    } else if (r < 0x10000) {
        u[0] = (unsigned char)(0xE0 | r >> 12), u[1] = (unsigned char)(0x80 | (r >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (r & 0x3F)), n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | r >> 18), u[1] = (unsigned char)(0x80 | (r >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (r >> 6 & 0x3F)), u[3] = (unsigned char)(0x80 | (r & 0x3F)), n = 4;
    }
    return sb_put(p, u, n);
}

/* read_string decodes the string starting at the '"' at p->pos into *out. */
static int read_string(parser *p, json_str *out) {
    p->pos++; /* the opening quote */
    p->sb_len = 0;
    for (;;) {
        /* copy the run of plain bytes up to the next special one */
        size_t run = p->pos;
        while (run < p->len) {
            unsigned c = p->doc[run];
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
                break;
            run++;
        }
        if (run > p->pos && !sb_put(p, p->doc + p->pos, run - p->pos))
            return 0;
        p->pos = run;
        if (p->pos >= p->len) {
            fail_eof(p);
            return 0;
        }
        unsigned c = p->doc[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            fail_char(p, p->pos, "in string literal");
            return 0;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p->doc + p->pos, p->len - p->pos);
            if (l) {
                if (!sb_put(p, p->doc + p->pos, l)) return 0;
                p->pos += l;
            } else { /* as Go: each byte that starts no valid sequence is U+FFFD */
                if (!sb_rune(p, 0xFFFD)) return 0;
                p->pos++;
            }
            continue;
        }
        /* a backslash */
        p->pos++;
        if (p->pos >= p->len) {
            fail_eof(p);
            return 0;
        }
        unsigned e = p->doc[p->pos];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default:
            fail_char(p, p->pos, "in string escape code");
            return 0;
        }
        if (simple) {
            if (!sb_put(p, &simple, 1)) return 0;
            p->pos++;
            continue;
        }
        unsigned r;
        if (!hex4(p, p->pos + 1, &r)) {
            fail_char(p, p->pos, "in \\u hexadecimal character escape");
            return 0;
        }
        p->pos += 5;
        if (r >= 0xD800 && r < 0xDC00) {
            /* a high surrogate pairs only with an escaped low one right after */
            unsigned lo;
            if (p->len - p->pos >= 6 && p->doc[p->pos] == '\\' && p->doc[p->pos + 1] == 'u' &&
                hex4(p, p->pos + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                p->pos += 6;
            } else {
                r = 0xFFFD;
            }
        } else if (r >= 0xDC00 && r < 0xE000) {
            r = 0xFFFD;
        }
        if (!sb_rune(p, r)) return 0;
    }
    char *s = arena_alloc(p->a, p->sb_len);
    if (!s) {
        fail_oom(p);
        return 0;
    }
    if (p->sb_len) memcpy(s, p->sb, p->sb_len);
    out->ptr = s;
    out->len = p->sb_len;
    return 1;
}

/*
 * too_big reports whether the number literal s (valid JSON grammar) rounds
 * to infinity as a float64, as Go's strconv.ParseFloat decides: whether its
 * magnitude is at least 2^1024 - 2^970, halfway between the largest float64
 * and 2^1024 (a tie rounds to even, which is up). Exact, with no floating
 * point: the literal's significant digits and decimal exponent are compared
 * with the 309 digits of that bound.
 */
static const char max_float_bound[] =
    "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977"
    "587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845"
    "817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559"
    "699508093042880177904174497792";

static int too_big(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    /* the digits of the mantissa without its point, and where the point was */
    const char *digits = s + i;
    size_t int_end = i;
    while (int_end < n && is_digit((unsigned char)s[int_end])) int_end++;
    size_t frac_start = int_end, frac_end = int_end;
    if (frac_start < n && s[frac_start] == '.') {
        frac_start++;
        frac_end = frac_start;
        while (frac_end < n && is_digit((unsigned char)s[frac_end])) frac_end++;
    }
    long long exp = 0;
    if (frac_end < n && (s[frac_end] == 'e' || s[frac_end] == 'E')) {
        size_t k = frac_end + 1;
        int neg = 0;
        if (k < n && (s[k] == '+' || s[k] == '-')) neg = s[k++] == '-';
        for (; k < n; k++)
            if (exp < 1000000000) exp = exp * 10 + (s[k] - '0'); /* saturates far past any bound */
        if (neg) exp = -exp;
    }
    /* Walk the significant digits: skip leading zeros, counting how the
       point moves. The value is 0.D1D2D3... x 10^point. */
    size_t nint = int_end - i, nfrac = frac_end - frac_start;
    long long point = (long long)nint;
    size_t total = nint + nfrac, k = 0;
#define DIGIT(j) ((j) < nint ? digits[j] : s[frac_start + (j) - nint])
    while (k < total && DIGIT(k) == '0') {
        k++;
        point--;
    }
    if (k == total)
        return 0; /* zero */
    point += exp;
    long long bound_digits = (long long)(sizeof max_float_bound - 1);
    if (point != bound_digits)
        return point > bound_digits;
    /* same number of integer digits: compare digit by digit */
    for (size_t b = 0; b < sizeof max_float_bound - 1; b++, k++) {
        char d = k < total ? DIGIT(k) : '0';
        if (d != max_float_bound[b])
            return d > max_float_bound[b];
    }
    return 1; /* exactly the bound: rounds up to 2^1024 */
#undef DIGIT
}

/* read_number scans the number at p->pos, as Go's scanner does. */
static json_value *read_number(parser *p) {
    size_t start = p->pos;
    const unsigned char *d = p->doc;
    if (d[p->pos] == '-') {
        p->pos++;
        if (p->pos >= p->len) { fail_eof(p); return NULL; }
    }
    if (d[p->pos] == '0') {
        p->pos++;
    } else if (d[p->pos] >= '1' && d[p->pos] <= '9') {
        while (p->pos < p->len && is_digit(d[p->pos])) p->pos++;
    } else {
        fail_char(p, p->pos, "in numeric literal");
        return NULL;
    }
    if (p->pos < p->len && d[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len) { fail_eof(p); return NULL; }
        if (!is_digit(d[p->pos])) {
            fail_char(p, p->pos, "after decimal point in numeric literal");
            return NULL;
        }
        while (p->pos < p->len && is_digit(d[p->pos])) p->pos++;
    }
    if (p->pos < p->len && (d[p->pos] == 'e' || d[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (d[p->pos] == '+' || d[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len) { fail_eof(p); return NULL; }
        if (!is_digit(d[p->pos])) {
            fail_char(p, p->pos, "in exponent of numeric literal");
            return NULL;
        }
        while (p->pos < p->len && is_digit(d[p->pos])) p->pos++;
    }
    const char *lit = (const char *)d + start;
    size_t n = p->pos - start;
    if (too_big(lit, n)) {
        char *lit0 = arena_alloc(p->a, n + 1);
        if (!lit0) { fail_oom(p); return NULL; }
        memcpy(lit0, lit, n);
        lit0[n] = 0;
        fail(p, msg_cat(p->a, "number ", lit0, " does not fit a float64", NULL, NULL));
        return NULL;
    }
    return &v_number;
}

/* read_literal reads true, false or null; a partial one fails at its first letter. */
static json_value *read_literal(parser *p) {
    static const struct { const char *word; json_value *value; } lits[] = {
        {"true", &v_true}, {"false", &v_false}, {"null", &v_null}};
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        size_t n = strlen(lits[i].word);
        if (p->doc[p->pos] != (unsigned char)lits[i].word[0])
            continue;
        if (p->len - p->pos >= n && memcmp(p->doc + p->pos, lits[i].word, n) == 0) {
            p->pos += n;
            return lits[i].value;
        }
        break;
    }
    fail_char(p, p->pos, "looking for beginning of value");
    return NULL;
}

static int push(parser *p, int is_object) {
    if (p->depth >= MAX_DEPTH) {
        fail(p, "exceeded max depth");
        return 0;
    }
    if (!grow((void **)&p->frames, &p->frames_cap, p->depth, 1, sizeof *p->frames)) {
        fail_oom(p);
        return 0;
    }
    frame *f = &p->frames[p->depth++];
    f->is_object = is_object;
    f->start = is_object ? p->members_len : p->items_len;
    f->key.ptr = NULL;
    f->key.len = 0;
    return 1;
}

/* pop closes the innermost container and returns it as a value. */
static json_value *pop(parser *p) {
    frame *f = &p->frames[--p->depth];
    json_value *v = new_value(p, f->is_object ? JSON_OBJECT : JSON_ARRAY);
    if (!v) return NULL;
    if (f->is_object) {
        size_t n = p->members_len - f->start;
        json_member *m = arena_alloc(p->a, n * sizeof *m);
        if (!m) { fail_oom(p); return NULL; }
        if (n) memcpy(m, p->members + f->start, n * sizeof *m);
        v->u.obj.members = m;
        v->u.obj.len = n;
        p->members_len = f->start;
    } else {
        size_t n = p->items_len - f->start;
        json_value **items = arena_alloc(p->a, n * sizeof *items);
        if (!items) { fail_oom(p); return NULL; }
        if (n) memcpy(items, p->items + f->start, n * sizeof *items);
        v->u.arr.items = items;
        v->u.arr.len = n;
        p->items_len = f->start;
    }
    return v;
}

/* append adds v to the innermost container f. */
static int append(parser *p, const frame *f, json_value *v) {
    if (f->is_object) {
        if (!grow((void **)&p->members, &p->members_cap, p->members_len, 1, sizeof *p->members)) {
            fail_oom(p);
            return 0;
        }
        p->members[p->members_len].key = f->key;
        p->members[p->members_len].value = v;
        p->members_len++;
    } else {
        if (!grow((void **)&p->items, &p->items_cap, p->items_len, 1, sizeof *p->items)) {
            fail_oom(p);
            return 0;
        }
        p->items[p->items_len++] = v;
    }
    return 1;
}

/* read_key reads an object's key and its colon, at p->pos (after whitespace). */
static int read_key(parser *p) {
    if (p->pos >= p->len) { fail_eof(p); return 0; }
    if (p->doc[p->pos] != '"') {
        fail_char(p, p->pos, "looking for beginning of object key string");
        return 0;
    }
    if (!read_string(p, &p->frames[p->depth - 1].key))
        return 0;
    skip_ws(p);
    if (p->pos >= p->len) { fail_eof(p); return 0; }
    if (p->doc[p->pos] != ':') {
        fail_char(p, p->pos, "after object key");
        return 0;
    }
    p->pos++;
    return 1;
}

static json_value *parse(parser *p) {
    for (;;) {
        /* a value starts here */
        json_value *v = NULL;
        skip_ws(p);
        if (p->pos >= p->len) { fail_eof(p); return NULL; }
        unsigned c = p->doc[p->pos];
        if (c == '{' || c == '[') {
            if (!push(p, c == '{')) return NULL;
            p->pos++;
            skip_ws(p);
            if (p->pos >= p->len) { fail_eof(p); return NULL; }
            if (p->doc[p->pos] == (c == '{' ? '}' : ']')) {
                p->pos++;
                v = pop(p);
            } else if (c == '{') {
                if (!read_key(p)) return NULL;
                continue; /* to the member's value */
            } else {
                continue; /* to the first element */
            }
        } else if (c == '"') {
            json_str s;
            if (!read_string(p, &s)) return NULL;
            v = new_value(p, JSON_STRING);
            if (v) v->u.str = s;
        } else if (c == '-' || is_digit(c)) {
            v = read_number(p);
        } else if (c == 't' || c == 'f' || c == 'n') {
            v = read_literal(p);
        } else {
            fail_char(p, p->pos, "looking for beginning of value");
        }
        if (!v) return NULL;

        /* v is complete: add it to its container, closing the containers
           that end right after it, until one expects another value */
        for (;;) {
            if (p->depth == 0)
                return v; /* the top-level value */
            frame *f = &p->frames[p->depth - 1];
            if (!append(p, f, v)) return NULL;
            skip_ws(p);
            if (p->pos >= p->len) { fail_eof(p); return NULL; }
            c = p->doc[p->pos];
            if (c == ',') {
                p->pos++;
                if (f->is_object) {
                    skip_ws(p);
                    if (!read_key(p)) return NULL;
                }
                break; /* to the next value */
            }
            if (c == (f->is_object ? '}' : ']')) {
                p->pos++;
                if (!(v = pop(p))) return NULL;
                continue;
            }
            fail_char(p, p->pos, f->is_object ? "after object key:value pair" : "after array element");
            return NULL;
        }
    }
}

json_value *json_parse(arena *a, const char *doc, size_t len, const char **err) {
    parser p;
    memset(&p, 0, sizeof p);
    p.a = a;
    p.doc = (const unsigned char *)doc;
    p.len = len;
    json_value *v = parse(&p);
    if (v) {
        skip_ws(&p);
        if (p.pos < p.len) {
            fail_char(&p, p.pos, "after the top-level value");
            v = NULL;
        }
    }
    free(p.frames);
    free(p.members);
    free(p.items);
    free(p.sb);
    if (!v)
        *err = p.err ? p.err : "malformed JSON";
    return v;
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */
/* ------------------------------------------------------------------ */

int json_str_eq(json_str s, const char *key) {
    size_t n = strlen(key);
    return s.len == n && memcmp(s.ptr, key, n) == 0;
}

json_value *json_get(const json_value *o, const char *key) {
    if (!o || o->type != JSON_OBJECT)
        return NULL;
    for (size_t i = o->u.obj.len; i-- > 0;)
        if (json_str_eq(o->u.obj.members[i].key, key))
            return o->u.obj.members[i].value;
    return NULL;
}
