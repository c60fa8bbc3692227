//! A request loop over an embedded corpus of HTTP-like requests, each handled by a function
//! with `#[arena_scope]`: every temporary of a request — the parsed headers, the decoded query,
//! the response being built — lives in the request's arena, which is reset and reused for the
//! next one. A counting global allocator shows how many system allocations each request made.
//!
//! `cargo run --release --example request_handlers`

use std::alloc::System;
use std::fmt::Write as _;
use typool::TrackingAllocator;
use typool::{arena_scope, Arena, ArenaVec};

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::new(System);

const CORPUS: &[&str] = &[
    "GET /index.html HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\nUser-Agent: curl/8.5\r\n\r\n",
    "GET /search?q=memory+pools&sort=price&page=2 HTTP/1.1\r\nHost: shop.example\r\nAccept: application/json\r\n\r\n",
    "POST /cart/items HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\nsku=BOLT-M8&qty=12&gift=no",
    "GET /items/4711 HTTP/1.1\r\nHost: shop.example\r\nIf-None-Match: \"abc123\"\r\nAccept: */*\r\n\r\n",
    "DELETE /cart/items/BOLT-M8 HTTP/1.1\r\nHost: shop.example\r\nAuthorization: Bearer t0k3n\r\n\r\n",
    "GET /search?q=arena%20allocator&page=1 HTTP/1.1\r\nHost: shop.example\r\nAccept-Language: de-DE,de;q=0.9,en;q=0.8\r\n\r\n",
];

/// Decodes `+` and `%XX` into an arena string.
fn decode<'a>(arena: &'a Arena, s: &str) -> &'a str {
    let mut out: ArenaVec<u8> = ArenaVec::with_capacity_in(s.len(), arena);
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex: [u8; 2] = [bytes.next().unwrap_or(b'0'), bytes.next().unwrap_or(b'0')];
                let v = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(v.unwrap_or(b'?'));
            }
            b => out.push(b),
        }
    }
    let bytes = arena.alloc_slice_copy(&out);
    std::str::from_utf8(bytes).unwrap_or("?")
}

/// Parses one request and writes a response summary into `out` (owned by the caller, so
/// nothing of the arena escapes).
#[arena_scope(capacity = 8192)]
fn handle(raw: &str, out: &mut String) -> usize {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.splitn(3, ' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));

    let mut headers: ArenaVec<(&str, &str)> = ArenaVec::new_in(arena);
    for line in lines {
        if let Some((name, value)) = line.split_once(": ") {
            let lower = arena.alloc_str(name);
            lower.make_ascii_lowercase();
            headers.push((lower, value));
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: ArenaVec<(&str, &str)> = ArenaVec::new_in(arena);
    for pair in query
        .split('&')
        .chain(body.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((decode(arena, k), decode(arena, v)));
    }
    let host = headers
        .iter()
        .find(|(n, _)| *n == "host")
        .map_or("-", |(_, v)| v);
    out.clear();
    let _ = write!(
        out,
        "{method} {path} on {host}: {} headers, {} params",
        headers.len(),
        params.len()
    );
    for (k, v) in params.iter() {
        let _ = write!(out, " [{k}={v}]");
    }
    arena.stats().bytes_used
}

#[arena_scope]
fn arena_stats_now() -> typool::ArenaStats {
    arena.stats()
}

fn main() {
    let mut out = String::with_capacity(1024);
    println!(
        "{:>4}  {:>12}  {:>10}  response",
        "req", "system allocs", "arena bytes"
    );
    for (i, raw) in CORPUS.iter().cycle().take(12).enumerate() {
        let before = GLOBAL.stats().allocations;
        let used = handle(raw, &mut out);
        let allocs = GLOBAL.stats().allocations - before;
        println!("{i:>4}  {allocs:>12}  {used:>10}  {out}");
    }

    let requests = 1_000_000;
    let before = GLOBAL.stats().allocations;
    let start = std::time::Instant::now();
    let mut total = 0;
    for raw in CORPUS.iter().cycle().take(requests) {
        total += handle(raw, &mut out);
    }
    let elapsed = start.elapsed();
    let allocs = GLOBAL.stats().allocations - before;
    println!(
        "\n{requests} more requests: {allocs} system allocations ({:.4} per request), {:.0} ns per request, {} arena bytes in all",
        allocs as f64 / requests as f64,
        elapsed.as_nanos() as f64 / requests as f64,
        total
    );
    println!("arena of this thread: {:?}", arena_stats_now());
}
