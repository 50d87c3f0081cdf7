/*
 * json.h: the small JSON reader and writer of the oidc-c plugin.
 *
 * No third-party library: the plugin must build with nothing but clang and
 * wasi-libc. The reader builds a tree in an arena that the caller frees in
 * one go at the end of a call, so nothing survives from one call to the next.
 * It parses in one pass with an explicit stack, never by recursion, so a
 * deeply nested document costs heap, not call stack (the host bounds the
 * latter at 8 MiB as it estimates frames).
 *
 * The reader accepts exactly RFC 8259 JSON and reports the first problem it
 * meets in document order, in the words Go's encoding/json uses, with the
 * byte offset of the offending character, so that the plugin's errors read
 * like those of the Go plugin it mirrors (plugins/oidc):
 *
 *   invalid character 'x' after object key:value pair at offset 12
 *   unexpected end of JSON input
 *   exceeded max depth                      (nesting deeper than 10000)
 *   number 1e400 does not fit a float64
 *
 * Strings are decoded to UTF-8 as Go decodes them: a byte that does not
 * start a valid UTF-8 sequence becomes U+FFFD, and so does a \u escape of an
 * unpaired surrogate. Decoded strings carry a length and may hold NUL bytes.
 */
#ifndef OIDC_C_JSON_H
#define OIDC_C_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ---- arena: every allocation of one call, released at once ---- */

typedef struct arena_block arena_block;

typedef struct {
    arena_block *head; /* most recent block first */
} arena;

/* arena_alloc returns n bytes aligned to 8, or NULL when memory is out. */
void *arena_alloc(arena *a, size_t n);
/* arena_free releases every block of a; a can be used again afterwards. */
void arena_free(arena *a);

/* ---- the tree ---- */

typedef enum {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER, /* checked, but its value is not kept: the plugin reads none */
    JSON_STRING, /* str holds the decoded UTF-8 */
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct {
    const char *ptr; /* not NUL-terminated; may contain NUL bytes */
    size_t len;
} json_str;

typedef struct json_value json_value;
typedef struct json_member json_member;

struct json_value {
    json_type type;
    union {
        json_str str;                                   /* STRING */
        struct { json_value **items; size_t len; } arr; /* ARRAY */
        struct { json_member *members; size_t len; } obj; /* OBJECT, in document order */
    } u;
};

struct json_member {
    json_str key;
    json_value *value;
};

/*
 * json_parse parses the len bytes at doc into a tree allocated in a. The
 * tree is read-only: null, true, false and number values are shared. On
 * failure it returns NULL and sets *err to a NUL-terminated message (in a).
 * It never reads outside doc[0:len] and never writes to doc.
 */
json_value *json_parse(arena *a, const char *doc, size_t len, const char **err);

/*
 * json_get returns the value of member key of object o, or NULL when o is
 * not an object or has no such member. When a key repeats, the last one
 * wins, as in Go's maps.
 */
json_value *json_get(const json_value *o, const char *key);

/* json_str_eq reports whether s holds exactly the NUL-terminated key. */
int json_str_eq(json_str s, const char *key);

/* ---- the writer ---- */

/*
 * A growable output buffer. Writes after a failed allocation are ignored
 * and failed stays set, so a caller checks once at the end.
 */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} json_buf;

void jb_raw(json_buf *b, const char *s, size_t n);
void jb_lit(json_buf *b, const char *s); /* NUL-terminated, written as is */
/* jb_string writes s as a JSON string, escaped as Go's encoding/json does. */
void jb_string(json_buf *b, const char *s, size_t n);
void jb_cstring(json_buf *b, const char *s);

#endif
