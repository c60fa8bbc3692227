//! One 64-byte message from process A to process B and back, three ways: a typool shared
//! segment (`typool::shm`), a Unix-domain socket pair, and a pair of pipes.
//!
//! `cargo run --release --manifest-path benches/Cargo.toml --bin ipc_pingpong [ROUND_TRIPS]`
//!
//! The binary runs itself again as B (`ipc_pingpong peer <transport> …`). Every round trip is
//! timed on A with `Instant`; the table gives the percentiles of half a round trip (one way),
//! from an `hdrhistogram`, after a warm-up. Shared memory is polled (each side spins on `recv`,
//! a core each, as iceoryx2's published figures also poll); the socket and the pipes block in
//! `read`, as programs use them. Each direction of the shared-memory transport is a segment
//! of its own (`…-ping`, `…-pong`): a segment's message ring goes to whichever handle receives
//! first, and A must not receive its own ping.

use hdrhistogram::Histogram;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use typool::bytemuck::{Pod, Zeroable};
use typool::shm::SharedPool;

/// The message: 64 bytes, a sequence number and a payload the peer checks.
#[derive(Clone, Copy, Pod, Zeroable)]
#[bytemuck(crate = "typool::bytemuck")]
#[repr(C)]
pub struct Msg {
    seq: u64,
    payload: [u64; 7],
}

const WARMUP: u64 = 10_000;

fn msg(seq: u64) -> Msg {
    Msg {
        seq,
        payload: [seq ^ 0xa5a5; 7],
    }
}

fn check(m: &Msg, seq: u64) {
    assert!(
        m.seq == seq && m.payload == [seq ^ 0xa5a5; 7],
        "message {seq} damaged"
    );
}

/// Runs the benchmark (A), or B when the arguments say so.
pub fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("peer") {
        return peer(&args[2], &args[3], args[4].parse().unwrap());
    }
    let trips: u64 = args.get(1).map_or(200_000, |n| n.parse().unwrap());
    println!(
        "one 64-byte message A -> B, then B -> A; one way = half a round trip; \
         {trips} round trips after {WARMUP} warm-up\n"
    );
    println!("| transport | mean | p50 | p99 | p99.9 | max |\n|---|---:|---:|---:|---:|---:|");
    for transport in ["shm", "unix-socket", "pipe"] {
        let h = run(transport, trips);
        let ns = |q: f64| h.value_at_quantile(q) as f64 / 2.0;
        println!(
            "| {transport} | {:.0} ns | {:.0} ns | {:.0} ns | {:.0} ns | {:.0} ns |",
            h.mean() / 2.0,
            ns(0.5),
            ns(0.99),
            ns(0.999),
            h.max() as f64 / 2.0
        );
    }
}

fn spawn_peer(transport: &str, name: &str, trips: u64) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["peer", transport, name, &(trips + WARMUP).to_string()]);
    cmd
}

fn run(transport: &str, trips: u64) -> Histogram<u64> {
    let name = format!("typool-ipc-{}", std::process::id());
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let total = trips + WARMUP;
    let mut record = |seq: u64, start: Instant| {
        if seq >= WARMUP {
            h.record(start.elapsed().as_nanos() as u64).unwrap();
        }
    };
    let child: Child = match transport {
        "shm" => {
            let ping = SharedPool::<Msg>::create(&format!("{name}-ping"), 64).unwrap();
            let pong = SharedPool::<Msg>::create(&format!("{name}-pong"), 64).unwrap();
            let child = spawn_peer(transport, &name, trips).spawn().unwrap();
            for seq in 0..total {
                let start = Instant::now();
                let b = ping.alloc(msg(seq)).expect("a free slot");
                assert!(ping.send(b).is_ok());
                let back = loop {
                    match pong.recv() {
                        Some(b) => break b,
                        None => std::hint::spin_loop(),
                    }
                };
                check(&back, seq);
                drop(back);
                record(seq, start);
            }
            for side in ["ping", "pong"] {
                let _ = SharedPool::<Msg>::unlink(&format!("{name}-{side}"));
            }
            child
        }
        "unix-socket" | "pipe" => {
            let mut cmd = spawn_peer(transport, &name, trips);
            let (mut to, mut from, child);
            if transport == "pipe" {
                cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
                let mut c = cmd.spawn().unwrap();
                to = Box::new(c.stdin.take().unwrap()) as Box<dyn Write>;
                from = Box::new(c.stdout.take().unwrap()) as Box<dyn Read>;
                child = c;
            } else {
                let (a, b) = UnixStream::pair().unwrap();
                // B's end becomes its stdin; it writes back on the same socket.
                cmd.stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(b)));
                child = cmd.spawn().unwrap();
                to = Box::new(a.try_clone().unwrap());
                from = Box::new(a);
            }
            let mut buf = [0u8; 64];
            for seq in 0..total {
                let start = Instant::now();
                to.write_all(typool::bytemuck::bytes_of(&msg(seq))).unwrap();
                from.read_exact(&mut buf).unwrap();
                check(&typool::bytemuck::pod_read_unaligned(&buf), seq);
                record(seq, start);
            }
            child
        }
        other => panic!("unknown transport {other}"),
    };
    let status = { child }.wait().unwrap();
    assert!(status.success(), "peer: {status}");
    h
}

/// B: echoes `total` messages back.
fn peer(transport: &str, name: &str, total: u64) {
    match transport {
        "shm" => {
            let ping = SharedPool::<Msg>::open(&format!("{name}-ping")).unwrap();
            let pong = SharedPool::<Msg>::open(&format!("{name}-pong")).unwrap();
            for seq in 0..total {
                let got = loop {
                    match ping.recv() {
                        Some(b) => break b,
                        None => std::hint::spin_loop(),
                    }
                };
                check(&got, seq);
                let reply = pong.alloc(*got).expect("a free slot");
                drop(got);
                assert!(pong.send(reply).is_ok());
            }
        }
        "unix-socket" => {
            use std::os::fd::FromRawFd;
            // SAFETY: fd 0 is the socket A passed as stdin; this process owns it from here.
            let mut s = unsafe { UnixStream::from_raw_fd(0) };
            echo(&mut s.try_clone().unwrap(), &mut s, total);
        }
        "pipe" => echo(
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            total,
        ),
        other => panic!("unknown transport {other}"),
    }
}

fn echo(from: &mut impl Read, to: &mut impl Write, total: u64) {
    let mut buf = [0u8; 64];
    for seq in 0..total {
        from.read_exact(&mut buf).unwrap();
        check(&typool::bytemuck::pod_read_unaligned(&buf), seq);
        to.write_all(&buf).unwrap();
        to.flush().unwrap();
    }
}
