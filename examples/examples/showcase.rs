//! typool on two realistic workloads, each run with and without it, in one process:
//!
//! 1. **Order book** — a matching engine's resting orders churn: fill a book, cancel half,
//!    refill, clear. `Box<Order>` against `PoolBox<Order>` (`#[derive(Pooled)]`).
//! 2. **Request parsing** — split an HTTP-like request into header and query vectors and
//!    lower-case the header names. `String`/`Vec` from the global allocator against the same
//!    code on a per-request arena (`#[arena_scope]`).
//!
//! `cargo run --release --example showcase`

use std::hint::black_box;
use std::time::{Duration, Instant};
use typool::{arena_scope, ArenaVec, PoolBox, Pooled};

#[derive(Pooled, Clone, Debug)]
#[pooled(initial = 4096)]
struct Order {
    id: u64,
    price: u32,
    qty: u32,
    trader: [u8; 16],
    flags: u64,
    ts: u64,
}

/// Each round fills a book of `BOOK` orders, cancels every other one, refills, clears.
fn order_book<B: std::ops::Deref<Target = Order>>(make: fn(Order) -> B) -> (Duration, u64) {
    const ROUNDS: usize = 2_000;
    const BOOK: usize = 1_000;
    let start = Instant::now();
    let mut checksum = 0u64;
    let mut orders: Vec<B> = Vec::with_capacity(2 * BOOK);
    for r in 0..ROUNDS {
        for i in 0..BOOK {
            let id = (r * BOOK + i) as u64;
            orders.push(make(Order {
                id,
                price: 100 + (id % 7) as u32,
                qty: 1,
                trader: [0; 16],
                flags: 0,
                ts: id,
            }));
        }
        let mut i = 0;
        orders.retain(|_| {
            i += 1;
            i % 2 == 0
        });
        for i in 0..BOOK / 2 {
            orders.push(make(Order {
                id: i as u64,
                price: 99,
                qty: 2,
                trader: [1; 16],
                flags: 1,
                ts: 0,
            }));
        }
        checksum = orders.iter().fold(checksum, |acc, o| {
            acc.wrapping_add(
                o.id ^ u64::from(o.price)
                    ^ u64::from(o.qty)
                    ^ o.flags
                    ^ o.ts
                    ^ u64::from(o.trader[0]),
            )
        });
        orders.clear();
    }
    (start.elapsed(), checksum)
}

const REQUESTS: [&str; 4] = [
    "GET /search?q=memory+pools&sort=price&page=2 HTTP/1.1\r\nHost: shop.example\r\nAccept: application/json\r\nUser-Agent: curl/8.5\r\n\r\n",
    "POST /cart/items HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 27\r\n\r\n",
    "GET /items/4711?fields=name,price HTTP/1.1\r\nHost: shop.example\r\nIf-None-Match: \"abc123\"\r\nAccept: */*\r\n\r\n",
    "DELETE /cart/items/BOLT-M8 HTTP/1.1\r\nHost: shop.example\r\nAuthorization: Bearer t0k3n\r\nAccept-Language: de-DE\r\n\r\n",
];

/// The request parser with std collections: every temporary from the global allocator.
fn parse_std(raw: &str) -> usize {
    let mut lines = raw.split("\r\n");
    let target = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut headers: Vec<(String, &str)> = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(": ") {
            headers.push((name.to_ascii_lowercase(), value));
        }
    }
    let query: Vec<&str> = target
        .split_once('?')
        .map_or("", |(_, q)| q)
        .split('&')
        .collect();
    headers
        .iter()
        .map(|(n, v)| n.len() + v.len())
        .sum::<usize>()
        + query.len()
}

/// The same parser on the request's arena.
#[arena_scope(capacity = 4096)]
fn parse_arena(raw: &str) -> usize {
    let mut lines = raw.split("\r\n");
    let target = arena.alloc_str(lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("/"));
    let mut headers: ArenaVec<(&str, &str)> = ArenaVec::new_in(arena);
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(": ") {
            let name = arena.alloc_str(name);
            name.make_ascii_lowercase();
            headers.push((name, value));
        }
    }
    let mut query: ArenaVec<&str> = ArenaVec::new_in(arena);
    query.extend(target.split_once('?').map_or("", |(_, q)| q).split('&'));
    headers
        .iter()
        .map(|(n, v)| n.len() + v.len())
        .sum::<usize>()
        + query.len()
}

fn requests(parse: fn(&str) -> usize) -> (Duration, u64) {
    let start = Instant::now();
    let mut total = 0u64;
    for raw in REQUESTS.iter().cycle().take(1_000_000) {
        total += parse(black_box(raw)) as u64;
    }
    (start.elapsed(), total)
}

fn row(name: &str, without: (Duration, u64), with: (Duration, u64)) {
    assert_eq!(
        without.1, with.1,
        "{name}: both variants must compute the same result"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {name:<36} | {:>14.1} ms | {:>11.1} ms | {:>7.2}x |",
        ms(without.0),
        ms(with.0),
        without.0.as_secs_f64() / with.0.as_secs_f64()
    );
}

fn main() {
    println!(
        "| workload                             | without typool    | with typool    | speed-up |"
    );
    println!(
        "|--------------------------------------|-------------------|----------------|----------|"
    );
    row(
        "order book, 3M orders (Box/PoolBox)",
        order_book(Box::new),
        order_book(PoolBox::new),
    );
    row(
        "1M requests parsed (std/arena)",
        requests(parse_std),
        requests(parse_arena),
    );
    println!(
        "\nThe pool behind PoolBox<Order>:\n  {}",
        Order::pool().stats()
    );
    println!("\nOne run, one machine: times move by ±10% on a shared host. Criterion suites with");
    println!("the crates users pick instead are in BENCHMARKS.md (cargo bench -p typool-benches).");
}
