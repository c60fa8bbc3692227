//! Two processes share typed objects through a `typool::shm` segment, without a copy:
//!
//! ```text
//! cargo run --release --example shm_pingpong
//! ```
//!
//! The program is process A; it starts itself again as process B. A sends 100,000 `Quote`s
//! over segment `…-quotes`; B reads each in place, checks it, and answers with an `Ack` over
//! segment `…-acks` (one segment per direction: a segment's ring goes to whoever receives
//! first). Then a third process takes 10 slots and aborts, and A's `recover()` brings them
//! back. Every slot is free at the end, and both segments are unlinked.
#![cfg_attr(not(target_os = "linux"), allow(unused))]

#[cfg(target_os = "linux")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("typool::shm needs Linux");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::process::Command;
    use std::time::Instant;
    use typool::bytemuck::{Pod, Zeroable};
    use typool::shm::SharedPool;

    /// What the feed publishes: plain data, no pointers (a `Pod`).
    #[derive(Clone, Copy, Pod, Zeroable)]
    #[bytemuck(crate = "typool::bytemuck")]
    #[repr(C)]
    struct Quote {
        seq: u64,
        bid: f64,
        ask: f64,
        size: u32,
        symbol: [u8; 4],
    }

    #[derive(Clone, Copy, Pod, Zeroable)]
    #[bytemuck(crate = "typool::bytemuck")]
    #[repr(C)]
    struct Ack {
        seq: u64,
        mid: f64,
    }

    const QUOTES: u64 = 100_000;

    fn quote(seq: u64) -> Quote {
        let bid = 100.0 + (seq % 100) as f64 / 100.0;
        Quote {
            seq,
            bid,
            ask: bid + 0.01,
            size: 100 + (seq % 7) as u32,
            symbol: *b"TYPL",
        }
    }

    fn spin_recv<T: Pod>(pool: &SharedPool<T>) -> typool::shm::SharedBox<'_, T> {
        loop {
            if let Some(b) = pool.recv() {
                return b;
            }
            std::hint::spin_loop();
        }
    }

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let args: Vec<String> = std::env::args().collect();
        match args.get(1).map(String::as_str) {
            Some("strategy") => return strategy(&args[2]),
            Some("crasher") => crasher(&args[2]),
            _ => {}
        }
        let name = format!("typool-example-{}", std::process::id());
        let quotes = SharedPool::<Quote>::create(&format!("{name}-quotes"), 256)?;
        let acks = SharedPool::<Ack>::create(&format!("{name}-acks"), 256)?;
        let me = std::env::current_exe()?;
        let mut b = Command::new(&me).args(["strategy", &name]).spawn()?;

        let start = Instant::now();
        for seq in 0..QUOTES {
            let q = quotes.alloc(quote(seq)).expect("a free slot");
            // `send` hands the box back when the ring is full; this ring never is.
            assert!(quotes.send(q).is_ok());
            let ack = spin_recv(&acks);
            assert_eq!(ack.seq, seq);
        }
        let elapsed = start.elapsed();
        assert!(b.wait()?.success());
        println!(
            "{QUOTES} quotes to process B and acks back: {:.0} ns per round trip",
            elapsed.as_nanos() as f64 / QUOTES as f64
        );

        // A process that dies holding slots: they come back through `recover`.
        let status = Command::new(&me).args(["crasher", &name]).status()?;
        println!(
            "process C took 10 quotes and died ({status}); live before recover: {}",
            quotes.stats().live
        );
        let recovered = quotes.recover();
        println!(
            "recover() returned {recovered} slots: its 10 boxes, and {} free ones its cache held",
            recovered - 10
        );
        println!("live after recover: {}", quotes.stats().live);

        drop((quotes, acks));
        for side in ["quotes", "acks"] {
            SharedPool::<Quote>::unlink(&format!("{name}-{side}"))?;
        }
        Ok(())
    }

    /// Process B: reads each quote in place and acknowledges it.
    fn strategy(name: &str) -> Result<(), Box<dyn std::error::Error>> {
        let quotes = SharedPool::<Quote>::open(&format!("{name}-quotes"))?;
        let acks = SharedPool::<Ack>::open(&format!("{name}-acks"))?;
        for seq in 0..QUOTES {
            let q = spin_recv(&quotes);
            assert_eq!((q.seq, &q.symbol), (seq, b"TYPL"));
            let ack = Ack {
                seq,
                mid: (q.bid + q.ask) / 2.0,
            };
            drop(q); // the quote's slot is free again, for A to reuse
            assert!(acks.send(acks.alloc(ack).expect("a free slot")).is_ok());
        }
        Ok(())
    }

    /// Process C: takes 10 slots and aborts without giving them back.
    fn crasher(name: &str) -> ! {
        let quotes = SharedPool::<Quote>::open(&format!("{name}-quotes")).expect("open");
        let held: Vec<_> = (0..10)
            .map(|i| quotes.alloc(quote(i)).expect("slot"))
            .collect();
        std::mem::forget(held);
        std::process::abort();
    }
}
