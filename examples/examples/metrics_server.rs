//! typool seen from a dashboard: a small HTTP server on 127.0.0.1 that runs a pooled workload
//! and serves `typool::stats::render_prometheus()` at `/metrics` (tiny_http; loopback only).
//!
//! ```sh
//! cargo run --release --example metrics_server             # http://127.0.0.1:9464/metrics
//! cargo run --release --example metrics_server -- --port 0 --seconds 30
//! curl -s 127.0.0.1:9464/metrics | grep typool_pool_live
//! ```
//!
//! The workload: sessions (`PoolBox<Session>`) come and go in waves, and each request is
//! handled in an `#[arena_scope]`. Next to typool's families the server reports
//! `app_sessions_held`, what the workload holds, so a scrape can check typool's figure
//! against it (`examples/tests/metrics_server.rs` does).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tiny_http::{Header, Response, Server};
use typool::{arena_scope, ArenaVec, PoolBox, Pooled};

#[derive(Pooled, Debug)]
struct Session {
    id: u64,
    score: [u32; 6],
}

/// One request's work, in its arena.
#[arena_scope]
fn handle(id: u64) -> u32 {
    let mut words: ArenaVec<&str> = ArenaVec::new_in(arena);
    let line = arena.alloc_str(&format!("MOVE id={id} dx=3 dy=4"));
    words.extend(line.split(' '));
    words.len() as u32
}

fn main() {
    let mut port = 9464u16;
    let mut seconds: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port N"),
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()),
            other => panic!("unknown option {other}; options: --port N, --seconds N"),
        }
    }
    let server = Server::http(("127.0.0.1", port)).expect("the port is free");
    let addr = server.server_addr().to_ip().expect("an IP listener");
    println!("serving http://{addr}/metrics");

    // The workload holds its sessions under this lock, so a scrape sees it between steps.
    let held: Arc<Mutex<Vec<PoolBox<Session>>>> = Arc::default();
    let work = held.clone();
    std::thread::spawn(move || {
        for tick in 0u64.. {
            {
                let mut sessions = work.lock().unwrap();
                // Waves: up to 4,000 sessions, then back down to 0.
                let target = (tick % 80).min(80 - tick % 80) as usize * 100;
                while sessions.len() < target {
                    let id = tick * 10_000 + sessions.len() as u64;
                    sessions.push(PoolBox::new(Session { id, score: [0; 6] }));
                }
                sessions.truncate(target);
                for s in sessions.iter_mut().take(200) {
                    s.score[0] += handle(s.id);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });

    let start = Instant::now();
    let deadline = seconds.map(|s| start + Duration::from_secs(s));
    let content_type: Header = "Content-Type: text/plain; version=0.0.4".parse().unwrap();
    while deadline.is_none_or(|d| Instant::now() < d) {
        let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let response = if request.url() == "/metrics" {
            let text = {
                let sessions = held.lock().unwrap();
                let mut text = String::from(
                    "# HELP app_sessions_held Sessions the workload holds.\n# TYPE app_sessions_held gauge\n",
                );
                text += &format!("app_sessions_held {}\n", sessions.len());
                text + &typool::stats::render_prometheus()
            };
            Response::from_string(text).with_header(content_type.clone())
        } else {
            Response::from_string("try /metrics\n").with_status_code(404)
        };
        let _ = request.respond(response);
    }
}
