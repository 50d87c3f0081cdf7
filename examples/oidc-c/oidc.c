/*
 * oidc.c: the generic OpenID Connect provider as an idplug WebAssembly
 * plugin in C, written from wit/README.md and wit/idplug.wit alone.
 *
 * It behaves as the Go plugin plugins/oidc does: one required url setting,
 * issuer; configure points the host at <issuer>/.well-known/openid-configuration
 * and lets discovery find every endpoint; identity maps the standard claims
 * (sdk.StandardIdentity). Only the name differs: "oidc-c".
 *
 * The ABI, in short (wit/README.md, "Module" and "One call"):
 *   - a reactor module: wasi-libc's crt1-reactor.o exports _initialize,
 *     which the host calls once per instance; there is no start section;
 *   - exports idplug_contract_version, idplug_alloc, idplug_free and one
 *     idplug_<function>(ptr, len) -> i64 per function of the contract, plus
 *     the linear memory as "memory" (wasm-ld exports it by default);
 *   - the input the host wrote into an idplug_alloc buffer belongs to the
 *     plugin once the function is called: every function frees it;
 *   - the output is a JSON result envelope, {"ok": value} or {"error": "…"},
 *     in a malloc'ed buffer returned as ptr << 32 | len, which the host
 *     copies and hands back to idplug_free.
 *
 * Nothing outlives a call but malloc's free lists: the host keeps instances
 * for many calls, so each call frees its input, its tree (one arena) and,
 * through idplug_free, its output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define EXPORT(name) __attribute__((export_name(name)))

static const char NAME[] = "oidc-c";
static const char VERSION[] = "1.0.0";
static const char SUMMARY[] =
    "Any OpenID Connect provider with the device grant, configured by discovery from its issuer "
    "(written in C)";
static const char ISSUER_HELP[] =
    "the issuer URL; discovery is read from <issuer>/.well-known/openid-configuration";
static const char DISCOVERY_PATH[] = "/.well-known/openid-configuration";

/* ------------------------------------------------------------------ */
/* memory and envelopes                                                */
/* ------------------------------------------------------------------ */

/* The answer when not even the output buffer can be allocated. It lives in
   static memory, so idplug_free must not pass it to free. */
static const char OUT_OF_MEMORY[] = "{\"error\":\"oidc-c: out of memory\"}";

EXPORT("idplug_contract_version")
int32_t idplug_contract_version(void) { return 1; }

EXPORT("idplug_alloc")
void *idplug_alloc(uint32_t len) {
    void *p = malloc(len ? len : 1); /* non-zero even for an empty input */
    if (!p)
        __builtin_trap(); /* the ABI has no way to say "no memory" here; a trap fails the call */
    return p;
}

EXPORT("idplug_free")
void idplug_free(void *ptr, uint32_t len) {
    (void)len;
    if (ptr != (const void *)OUT_OF_MEMORY)
        free(ptr);
}

/* pack returns a buffer as the i64 the host expects: ptr << 32 | len. */
static uint64_t pack(const void *ptr, size_t len) {
    return (uint64_t)(uintptr_t)ptr << 32 | (uint32_t)len;
}

/* reply hands the host the envelope in b, which it later frees with idplug_free. */
static uint64_t reply(json_buf *b) {
    if (b->failed) {
        free(b->buf);
        return pack(OUT_OF_MEMORY, sizeof OUT_OF_MEMORY - 1);
    }
    return pack(b->buf, b->len);
}

/* reply_error answers {"error": prefix + msg}. */
static uint64_t reply_error(const char *prefix, json_str msg) {
    json_buf b = {0};
    size_t np = strlen(prefix);
    char *m = malloc(np + msg.len + 1);
    if (!m)
        return pack(OUT_OF_MEMORY, sizeof OUT_OF_MEMORY - 1);
    memcpy(m, prefix, np);
    if (msg.len) memcpy(m + np, msg.ptr, msg.len);
    jb_lit(&b, "{\"error\":");
    jb_string(&b, m, np + msg.len);
    jb_lit(&b, "}");
    free(m);
    return reply(&b);
}

static json_str cstr(const char *s) {
    json_str r = {s, strlen(s)};
    return r;
}

static const json_str NO_ERROR = {NULL, 0};

/*
 * A handler computes one function's value from its input document, an
 * object (a document that is JSON null counts as {}), and writes it to out.
 * It returns NO_ERROR, or what is wrong with the input.
 */
typedef json_str (*handler)(arena *a, const json_value *doc, json_buf *out);

/*
 * serve runs one call: it parses and frees the input, runs h, and wraps its
 * value in {"ok": …}. Errors about the input read as the Go SDK's do:
 * "decoding the input of identity: userinfo is not an object".
 */
static uint64_t serve(const char *fn, char *in, uint32_t len, handler h) {
    arena a = {0};
    const char *perr = NULL;
    json_value *doc = json_parse(&a, in, len, &perr);
    free(in); /* the tree holds copies of everything it needs */

    char prefix[64] = "decoding the input of ";
    strcat(prefix, fn);
    strcat(prefix, ": ");

    json_str err = NO_ERROR;
    json_buf out = {0};
    if (!doc)
        err = cstr(perr);
    else if (doc->type != JSON_OBJECT && doc->type != JSON_NULL)
        err = cstr("the document is not an object");
    else {
        jb_lit(&out, "{\"ok\":");
        err = h(&a, doc, &out);
        jb_lit(&out, "}");
    }
    uint64_t r;
    if (err.ptr) {
        free(out.buf);
        r = reply_error(prefix, err);
    } else {
        r = reply(&out);
    }
    arena_free(&a); /* after reply_error: err may live in the arena */
    return r;
}

/* ------------------------------------------------------------------ */
/* reading the documents                                               */
/* ------------------------------------------------------------------ */

static int is_null(const json_value *v) { return !v || v->type == JSON_NULL; }

/* str returns v's text when it is a string, else "" (sdk.Claims.String). */
static json_str str(const json_value *v) {
    json_str empty = {"", 0};
    return v && v->type == JSON_STRING ? v->u.str : empty;
}

/* join concatenates the parts in the arena (for messages that quote input). */
static json_str join(arena *a, json_str x, json_str y, json_str z) {
    char *m = arena_alloc(a, x.len + y.len + z.len);
    if (!m)
        return cstr("out of memory");
    memcpy(m, x.ptr, x.len);
    if (y.len) memcpy(m + x.len, y.ptr, y.len);
    memcpy(m + x.len + y.len, z.ptr, z.len);
    json_str r = {m, x.len + y.len + z.len};
    return r;
}

/*
 * check_settings checks the settings member, a map of string values: absent
 * or null is empty, a null value counts as absent, anything else is an
 * error. Of repeated keys the last one counts, as in a Go map.
 */
static json_str check_settings(arena *a, const json_value *s) {
    if (is_null(s))
        return NO_ERROR;
    if (s->type != JSON_OBJECT)
        return cstr("settings is not an object");
    for (size_t i = 0; i < s->u.obj.len; i++) {
        const json_member *m = &s->u.obj.members[i];
        if (m->value->type == JSON_STRING || m->value->type == JSON_NULL)
            continue;
        int overridden = 0;
        for (size_t j = i + 1; j < s->u.obj.len && !overridden; j++)
            overridden = s->u.obj.members[j].key.len == m->key.len &&
                         memcmp(s->u.obj.members[j].key.ptr, m->key.ptr, m->key.len) == 0;
        if (!overridden)
            return join(a, cstr("settings."), m->key, cstr(" is not a string"));
    }
    return NO_ERROR;
}

/* check_string checks an optional string member of a record. */
static json_str check_string(const json_value *v, const char *msg) {
    return is_null(v) || v->type == JSON_STRING ? NO_ERROR : cstr(msg);
}

/* check_claims checks a json-object member: an object, or null/absent for none. */
static json_str check_claims(const json_value *v, const char *msg) {
    return is_null(v) || v->type == JSON_OBJECT ? NO_ERROR : cstr(msg);
}

/* ------------------------------------------------------------------ */
/* describe                                                            */
/* ------------------------------------------------------------------ */

EXPORT("idplug_describe")
uint64_t idplug_describe(char *in, uint32_t len) {
    (void)len;
    free(in); /* describe takes {}; like the Go SDK, the input is not even read */
    json_buf b = {0};
    jb_lit(&b, "{\"ok\":{\"name\":");
    jb_cstring(&b, NAME);
    jb_lit(&b, ",\"version\":");
    jb_cstring(&b, VERSION);
    jb_lit(&b, ",\"contract_version\":1,\"summary\":");
    jb_cstring(&b, SUMMARY);
    jb_lit(&b, ",\"settings\":[{\"name\":\"issuer\",\"type\":\"url\",\"required\":true,"
               "\"secret\":false,\"help\":");
    jb_cstring(&b, ISSUER_HELP);
    jb_lit(&b, "}],\"hooks\":[]}}"); /* no prepare, no interpret */
    return reply(&b);
}

/* ------------------------------------------------------------------ */
/* configure                                                           */
/* ------------------------------------------------------------------ */

static json_str configure(arena *a, const json_value *doc, json_buf *out) {
    const json_value *settings = json_get(doc, "settings");
    json_str err = check_settings(a, settings);
    if (err.ptr)
        return err;
    const json_value *client = json_get(doc, "client");
    if (!is_null(client)) {
        if (client->type != JSON_OBJECT)
            return cstr("client is not an object");
        if ((err = check_string(json_get(client, "client_id"), "client_id is not a string")).ptr ||
            (err = check_string(json_get(client, "client_secret"), "client_secret is not a string")).ptr)
            return err;
        const json_value *scopes = json_get(client, "scopes");
        if (!is_null(scopes)) {
            if (scopes->type != JSON_ARRAY)
                return cstr("scopes is not an array");
            for (size_t i = 0; i < scopes->u.arr.len; i++) {
                const json_value *s = scopes->u.arr.items[i];
                if (s->type != JSON_STRING && s->type != JSON_NULL) {
                    char msg[48] = "scopes[";
                    char digits[21], *d = digits + sizeof digits - 1;
                    size_t k = i;
                    *d = 0;
                    do *--d = (char)('0' + k % 10); while (k /= 10);
                    strcat(msg, d);
                    strcat(msg, "] is not a string");
                    return join(a, cstr(msg), cstr(""), cstr(""));
                }
            }
        }
    }

    /* The host checked the issuer, a required url setting. It is kept
       exactly as the user wrote it (some providers end theirs with a slash):
       ID tokens must carry it verbatim. Discovery drops one trailing slash. */
    json_str issuer = str(json_get(settings, "issuer"));
    size_t base = issuer.len;
    if (base && issuer.ptr[base - 1] == '/')
        base--;
    json_str discovery = join(a, (json_str){issuer.ptr, base}, cstr(DISCOVERY_PATH), cstr(""));

    jb_lit(out, "{\"ok\":{");
    if (issuer.len) { /* an option: omitted when empty, as the Go plugin does */
        jb_lit(out, "\"issuer\":");
        jb_string(out, issuer.ptr, issuer.len);
        jb_lit(out, ",");
    }
    jb_lit(out, "\"discovery_url\":");
    jb_string(out, discovery.ptr, discovery.len);
    /* No endpoints: discovery gives them all. auth_style "" is what the Go
       plugin sends (sdk.AuthStyle's zero value); see README.md. */
    jb_lit(out, ",\"endpoints\":{},\"auth_style\":\"\","
                "\"default_scopes\":[\"openid\",\"profile\",\"email\",\"offline_access\"],"
                "\"extra_params\":[]}}");
    return NO_ERROR;
}

EXPORT("idplug_configure")
uint64_t idplug_configure(char *in, uint32_t len) { return serve("configure", in, len, configure); }

/* ------------------------------------------------------------------ */
/* prepare, interpret: hooks this provider does not declare            */
/* ------------------------------------------------------------------ */

EXPORT("idplug_prepare")
uint64_t idplug_prepare(char *in, uint32_t len) {
    (void)len;
    free(in);
    return reply_error("", cstr("prepare is not implemented"));
}

EXPORT("idplug_interpret")
uint64_t idplug_interpret(char *in, uint32_t len) {
    (void)len;
    free(in);
    return reply_error("", cstr("interpret is not implemented"));
}

/* ------------------------------------------------------------------ */
/* identity: sdk.StandardIdentity                                      */
/* ------------------------------------------------------------------ */

/*
 * claim looks name up in the merge of the ID token's claims and userinfo:
 * userinfo wins whenever it has the member, whatever its value (a null
 * there hides the ID token's value, as sdk.Merge does).
 */
static const json_value *claim(const json_value *idt, const json_value *ui, const char *name) {
    const json_value *v = json_get(ui, name);
    return v ? v : json_get(idt, name);
}

static json_str identity(arena *a, const json_value *doc, json_buf *out) {
    const json_value *idt = json_get(doc, "id_token_claims");
    const json_value *ui = json_get(doc, "userinfo");
    json_str err;
    if ((err = check_claims(idt, "id_token_claims is not an object")).ptr ||
        (err = check_claims(ui, "userinfo is not an object")).ptr ||
        (err = check_settings(a, json_get(doc, "settings"))).ptr)
        return err;

    /* the ID token's sub wins: userinfo's sub must match it anyway */
    json_str subject = str(json_get(idt, "sub"));
    if (!subject.len)
        subject = str(claim(idt, ui, "sub"));
    json_str email = str(claim(idt, ui, "email"));
    json_str username = str(claim(idt, ui, "preferred_username"));
    if (!username.len)
        username = email;

    jb_lit(out, "{\"subject\":");
    jb_string(out, subject.ptr, subject.len);
    jb_lit(out, ",\"username\":");
    jb_string(out, username.ptr, username.len);
    jb_lit(out, ",\"name\":");
    json_str name = str(claim(idt, ui, "name"));
    jb_string(out, name.ptr, name.len);
    jb_lit(out, ",\"email\":");
    jb_string(out, email.ptr, email.len);

    /* groups: a string is a one-element list; of an array, only the
       strings; anything else is no list at all, null as in the Go plugin */
    jb_lit(out, ",\"groups\":");
    const json_value *g = claim(idt, ui, "groups");
    if (g && g->type == JSON_STRING) {
        jb_lit(out, "[");
        jb_string(out, g->u.str.ptr, g->u.str.len);
        jb_lit(out, "]");
    } else if (g && g->type == JSON_ARRAY) {
        jb_lit(out, "[");
        int first = 1;
        for (size_t i = 0; i < g->u.arr.len; i++) {
            const json_value *e = g->u.arr.items[i];
            if (e->type != JSON_STRING)
                continue;
            if (!first) jb_lit(out, ",");
            first = 0;
            jb_string(out, e->u.str.ptr, e->u.str.len);
        }
        jb_lit(out, "]");
    } else {
        jb_lit(out, "null");
    }
    jb_lit(out, "}"); /* extra: none */
    return NO_ERROR;
}

EXPORT("idplug_identity")
uint64_t idplug_identity(char *in, uint32_t len) { return serve("identity", in, len, identity); }
