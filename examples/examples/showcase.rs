//! A small order-book workload on derived pools, run with `PoolBox` and with `Box`, printing
//! the time of each and the pools' statistics.
//!
//! `cargo run --release --example showcase`

use std::time::Instant;
use typool::{PoolBox, Pooled};

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

fn main() {
    let rounds = 2_000;
    let book = 1_000;
    let boxed = run("Box<Order>", rounds, book, Box::new);
    let pooled = run("PoolBox<Order>", rounds, book, PoolBox::new);
    println!("\nspeed-up of PoolBox over Box: {:.2}x", boxed / pooled);
    println!("{}", Order::pool().stats());
}

/// Each round fills a book of `book` orders, cancels every other one, fills again, clears.
fn run<B: std::ops::Deref<Target = Order>>(
    name: &str,
    rounds: usize,
    book: usize,
    make: fn(Order) -> B,
) -> f64 {
    let start = Instant::now();
    let mut checksum = 0u64;
    let mut orders: Vec<B> = Vec::with_capacity(2 * book);
    for r in 0..rounds {
        for i in 0..book {
            let id = (r * book + i) as u64;
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
        for i in 0..book / 2 {
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
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:>16}: {:8.2} ms  ({} allocations, checksum {checksum:x})",
        secs * 1e3,
        rounds * book * 3 / 2
    );
    secs
}
