//! Northwind ID for idplug, in Rust: the provider of `examples/northwind`
//! (a fictional identity provider with the device grant and a few quirks),
//! ported to a WebAssembly plugin written against the ABI document alone,
//! `wit/README.md` and `wit/idplug.wit`, without the Go SDK and without crates.
//!
//! Build (Debian's rustc 1.63 with libstd-rust-dev-wasm32), from the repository root:
//!
//! ```sh
//! /usr/bin/rustc --edition 2021 --crate-type cdylib --crate-name northwind \
//!     --target wasm32-wasi -C opt-level=s -C lto -C codegen-units=1 \
//!     -C panic=abort -C strip=debuginfo \
//!     -o bin/examples/northwind-rust.wasm examples/northwind-rust/lib.rs
//! ```
//!
//! The file has three parts:
//!
//! 1. the ABI: the eight exports, memory ownership, the result envelope and
//!    the `idplug.log` import;
//! 2. a small JSON reader and writer (no crates: the module depends on `std` only);
//! 3. the provider itself, a line-by-line port of `examples/northwind/main.go`,
//!    with the parts of the Go SDK it relies on (`sdk.CheckURL`,
//!    `sdk.StandardIdentity`, `sdk.Merge`, `Claims.String`, `Claims.Strings`)
//!    and the behaviour of Go's `encoding/json` and `net/url` where they show.
//!
//! Robustness: every input, however malformed, ends in a result envelope
//! (`{"ok": …}` or `{"error": "…"}`); no slice access can go out of bounds,
//! nothing recurses on input, and every buffer a call allocates is released
//! before the next call. What is left that traps: running out of the
//! instance's memory (Rust's allocation-failure handler aborts).

use std::alloc::{alloc, dealloc, Layout};
use std::ptr;

// ============================================================================
// Part 1: the ABI (wit/README.md, "Module", "Exports", "One call").
// ============================================================================

/// The contract version this plugin speaks (wit/README.md, "Contract version").
const CONTRACT_VERSION: u32 = 1;

#[link(wasm_import_module = "idplug")]
extern "C" {
    /// `idplug.log(level i32, ptr i32, len i32) -> ()`: writes a UTF-8 message
    /// to the host's log. Levels: 0 debug, 1 info, 2 warn, 3 error.
    fn log(level: i32, ptr: *const u8, len: i32);
}

const LOG_DEBUG: i32 = 0;

/// Logs msg at level. Never log tokens or secrets.
fn log_message(level: i32, msg: &str) {
    // SAFETY: msg is a live slice of this module's memory.
    unsafe { log(level, msg.as_ptr(), msg.len() as i32) }
}

/// The layout of every buffer that crosses the boundary: `len` bytes
/// (at least one, so that `len == 0` still gets a real, non-zero pointer),
/// byte-aligned. None when len is too large for the address space.
fn buffer_layout(len: u32) -> Option<Layout> {
    Layout::from_size_align((len as usize).max(1), 1).ok()
}

/// Allocates a buffer of len bytes; null when the memory is exhausted (the
/// global allocator returns null rather than aborting here).
fn allocate(len: u32) -> *mut u8 {
    match buffer_layout(len) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { alloc(layout) },
        None => ptr::null_mut(),
    }
}

/// Releases a buffer allocate(len) returned. The length must be the one it
/// was allocated with: it is part of the layout.
///
/// # Safety
/// ptr must be null or come from allocate(len), and not be released yet.
unsafe fn release(ptr: *mut u8, len: u32) {
    if ptr.is_null() {
        return;
    }
    if let Some(layout) = buffer_layout(len) {
        dealloc(ptr, layout)
    }
}

/// `idplug_contract_version: () -> i32`.
#[no_mangle]
pub extern "C" fn idplug_contract_version() -> i32 {
    CONTRACT_VERSION as i32
}

/// `idplug_alloc: (len i32) -> i32`: a buffer for the host to write an input
/// into. It belongs to the plugin again once the host passes it to a function.
#[no_mangle]
pub extern "C" fn idplug_alloc(len: u32) -> *mut u8 {
    allocate(len)
}

/// `idplug_free: (ptr i32, len i32) -> ()`: releases an output this plugin
/// returned, with the length it returned.
///
/// # Safety
/// The host passes back exactly what a function returned, once.
#[no_mangle]
pub unsafe extern "C" fn idplug_free(ptr: *mut u8, len: u32) {
    release(ptr, len)
}

/// `idplug_describe: (ptr i32, len i32) -> i64`.
///
/// # Safety
/// (ptr, len) is a buffer idplug_alloc(len) returned, holding the input.
#[no_mangle]
pub unsafe extern "C" fn idplug_describe(ptr: *mut u8, len: u32) -> u64 {
    serve(ptr, len, describe)
}

/// `idplug_configure: (ptr i32, len i32) -> i64`.
///
/// # Safety
/// As for idplug_describe.
#[no_mangle]
pub unsafe extern "C" fn idplug_configure(ptr: *mut u8, len: u32) -> u64 {
    serve(ptr, len, configure)
}

/// `idplug_prepare: (ptr i32, len i32) -> i64`.
///
/// # Safety
/// As for idplug_describe.
#[no_mangle]
pub unsafe extern "C" fn idplug_prepare(ptr: *mut u8, len: u32) -> u64 {
    serve(ptr, len, prepare)
}

/// `idplug_interpret: (ptr i32, len i32) -> i64`.
///
/// # Safety
/// As for idplug_describe.
#[no_mangle]
pub unsafe extern "C" fn idplug_interpret(ptr: *mut u8, len: u32) -> u64 {
    serve(ptr, len, interpret)
}

/// `idplug_identity: (ptr i32, len i32) -> i64`.
///
/// # Safety
/// As for idplug_describe.
#[no_mangle]
pub unsafe extern "C" fn idplug_identity(ptr: *mut u8, len: u32) -> u64 {
    serve(ptr, len, identity)
}

/// The host's input document, which belongs to the plugin once a function
/// is called with it: dropping an Input releases its buffer, whatever the
/// outcome of the call.
struct Input {
    ptr: *mut u8,
    len: u32,
}

impl Input {
    fn bytes(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: the host wrote len bytes at ptr, a buffer of idplug_alloc(len).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len as usize) }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        // SAFETY: the buffer came from idplug_alloc(len) and is released once.
        unsafe { release(self.ptr, self.len) }
    }
}

/// A function of the contract: the input document (an object) to the JSON
/// text of the WIT result, or to the message of an error envelope.
type Function = fn(&Value) -> Result<String, String>;

/// Runs one call: takes the input, computes, and returns the result envelope
/// as `out_ptr << 32 | out_len`.
fn serve(ptr: *mut u8, len: u32, function: Function) -> u64 {
    let input = Input { ptr, len };
    let envelope = match parse_document(input.bytes()) {
        Ok(doc) => match function(&doc) {
            Ok(value) => format!("{{\"ok\":{}}}", value),
            Err(message) => error_envelope(&message),
        },
        Err(e) => error_envelope(&format!("malformed input document: {}", e)),
    };
    drop(input);
    reply(&envelope)
}

/// `{"error": message}`: the plugin could not do its job.
fn error_envelope(message: &str) -> String {
    format!("{{\"error\":{}}}", quote(message))
}

/// Copies the envelope into a buffer of its exact length, which the host
/// copies and then releases with idplug_free(out_ptr, out_len). Should that
/// allocation fail, it returns 0 (an empty output), which the host reports as
/// a malformed envelope: the call fails instead of trapping.
fn reply(envelope: &str) -> u64 {
    let bytes = envelope.as_bytes();
    let len = bytes.len() as u32;
    let out = allocate(len);
    if out.is_null() {
        return 0;
    }
    // SAFETY: out has room for len bytes and does not overlap the envelope.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len()) };
    (out as usize as u64) << 32 | len as u64
}

// ============================================================================
// Part 2: JSON (RFC 8259), read the way Go's encoding/json reads it.
// ============================================================================

/// Go's encoding/json refuses documents nested deeper than this; so does this
/// reader, which never recurses, so that a deep document costs heap, not stack.
const MAX_DEPTH: usize = 10_000;

/// A JSON value. Objects keep their members in order, duplicates included;
/// lookups take the last member of a name, as Go's decoder does.
enum Value {
    Null,
    Bool(#[allow(dead_code)] bool), // read as a value, never needed as one
    /// A number, as its (validated) text.
    Num(String),
    Str(String),
    Arr(Vec<Value>),
    Obj(Vec<(String, Value)>),
}

/// Dropping a value releases its children from a work list rather than by
/// recursion, so that even a document nested MAX_DEPTH deep is freed within a
/// few stack frames.
impl Drop for Value {
    fn drop(&mut self) {
        let mut work = Vec::new();
        self.move_children(&mut work);
        while let Some(mut child) = work.pop() {
            child.move_children(&mut work);
            // child drops here with no children left.
        }
    }
}

impl Value {
    fn move_children(&mut self, work: &mut Vec<Value>) {
        match self {
            Value::Arr(items) => work.append(items),
            Value::Obj(members) => work.extend(members.drain(..).map(|(_, v)| v)),
            _ => {}
        }
    }

    /// The last member named key of an object, null included; None for an
    /// absent member or a value that is not an object.
    fn member(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What the value is, for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Num(_) => "a number",
            Value::Str(_) => "a string",
            Value::Arr(_) => "an array",
            Value::Obj(_) => "an object",
        }
    }
}

/// A JSON text being read.
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Consumes c if it comes next.
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// An error at the current offset.
    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            None => format!("unexpected end of JSON input, want {}", wanted),
            Some(c) if (0x20..0x7f).contains(&c) => {
                format!(
                    "invalid character '{}' at offset {}, want {}",
                    c as char, self.i, wanted
                )
            }
            Some(c) => format!(
                "invalid byte 0x{:02x} at offset {}, want {}",
                c, self.i, wanted
            ),
        }
    }

    /// Reads the word (true, false, null) that starts here.
    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        for &c in word {
            if !self.eat(c) {
                return Err(self.unexpected("a JSON value"));
            }
        }
        Ok(())
    }

    /// Reads a number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    fn number(&mut self) -> Result<String, String> {
        let start = self.i;
        self.eat(b'-');
        if !self.eat(b'0') {
            if !matches!(self.peek(), Some(b'1'..=b'9')) {
                return Err(self.unexpected("a digit"));
            }
            self.digits();
        }
        if self.eat(b'.') {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit after the decimal point"));
            }
            self.digits();
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("a digit in the exponent"));
            }
            self.digits();
        }
        let text = self.s.get(start..self.i).unwrap_or_default();
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    /// Reads four hex digits of a \u escape.
    fn hex4(&mut self) -> Option<u32> {
        let mut r = 0;
        for _ in 0..4 {
            let d = (self.peek()? as char).to_digit(16)?;
            r = r << 4 | d;
            self.i += 1;
        }
        Some(r)
    }

    /// Reads a string that starts here. Like Go, it turns each invalid UTF-8
    /// byte and each unpaired surrogate escape into U+FFFD.
    fn string(&mut self) -> Result<String, String> {
        if !self.eat(b'"') {
            return Err(self.unexpected("a string"));
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let c = match self.peek() {
                Some(c) => c,
                None => return Err(self.unexpected("the end of the string")),
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = match self.peek() {
                        Some(e) => e,
                        None => return Err(self.unexpected("an escape")),
                    };
                    self.i += 1;
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => {
                            self.i -= 1;
                            return Err(self.unexpected("an escape character"));
                        }
                    };
                    if let Some(b) = simple {
                        buf.push(b);
                        continue;
                    }
                    let mut r = match self.hex4() {
                        Some(r) => r,
                        None => return Err(self.unexpected("a hex digit of a \\u escape")),
                    };
                    if (0xD800..0xE000).contains(&r) {
                        // A surrogate: a high one followed by a low one is a
                        // pair; anything else is U+FFFD, and what follows is
                        // read on its own.
                        let mark = self.i;
                        let low = if self.eat(b'\\') && self.eat(b'u') {
                            self.hex4()
                        } else {
                            None
                        };
                        match low {
                            Some(lo) if r < 0xDC00 && (0xDC00..0xE000).contains(&lo) => {
                                r = 0x10000 + ((r - 0xD800) << 10 | (lo - 0xDC00));
                            }
                            _ => {
                                self.i = mark;
                                r = 0xFFFD;
                            }
                        }
                    }
                    let ch = char::from_u32(r).unwrap_or('\u{FFFD}');
                    let mut tmp = [0u8; 4];
                    buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                0..=0x1f => {
                    self.i -= 1;
                    return Err(self.unexpected("no control character in a string"));
                }
                _ => buf.push(c),
            }
        }
        Ok(go_lossy(buf))
    }

    /// Reads an object member's name and the colon after it.
    fn key(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("a member name in quotes"));
        }
        let key = self.string()?;
        self.skip_space();
        if !self.eat(b':') {
            return Err(self.unexpected("':' after a member name"));
        }
        Ok(key)
    }
}

/// Reads one JSON value filling all of s, iteratively: open arrays and
/// objects wait on a stack of their own, not on the call stack.
fn parse_json(s: &[u8]) -> Result<Value, String> {
    enum Open {
        Arr(Vec<Value>),
        Obj(Vec<(String, Value)>, String), // the members so far, the pending name
    }
    let mut r = Reader { s, i: 0 };
    let mut stack: Vec<Open> = Vec::new();
    'value: loop {
        r.skip_space();
        let mut v = match r.peek() {
            Some(open @ (b'{' | b'[')) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nested deeper than {} levels", MAX_DEPTH));
                }
                r.i += 1;
                r.skip_space();
                if open == b'{' {
                    if r.eat(b'}') {
                        Value::Obj(Vec::new())
                    } else {
                        let key = r.key()?;
                        stack.push(Open::Obj(Vec::new(), key));
                        continue 'value;
                    }
                } else if r.eat(b']') {
                    Value::Arr(Vec::new())
                } else {
                    stack.push(Open::Arr(Vec::new()));
                    continue 'value;
                }
            }
            Some(b'"') => Value::Str(r.string()?),
            Some(b't') => r.literal(b"true").map(|_| Value::Bool(true))?,
            Some(b'f') => r.literal(b"false").map(|_| Value::Bool(false))?,
            Some(b'n') => r.literal(b"null").map(|_| Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Num(r.number()?),
            _ => return Err(r.unexpected("a JSON value")),
        };
        // v is complete: hand it to the array or object it is in, and close
        // every container that ends after it.
        loop {
            match stack.last_mut() {
                None => {
                    r.skip_space();
                    if r.i < s.len() {
                        return Err(r.unexpected("the end of the document"));
                    }
                    return Ok(v);
                }
                Some(Open::Arr(items)) => {
                    items.push(v);
                    r.skip_space();
                    if r.eat(b',') {
                        continue 'value;
                    }
                    if !r.eat(b']') {
                        return Err(r.unexpected("',' or ']'"));
                    }
                }
                Some(Open::Obj(members, key)) => {
                    members.push((std::mem::take(key), v));
                    r.skip_space();
                    if r.eat(b',') {
                        r.skip_space();
                        *key = r.key()?;
                        continue 'value;
                    }
                    if !r.eat(b'}') {
                        return Err(r.unexpected("',' or '}'"));
                    }
                }
            }
            v = match stack.pop() {
                Some(Open::Arr(items)) => Value::Arr(items),
                Some(Open::Obj(members, _)) => Value::Obj(members),
                None => return Err("internal error: container stack".to_string()),
            };
        }
    }
}

/// Reads an input document: an object (null counts as an empty one, as Go's
/// decoder leaves a struct alone on null).
fn parse_document(s: &[u8]) -> Result<Value, String> {
    match parse_json(s)? {
        Value::Null => Ok(Value::Obj(Vec::new())),
        v @ Value::Obj(_) => Ok(v),
        v => Err(format!("the document is {}, not an object", v.kind())),
    }
}

/// Bytes to text the way Go does when it reads or writes JSON: each byte
/// that does not start a valid UTF-8 sequence becomes one U+FFFD.
fn go_lossy(bytes: Vec<u8>) -> String {
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return s,
        Err(e) => e.into_bytes(),
    };
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut rest = &bytes[..];
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{FFFD}');
                rest = bad.get(1..).unwrap_or_default();
            }
        }
    }
}

/// s as a JSON string, quotes included.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Control characters, and the two line separators JavaScript
            // does not take in strings (Go escapes them too).
            '\u{0}'..='\u{1f}' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", ch as u32));
            }
            _ => out.push(ch),
        }
    }
    out.push('"');
    out
}

/// A JSON array of strings.
fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(","))
}

// ---- Reading the input documents (wit/README.md, "JSON encoding of WIT"). ----
//
// Members are matched by their exact snake_case names; unknown ones are
// ignored. A missing member or null reads as the zero value (an empty string,
// list or object, status 0), as the Go SDK's decoder does; a member of the
// wrong type is a malformed input and ends in an error envelope.

/// The object member key of obj, or None when it is absent or null.
fn member<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    match obj.member(key) {
        None | Some(Value::Null) => None,
        v => v,
    }
}

fn wrong_type(path: &str, want: &str, got: &Value) -> String {
    format!("{}: want {}, got {}", path, want, got.kind())
}

/// The path of member key of the value at path ("" for the document), for
/// error messages: "response.headers[1].name".
fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{}.{}", path, key)
    }
}

/// A `string` (or `option<string>`) member.
fn read_string(obj: &Value, key: &str, path: &str) -> Result<String, String> {
    match member(obj, key) {
        None => Ok(String::new()),
        Some(Value::Str(s)) => Ok(s.clone()),
        Some(v) => Err(wrong_type(&at(path, key), "a string", v)),
    }
}

/// A record member: None when absent or null.
fn read_object<'a>(obj: &'a Value, key: &str, path: &str) -> Result<Option<&'a Value>, String> {
    match member(obj, key) {
        None => Ok(None),
        Some(v @ Value::Obj(_)) => Ok(Some(v)),
        Some(v) => Err(wrong_type(&at(path, key), "an object", v)),
    }
}

/// A `list<T>` member: its items, none when absent or null.
fn read_list<'a>(obj: &'a Value, key: &str, path: &str) -> Result<&'a [Value], String> {
    match member(obj, key) {
        None => Ok(&[]),
        Some(Value::Arr(items)) => Ok(items),
        Some(v) => Err(wrong_type(&at(path, key), "an array", v)),
    }
}

/// A `list<string>` member.
fn read_strings(obj: &Value, key: &str, path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (i, item) in read_list(obj, key, path)?.iter().enumerate() {
        match item {
            Value::Str(s) => out.push(s.clone()),
            Value::Null => out.push(String::new()),
            v => {
                return Err(wrong_type(
                    &format!("{}[{}]", at(path, key), i),
                    "a string",
                    v,
                ))
            }
        }
    }
    Ok(out)
}

/// A `u16` member: a JSON integer from 0 to 65535, written without fraction
/// or exponent (as Go's decoder takes it into a uint16).
fn read_u16(obj: &Value, key: &str, path: &str) -> Result<u16, String> {
    match member(obj, key) {
        None => Ok(0),
        Some(Value::Num(text)) => text
            .parse::<u16>()
            .ok()
            .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("{}: {} is not a u16", at(path, key), text)),
        Some(v) => Err(wrong_type(&at(path, key), "a number", v)),
    }
}

/// A `list<header>` member.
fn read_headers(obj: &Value, key: &str, path: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, item) in read_list(obj, key, path)?.iter().enumerate() {
        let item_path = format!("{}[{}]", at(path, key), i);
        match item {
            Value::Obj(_) => out.push((
                read_string(item, "name", &item_path)?,
                read_string(item, "value", &item_path)?,
            )),
            Value::Null => out.push((String::new(), String::new())),
            v => return Err(wrong_type(&item_path, "an object", v)),
        }
    }
    Ok(out)
}

/// A JSON array of header records.
fn write_headers(headers: &[(String, String)]) -> String {
    let items: Vec<String> = headers
        .iter()
        .map(|(name, value)| format!("{{\"name\":{},\"value\":{}}}", quote(name), quote(value)))
        .collect();
    format!("[{}]", items.join(","))
}

/// A profile's settings (`settings`: an object of string values).
struct Settings(Vec<(String, String)>);

impl Settings {
    fn read(obj: &Value, key: &str) -> Result<Settings, String> {
        let mut out = Vec::new();
        match member(obj, key) {
            None => {}
            Some(Value::Obj(members)) => {
                for (name, v) in members {
                    match v {
                        Value::Str(s) => out.push((name.clone(), s.clone())),
                        Value::Null => out.push((name.clone(), String::new())),
                        v => return Err(wrong_type(&format!("{}.{}", key, name), "a string", v)),
                    }
                }
            }
            Some(v) => return Err(wrong_type(key, "an object", v)),
        }
        Ok(Settings(out))
    }

    /// The setting's value, "" when unset (the last one of a repeated name).
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

// ============================================================================
// Part 3: the provider (examples/northwind/main.go).
// ============================================================================

/// describe: who the plugin is, its settings, and both optional hooks.
fn describe(_: &Value) -> Result<String, String> {
    Ok(format!(
        concat!(
            r#"{{"name":"northwind","version":"0.1.0","contract_version":{},"#,
            r#""summary":"Northwind ID, the (fictional) identity provider of Northwind Traders","#,
            r#""settings":["#,
            r#"{{"name":"tenant","type":"string","required":true,"secret":false,"help":"your tenant: https://<tenant>.northwind-id.example"}},"#,
            r#"{{"name":"base_url","type":"url","required":false,"secret":false,"help":"the tenant's URL, when it is not https://<tenant>.northwind-id.example"}},"#,
            r#"{{"name":"api","type":"string","required":false,"secret":false,"help":"the API the tokens are for, sent as audience"}}"#,
            r#"],"hooks":["prepare","interpret"]}}"#
        ),
        CONTRACT_VERSION
    ))
}

/// A problem with one setting (`config-error`).
struct ConfigError {
    setting: &'static str,
    message: String,
}

/// configure: the tenant (or base_url) becomes the endpoints; api becomes an
/// audience on device authorization; a client secret is posted in the body.
/// Returns `{"ok": provider-spec}` or `{"err": [config-error]}`.
fn configure(doc: &Value) -> Result<String, String> {
    let settings = Settings::read(doc, "settings")?;
    let mut client_secret = String::new();
    if let Some(client) = read_object(doc, "client", "")? {
        read_string(client, "client_id", "client")?;
        read_strings(client, "scopes", "client")?;
        client_secret = read_string(client, "client_secret", "client")?;
    }
    Ok(match provider_spec(&settings, !client_secret.is_empty()) {
        Ok(spec) => format!("{{\"ok\":{}}}", spec),
        Err(e) => format!(
            "{{\"err\":[{{\"setting\":{},\"message\":{}}}]}}",
            quote(e.setting),
            quote(&e.message)
        ),
    })
}

/// The provider-spec of a tenant, as JSON.
fn provider_spec(settings: &Settings, has_secret: bool) -> Result<String, ConfigError> {
    let tenant = settings.get("tenant");
    if tenant.is_empty() {
        return Err(ConfigError {
            setting: "tenant",
            message: r#"is required: set tenant = "<tenant>", as in https://<tenant>.northwind-id.example"#.to_string(),
        });
    }
    if tenant.contains(['.', '/', ':']) {
        return Err(ConfigError {
            setting: "tenant",
            message: "is the tenant's name, not a URL: set base_url for a URL".to_string(),
        });
    }
    let mut base = format!("https://{}.northwind-id.example", tenant);
    let raw = settings.get("base_url");
    if !raw.is_empty() {
        base = check_url("base_url", raw)?;
    }
    log_message(LOG_DEBUG, &format!("Northwind ID at {}", base));

    let endpoint = |path: &str| quote(&format!("{}{}", base, path));
    let auth_style = if has_secret { "post" } else { "none" };
    let api = settings.get("api");
    let extra_params = if api.is_empty() {
        "[]".to_string()
    } else {
        format!(
            r#"[{{"exchange":"device_authorization","name":"audience","value":{}}}]"#,
            quote(api)
        )
    };
    Ok(format!(
        concat!(
            r#"{{"issuer":{},"#,
            r#""endpoints":{{"device_authorization":{},"token":{},"userinfo":{},"revocation":{},"jwks":{}}},"#,
            r#""auth_style":"{}","default_scopes":["openid","profile","offline_access"],"extra_params":{}}}"#
        ),
        endpoint("/"),
        endpoint("/oauth2/device"),
        endpoint("/oauth2/token"),
        endpoint("/oauth2/me"),
        endpoint("/oauth2/revoke"),
        endpoint("/oauth2/keys"),
        auth_style,
        extra_params
    ))
}

/// prepare: Northwind wants to know the client, on every request.
fn prepare(doc: &Value) -> Result<String, String> {
    read_string(doc, "exchange", "")?;
    let empty = Value::Obj(Vec::new());
    let request = read_object(doc, "request", "")?.unwrap_or(&empty);
    let method = read_string(request, "method", "request")?;
    let url = read_string(request, "url", "request")?;
    let mut headers = read_headers(request, "headers", "request")?;
    let body = read_string(request, "body", "request")?;
    headers.push(("Northwind-Client".to_string(), "idplug".to_string()));
    Ok(format!(
        r#"{{"method":{},"url":{},"headers":{},"body":{}}}"#,
        quote(&method),
        quote(&url),
        write_headers(&headers),
        quote(&body)
    ))
}

/// Northwind's answers to a poll, as RFC 8628 errors.
fn rfc8628_error(status: &str) -> Option<&'static str> {
    match status {
        "waiting" => Some("authorization_pending"),
        "slow" => Some("slow_down"),
        "rejected" => Some("access_denied"),
        "timeout" => Some("expired_token"),
        _ => None,
    }
}

/// interpret: Northwind answers a pending poll with 202 {"status":"waiting"}
/// rather than 400 {"error":"authorization_pending"}. Other exchanges, a 200,
/// and a body without a status word pass unchanged; an unknown word fails.
fn interpret(doc: &Value) -> Result<String, String> {
    let exchange = read_string(doc, "exchange", "")?;
    let empty = Value::Obj(Vec::new());
    let response = read_object(doc, "response", "")?.unwrap_or(&empty);
    let mut status = read_u16(response, "status", "response")?;
    let headers = read_headers(response, "headers", "response")?;
    let mut body = read_string(response, "body", "response")?;
    if exchange == "token_poll" && status != 200 {
        if let Some(word) = poll_status(&body) {
            match rfc8628_error(&word) {
                Some(rfc) => {
                    status = 400;
                    body = format!(r#"{{"error":"{}"}}"#, rfc);
                }
                None => return Err(format!("unknown poll status {}", word)),
            }
        }
    }
    Ok(format!(
        r#"{{"status":{},"headers":{},"body":{}}}"#,
        status,
        write_headers(&headers),
        quote(&body)
    ))
}

/// The status word of a poll response's body, as the Go plugin's
/// `json.Unmarshal(body, &struct{ Status string })` finds it: None when the
/// body is not JSON, is not an object, has a status member that is not a
/// string, or has none (or an empty one). Go matches the member's name
/// without regard to case (and lets 'ſ' stand for 's'), takes the last one,
/// and skips a null.
fn poll_status(body: &str) -> Option<String> {
    let doc = parse_json(body.as_bytes()).ok()?;
    let members = match &doc {
        Value::Obj(members) => members,
        _ => return None, // null leaves the status empty; other values are type errors
    };
    let mut status = String::new();
    for (key, value) in members {
        if !is_status_key(key) {
            continue;
        }
        match value {
            Value::Str(s) => status = s.clone(),
            Value::Null => {}
            _ => return None, // Go's decoder reports a type error
        }
    }
    Some(status).filter(|s| !s.is_empty())
}

/// Whether key equals "status" under Go's encoding/json case folding.
fn is_status_key(key: &str) -> bool {
    let mut chars = key.chars();
    for want in "status".chars() {
        match chars.next() {
            Some(c) if c.to_ascii_lowercase() == want => {}
            Some('\u{17F}') if want == 's' => {} // LATIN SMALL LETTER LONG S folds to 's'
            _ => return false,
        }
    }
    chars.next().is_none()
}

/// identity: the standard OpenID Connect claims, then Northwind's own:
/// nw:login (username), display_name (name), nw:teams (groups).
fn identity(doc: &Value) -> Result<String, String> {
    let empty = Value::Obj(Vec::new());
    let id_token = read_object(doc, "id_token_claims", "")?.unwrap_or(&empty);
    let userinfo = read_object(doc, "userinfo", "")?.unwrap_or(&empty);
    Settings::read(doc, "settings")?; // unused by Northwind, but checked

    // sdk.Merge(idToken, userinfo): userinfo's members win, null included.
    let claim = |name: &str| userinfo.member(name).or_else(|| id_token.member(name));

    // sdk.StandardIdentity.
    let mut subject = claim_string(claim("sub"));
    let id_sub = claim_string(id_token.member("sub"));
    if !id_sub.is_empty() {
        subject = id_sub; // the ID token's sub, which userinfo's must match
    }
    let mut username = claim_string(claim("preferred_username"));
    let mut name = claim_string(claim("name"));
    let email = claim_string(claim("email"));
    let mut groups = claim_strings(claim("groups")).unwrap_or_default();
    if username.is_empty() {
        username = email.clone();
    }

    // Northwind's claims.
    let login = claim_string(claim("nw:login"));
    if !login.is_empty() {
        username = login;
    }
    let display_name = claim_string(claim("display_name"));
    if !display_name.is_empty() {
        name = display_name;
    }
    if let Some(teams) = claim_strings(claim("nw:teams")).filter(|t| !t.is_empty()) {
        groups = teams;
    }

    Ok(format!(
        r#"{{"subject":{},"username":{},"name":{},"email":{},"groups":{}}}"#,
        quote(&subject),
        quote(&username),
        quote(&name),
        quote(&email),
        quote_list(&groups)
    ))
}

/// sdk.Claims.String: the claim as a string, "" when absent or not a string.
fn claim_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    }
}

/// sdk.Claims.Strings: a string is a one-element list; an array keeps its
/// strings; anything else is None.
fn claim_strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v {
        Some(Value::Str(s)) => Some(vec![s.clone()]),
        Some(Value::Arr(items)) => Some(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

// ---- sdk.CheckURL, with the parts of Go's net/url and net/netip it uses. ----

/// sdk.CheckURL: an absolute https URL, or http for a loopback host
/// (127.0.0.0/8, ::1, localhost), without query or fragment. Returns the URL
/// as Go's url.URL.String() writes it, without a trailing slash, or a
/// ConfigError saying what to write instead, with the Go SDK's messages.
fn check_url(setting: &'static str, raw: &str) -> Result<String, ConfigError> {
    let fail = |message: String| Err(ConfigError { setting, message });
    let u = match parse_url(raw.as_bytes()) {
        Some(u) if !u.host.is_empty() => u,
        _ => {
            return fail(format!(
                "must be an absolute https URL such as https://idp.example.com, got \"{}\"",
                raw
            ))
        }
    };
    if u.scheme == b"http" && !is_loopback(hostname(&u.host)) {
        let mut suggestion = u.host.clone();
        suggestion.extend_from_slice(&u.path);
        return fail(format!(
            "http:// is accepted only for loopback hosts; use https://{}",
            go_lossy(suggestion)
        ));
    }
    if !u.raw_query.is_empty() || !u.fragment.is_empty() {
        return fail("must not carry a query or fragment".to_string());
    }
    let mut s = go_lossy(u.to_bytes());
    if s.ends_with('/') {
        s.pop();
    }
    Ok(s)
}

/// A URL as Go's url.Parse splits it, for the http and https URLs that
/// check_url accepts.
struct Url {
    scheme: Vec<u8>,                          // lower case: http or https
    user: Option<(Vec<u8>, Option<Vec<u8>>)>, // unescaped user name and password
    host: Vec<u8>,                            // unescaped host[:port]
    path: Vec<u8>,                            // unescaped
    raw_path: Vec<u8>,                        // as written, when escaping path differs
    force_query: bool,                        // a lone '?' at the end
    raw_query: Vec<u8>,                       // as written, after the '?'
    fragment: Vec<u8>,                        // unescaped
}

/// Go's url.Parse, for absolute http and https URLs with an authority
/// (scheme://…). None where url.Parse fails, and also for every URL it
/// would parse without a host or with another scheme: check_url refuses
/// both with the same message.
fn parse_url(raw: &[u8]) -> Option<Url> {
    let (u, frag) = match raw.iter().position(|&c| c == b'#') {
        Some(i) => (&raw[..i], &raw[i + 1..]),
        None => (raw, &raw[raw.len()..]),
    };
    if u.iter().any(|&b| b < b' ' || b == 0x7f) {
        return None; // "invalid control character in URL"
    }
    let (scheme, rest) = get_scheme(u)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != b"http" && scheme != b"https" {
        return None;
    }
    let questions = rest.iter().filter(|&&c| c == b'?').count();
    let (rest, force_query, raw_query) = if rest.last() == Some(&b'?') && questions == 1 {
        (&rest[..rest.len() - 1], true, &rest[rest.len()..])
    } else {
        match rest.iter().position(|&c| c == b'?') {
            Some(i) => (&rest[..i], false, &rest[i + 1..]),
            None => (rest, false, &rest[rest.len()..]),
        }
    };
    // Without "//", the URL is opaque (http:x) or has no host (http:/x).
    let after = rest.strip_prefix(b"//")?;
    let (authority, raw_path) = match after.iter().position(|&c| c == b'/') {
        Some(i) => after.split_at(i),
        None => (after, &after[after.len()..]),
    };
    let (user, host) = parse_authority(authority)?;
    let path = unescape(raw_path, Mode::Path)?;
    let raw_path = if escape(&path, Mode::Path) == raw_path {
        Vec::new()
    } else {
        raw_path.to_vec()
    };
    let fragment = if frag.is_empty() {
        Vec::new()
    } else {
        unescape(frag, Mode::Fragment)?
    };
    Some(Url {
        scheme,
        user,
        host,
        path,
        raw_path,
        force_query,
        raw_query: raw_query.to_vec(),
        fragment,
    })
}

impl Url {
    /// Go's URL.String for such a URL (it has a host and no fragment).
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.scheme.clone();
        out.extend_from_slice(b"://");
        if let Some((name, password)) = &self.user {
            out.extend(escape(name, Mode::UserPassword));
            if let Some(p) = password {
                out.push(b':');
                out.extend(escape(p, Mode::UserPassword));
            }
            out.push(b'@');
        }
        out.extend(escape(&self.host, Mode::Host));
        let path = self.escaped_path();
        if matches!(path.first(), Some(&c) if c != b'/') {
            out.push(b'/');
        }
        out.extend(path);
        if self.force_query || !self.raw_query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(&self.raw_query);
        }
        out
    }

    /// Go's URL.EscapedPath: the path as written when that is a valid
    /// encoding of it, else the path escaped.
    fn escaped_path(&self) -> Vec<u8> {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).as_deref() == Some(&self.path[..])
        {
            return self.raw_path.clone();
        }
        escape(&self.path, Mode::Path)
    }
}

/// Go's getScheme: the scheme ([a-zA-Z][a-zA-Z0-9+.-]*) before the first
/// ':', and the rest; None when there is none (or the URL starts with ':').
fn get_scheme(u: &[u8]) -> Option<(&[u8], &[u8])> {
    for (i, &c) in u.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i > 0 => return Some((&u[..i], &u[i + 1..])),
            _ => return None,
        }
    }
    None
}

/// Go's parseAuthority: [userinfo@]host.
#[allow(clippy::type_complexity)]
fn parse_authority(authority: &[u8]) -> Option<(Option<(Vec<u8>, Option<Vec<u8>>)>, Vec<u8>)> {
    let at = authority.iter().rposition(|&c| c == b'@');
    let host = parse_host(match at {
        Some(i) => &authority[i + 1..],
        None => authority,
    })?;
    let user = match at {
        None => None,
        Some(i) => {
            let userinfo = &authority[..i];
            if !userinfo
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c))
            {
                return None; // "invalid userinfo"
            }
            match userinfo.iter().position(|&c| c == b':') {
                None => Some((unescape(userinfo, Mode::UserPassword)?, None)),
                Some(c) => Some((
                    unescape(&userinfo[..c], Mode::UserPassword)?,
                    Some(unescape(&userinfo[c + 1..], Mode::UserPassword)?),
                )),
            }
        }
    };
    Some((user, host))
}

/// Go's parseHost for http and https: host[:port] or [IPv6[%25zone]][:port],
/// unescaped. Go 1.26 takes the first colon of an http(s) host as the start
/// of the port, so a second colon outside brackets is an error.
fn parse_host(host: &[u8]) -> Option<Vec<u8>> {
    match host.iter().rposition(|&c| c == b'[') {
        Some(0) => {
            let close = host.iter().rposition(|&c| c == b']')?;
            let colon_port = &host[close + 1..];
            if !valid_optional_port(colon_port) {
                return None;
            }
            let colon_port = unescape(colon_port, Mode::Host)?;
            let name = &host[1..close];
            let unescaped = match find(name, b"%25") {
                Some(z) => {
                    let mut h = unescape(&name[..z], Mode::Host)?;
                    h.extend(unescape(&name[z..], Mode::Zone)?);
                    h
                }
                None => unescape(name, Mode::Host)?,
            };
            // Only an IPv6 address may stand in brackets (IPv4-mapped ones too).
            match parse_addr(&unescaped) {
                Some(Addr::V6(_)) => {}
                _ => return None,
            }
            let mut out = Vec::with_capacity(unescaped.len() + colon_port.len() + 2);
            out.push(b'[');
            out.extend_from_slice(&unescaped);
            out.push(b']');
            out.extend_from_slice(&colon_port);
            Some(out)
        }
        Some(_) => None, // "invalid IP-literal"
        None => {
            if let Some(i) = host.iter().position(|&c| c == b':') {
                if !valid_optional_port(&host[i..]) {
                    return None;
                }
            }
            unescape(host, Mode::Host)
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// "" or ':' followed by digits.
fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((&b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// Go's URL.Hostname: the host without its port and brackets.
fn hostname(host: &[u8]) -> &[u8] {
    let mut h = host;
    if let Some(colon) = h.iter().rposition(|&c| c == b':') {
        if valid_optional_port(&h[colon..]) {
            h = &h[..colon];
        }
    }
    if h.len() >= 2 && h[0] == b'[' && h[h.len() - 1] == b']' {
        h = &h[1..h.len() - 1];
    }
    h
}

/// sdk.IsLoopback: localhost, or an IP address netip calls loopback.
fn is_loopback(host: &[u8]) -> bool {
    if host == b"localhost" {
        return true;
    }
    match parse_addr(host) {
        Some(Addr::V4(ip)) => ip[0] == 127,
        Some(Addr::V6(ip))
            if ip[..10].iter().all(|&b| b == 0) && ip[10] == 0xff && ip[11] == 0xff =>
        {
            ip[12] == 127 // IPv4-mapped: netip unmaps it first
        }
        Some(Addr::V6(ip)) => ip[..15].iter().all(|&b| b == 0) && ip[15] == 1,
        None => false,
    }
}

/// The parts of a URL Go escapes differently (net/url's encoding modes).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Go's shouldEscape.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if (mode == Mode::Host || mode == Mode::Zone) && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    !(mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*'))
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Go's unescape (for every mode but the query's): %XX to bytes, with the
/// checks Go makes on hosts and zones.
fn unescape(s: &[u8], mode: Mode) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c != b'%' {
            if (mode == Mode::Host || mode == Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                return None; // "invalid character in host name"
            }
            out.push(c);
            i += 1;
            continue;
        }
        let hi = s.get(i + 1).copied().and_then(hex_value)?;
        let lo = s.get(i + 2).copied().and_then(hex_value)?;
        let v = hi << 4 | lo;
        let is_pct25 = v == 0x25 && s.get(i + 1) == Some(&b'2'); // literally "%25"
        if mode == Mode::Host && hi < 8 && !is_pct25 {
            return None; // a host may %-escape only non-ASCII bytes
        }
        if mode == Mode::Zone && !is_pct25 && v != b' ' && should_escape(v, Mode::Host) {
            return None;
        }
        out.push(v);
        i += 3;
    }
    Some(out)
}

/// Go's escape: %XX (upper case) for each byte the mode escapes.
fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            out.extend_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
        } else {
            out.push(c);
        }
    }
    out
}

/// Go's validEncoded: s holds no byte that escaping would change, but for
/// the sub-delimiters, ':', '@', brackets and '%'.
fn valid_encoded(s: &[u8], mode: Mode) -> bool {
    s.iter()
        .all(|&c| b"!$&'()*+,;=:@[]%".contains(&c) || !should_escape(c, mode))
}

/// An IP address, as Go's netip.ParseAddr reads it.
enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

/// Go's netip.ParseAddr: dotted IPv4, or IPv6 with an optional %zone.
fn parse_addr(s: &[u8]) -> Option<Addr> {
    for &c in s {
        match c {
            b'.' => return parse_ipv4(s).map(Addr::V4),
            b':' => return parse_ipv6(s).map(Addr::V6),
            b'%' => return None, // a zone without an address
            _ => {}
        }
    }
    None
}

/// Go's parseIPv4Fields: four decimal fields without leading zeros, each
/// at most 255.
fn parse_ipv4(s: &[u8]) -> Option<[u8; 4]> {
    let mut fields = [0u8; 4];
    let (mut val, mut pos, mut digits) = (0u32, 0usize, 0);
    for (i, &c) in s.iter().enumerate() {
        if c.is_ascii_digit() {
            if digits == 1 && val == 0 {
                return None; // leading zero
            }
            val = val * 10 + (c - b'0') as u32;
            digits += 1;
            if val > 255 {
                return None;
            }
        } else if c == b'.' {
            if i == 0 || i == s.len() - 1 || s[i - 1] == b'.' || pos == 3 {
                return None;
            }
            fields[pos] = val as u8;
            pos += 1;
            val = 0;
            digits = 0;
        } else {
            return None;
        }
    }
    if pos < 3 {
        return None;
    }
    fields[3] = val as u8;
    Some(fields)
}

/// Go's parseIPv6: groups of up to four hex digits, one optional "::", an
/// optional trailing dotted IPv4, and an optional non-empty %zone.
fn parse_ipv6(input: &[u8]) -> Option<[u8; 16]> {
    let mut s = input;
    let mut end = input.len(); // where the address ends: before the zone
    if let Some(p) = s.iter().position(|&c| c == b'%') {
        if p + 1 == s.len() {
            return None; // empty zone
        }
        s = &s[..p];
        end = p;
    }
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    if s.starts_with(b"::") {
        ellipsis = Some(0);
        s = &s[2..];
        if s.is_empty() {
            return Some(ip);
        }
    }
    let mut i = 0;
    while i < 16 {
        let mut off = 0;
        let mut acc: u32 = 0;
        while let Some(d) = s.get(off).copied().and_then(hex_value) {
            acc = acc << 4 | d as u32;
            if off > 3 || acc > 0xffff {
                return None;
            }
            off += 1;
        }
        if off == 0 {
            return None;
        }
        if s.get(off) == Some(&b'.') {
            // A trailing IPv4 address, in place of the last two groups.
            if (ellipsis.is_none() && i != 12) || i + 4 > 16 {
                return None;
            }
            let v4 = parse_ipv4(&input[end - s.len()..end])?;
            ip[i..i + 4].copy_from_slice(&v4);
            s = &[];
            i += 4;
            break;
        }
        ip[i] = (acc >> 8) as u8;
        ip[i + 1] = acc as u8;
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return None;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis.is_some() {
                return None; // a second "::"
            }
            ellipsis = Some(i);
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return None;
    }
    if i < 16 {
        let e = ellipsis?;
        let n = 16 - i;
        let mut j = i;
        while j > e {
            j -= 1;
            ip[j + n] = ip[j];
        }
        for b in &mut ip[e..e + n] {
            *b = 0;
        }
    } else if ellipsis.is_some() {
        return None; // "::" must stand for at least one group
    }
    Some(ip)
}
