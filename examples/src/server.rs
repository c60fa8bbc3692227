//! The showcase's workload: a game server's request loop, run once on std allocation and once
//! on typool — the same code, generic over where memory comes from.
//!
//! Requests are text lines (`LOGIN`, `MOVE`, `CHAT`, `LOGOUT`) from a seeded generator, in
//! ticks: each tick's batch is split across the worker threads, and between ticks every
//! entity of the world moves (the per-tick update). A session logged in on one worker is often
//! logged out by another, so its memory is freed on a thread that did not allocate it.
//!
//! | what | std side | typool side |
//! |---|---|---|
//! | a request's temporaries (parsed fields, lower-cased keys, outgoing chat packets) | `Vec` on the global allocator | the same `Vec` type on the request's arena (`#[arena_scope]`) |
//! | sessions | `Box<Session>` | `PoolBox<Session>` (`#[derive(Pooled)]`) |
//! | entities, updated every tick | `Box<Entity>` in a slot vector | `PoolBox<Entity>` in the same slot vector |
//!
//! The session table (`HashMap`) and the slot vector are std on both sides. Every response and
//! the final world reduce to a checksum, which must be equal on both sides.

use allocator_api2::alloc::{Allocator, Global};
use allocator_api2::vec::Vec as AVec;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::ops::DerefMut;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};
use typool::{allocator_api2, arena_scope, PoolBox, Pooled};

/// A logged-in player.
#[derive(Pooled, Debug)]
#[pooled(initial = 1024)]
pub struct Session {
    pub id: u64,
    pub name: [u8; 24],
    pub class: u8,
    /// The session's entity in the world's slot vector.
    entity: usize,
    stats: [u64; 4],
}

/// A player's avatar; every tick moves it.
#[derive(Pooled, Debug)]
#[pooled(initial = 1024)]
pub struct Entity {
    owner: u64,
    pos: [f32; 2],
    vel: [f32; 2],
    hp: u32,
    inventory: [u32; 8],
}

/// Where a side's long-lived objects live.
pub trait Backend: Sync + 'static {
    /// The side's name in tables and plots.
    const NAME: &'static str;
    /// A boxed session.
    type Session: DerefMut<Target = Session> + Send;
    /// A boxed entity.
    type Entity: DerefMut<Target = Entity> + Send;
    fn session(s: Session) -> Self::Session;
    fn entity(e: Entity) -> Self::Entity;
    /// Handles one request line: its temporaries come from the side's scratch memory.
    fn handle(world: &World<Self>, line: &[u8]) -> u64
    where
        Self: Sized;
}

/// std allocation: `Box`, and `Vec` on the global allocator.
#[derive(Debug)]
pub struct Std;

impl Backend for Std {
    const NAME: &'static str = "std";
    type Session = Box<Session>;
    type Entity = Box<Entity>;
    fn session(s: Session) -> Box<Session> {
        Box::new(s)
    }
    fn entity(e: Entity) -> Box<Entity> {
        Box::new(e)
    }
    fn handle(world: &World<Self>, line: &[u8]) -> u64 {
        world.handle(line, Global)
    }
}

/// typool: derived pools, and a per-request arena.
#[derive(Debug)]
pub struct Typool;

impl Backend for Typool {
    const NAME: &'static str = "typool";
    type Session = PoolBox<Session>;
    type Entity = PoolBox<Entity>;
    fn session(s: Session) -> PoolBox<Session> {
        PoolBox::new(s)
    }
    fn entity(e: Entity) -> PoolBox<Entity> {
        PoolBox::new(e)
    }
    fn handle(world: &World<Self>, line: &[u8]) -> u64 {
        handle_in_arena(world, line)
    }
}

#[arena_scope(capacity = 16384)]
fn handle_in_arena(world: &World<Typool>, line: &[u8]) -> u64 {
    world.handle(line, arena)
}

/// Sessions sharded by id, so workers seldom wait on each other.
const SHARDS: usize = 16;

/// The server's state.
pub struct World<B: Backend> {
    sessions: [Mutex<HashMap<u64, B::Session>>; SHARDS],
    entities: Mutex<Slots<B::Entity>>,
}

impl<B: Backend> std::fmt::Debug for World<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("side", &B::NAME)
            .finish_non_exhaustive()
    }
}

/// A vector of slots with a free list: indexes stay valid while their entry lives.
struct Slots<E> {
    slots: Vec<Option<E>>,
    free: Vec<usize>,
}

impl<E> Slots<E> {
    fn insert(&mut self, e: E) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(e);
                i
            }
            None => {
                self.slots.push(Some(e));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) -> Option<E> {
        let e = self.slots.get_mut(i)?.take();
        if e.is_some() {
            self.free.push(i);
        }
        e
    }
}

impl<B: Backend> Default for World<B> {
    fn default() -> Self {
        Self {
            sessions: std::array::from_fn(|_| Mutex::new(HashMap::new())),
            entities: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }
}

/// FNV-1a, for response digests.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Appends `n` in decimal.
fn put_u64<A: Allocator>(out: &mut AVec<u8, A>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

impl<B: Backend> World<B> {
    fn shard(&self, id: u64) -> &Mutex<HashMap<u64, B::Session>> {
        &self.sessions[(id as usize) % SHARDS]
    }

    /// Parses and applies one request; every temporary is allocated in `a`.
    fn handle<A: Allocator + Copy>(&self, line: &[u8], a: A) -> u64 {
        // "VERB key=value key=value ..." → the verb, and fields with lower-cased keys.
        let line = line.strip_suffix(b"\r\n").unwrap_or(line);
        let mut words = line.split(|&b| b == b' ');
        let verb = words.next().unwrap_or_default();
        let mut fields: AVec<(AVec<u8, A>, &[u8]), A> = AVec::new_in(a);
        for word in words {
            if let Some(eq) = word.iter().position(|&b| b == b'=') {
                let mut key = AVec::with_capacity_in(eq, a);
                key.extend(word[..eq].iter().map(u8::to_ascii_lowercase));
                fields.push((key, &word[eq + 1..]));
            }
        }
        let field = |name: &[u8]| -> &[u8] {
            fields
                .iter()
                .find(|(k, _)| k.as_slice() == name)
                .map_or(&[][..], |(_, v)| v)
        };
        let number = |name: &[u8]| -> u64 {
            field(name)
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |n, &b| n * 10 + u64::from(b - b'0'))
        };
        match verb {
            b"LOGIN" => {
                let id = number(b"id");
                let mut name = [0u8; 24];
                let given = field(b"name");
                name[..given.len().min(24)].copy_from_slice(&given[..given.len().min(24)]);
                let entity = B::entity(Entity {
                    owner: id,
                    pos: [(id % 1000) as f32, (id % 777) as f32],
                    vel: [1.0, -0.5],
                    hp: 100,
                    inventory: [0; 8],
                });
                let entity = self.entities.lock().unwrap().insert(entity);
                let session = B::session(Session {
                    id,
                    name,
                    class: number(b"class") as u8,
                    entity,
                    stats: [0; 4],
                });
                self.shard(id).lock().unwrap().insert(id, session);
                fnv(FNV_START, given) ^ id
            }
            b"MOVE" => {
                let id = number(b"id");
                let (dx, dy) = (number(b"dx") as f32 - 8.0, number(b"dy") as f32 - 8.0);
                let mut sessions = self.shard(id).lock().unwrap();
                let Some(s) = sessions.get_mut(&id) else {
                    return 1;
                };
                s.stats[0] += 1;
                let mut world = self.entities.lock().unwrap();
                let e = world.slots[s.entity]
                    .as_mut()
                    .expect("a session's entity lives");
                e.vel = [dx / 4.0, dy / 4.0];
                e.pos[0] += dx;
                e.pos[1] += dy;
                (e.pos[0].to_bits() as u64) << 32 | u64::from(e.pos[1].to_bits())
            }
            b"CHAT" => {
                let id = number(b"id");
                let msg = field(b"msg");
                // One packet per recipient: "to:from:message".
                let mut packets: AVec<AVec<u8, A>, A> = AVec::new_in(a);
                for k in 1..=8 {
                    let mut p = AVec::new_in(a);
                    put_u64(&mut p, id.wrapping_mul(31).wrapping_add(k) % 10_000);
                    p.push(b':');
                    put_u64(&mut p, id);
                    p.push(b':');
                    p.extend(msg.iter().map(|&b| if b == b'_' { b' ' } else { b }));
                    packets.push(p);
                }
                if let Some(s) = self.shard(id).lock().unwrap().get_mut(&id) {
                    s.stats[1] += packets.len() as u64;
                }
                packets.iter().fold(FNV_START, |h, p| fnv(h, p))
            }
            b"LOGOUT" => {
                let id = number(b"id");
                let Some(s) = self.shard(id).lock().unwrap().remove(&id) else {
                    return 2;
                };
                let e = self.entities.lock().unwrap().remove(s.entity);
                let e = e.expect("a session's entity lives");
                u64::from(e.hp) ^ s.stats[0] ^ s.stats[1].rotate_left(7)
            }
            _ => 0,
        }
    }

    /// The per-tick update: every entity moves and heals; returns a digest of the world.
    fn tick(&self) -> u64 {
        let mut world = self.entities.lock().unwrap();
        let mut h = 0u64;
        for e in world.slots.iter_mut().flatten() {
            let e: &mut Entity = e;
            e.pos[0] += e.vel[0];
            e.pos[1] += e.vel[1];
            e.hp = (e.hp + 1).min(100);
            e.inventory[(e.owner % 8) as usize] += 1;
            h = h.wrapping_add(u64::from(e.pos[0].to_bits() ^ e.pos[1].to_bits()));
        }
        h
    }
}

/// The shape of a run.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Load {
    /// Worker threads.
    pub threads: usize,
    /// Ticks: batches of requests with a world update after each.
    pub ticks: usize,
    /// Requests per tick.
    pub per_tick: usize,
    pub seed: u64,
}

/// What one side's run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Per-request latency, nanoseconds.
    pub latency: Histogram<u64>,
    /// Time from the first request to the last tick.
    pub wall: Duration,
    pub requests: u64,
    /// The digest of every response and every tick: equal on both sides.
    pub checksum: u64,
}

/// One tick's requests: the lines, back to back, and where each ends. Reused from tick to
/// tick, so generating requests allocates nothing once the buffers have grown.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.bytes[a..b])
    }
}

/// The seeded request generator: keeps the set of logged-in players so that `MOVE`, `CHAT`
/// and `LOGOUT` name live sessions, and names each session at most once per tick (so the
/// batch's order across workers cannot change any response).
struct Generator {
    state: u64,
    online: Vec<u64>,
    next_id: u64,
    used: std::collections::HashSet<u64>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
            online: Vec::new(),
            next_id: 1,
            used: std::collections::HashSet::new(),
        }
    }

    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Fills `out` with the next `n` requests.
    fn batch(&mut self, n: usize, out: &mut Batch) {
        use std::io::Write;
        const WORDS: [&str; 8] = [
            "gg",
            "anyone_up_for_the_raid?",
            "lag",
            "north_gate_now",
            "brb",
            "need_healer",
            "wp",
            "selling_iron_ore_cheap",
        ];
        out.bytes.clear();
        out.ends.clear();
        self.used.clear();
        let o = &mut out.bytes;
        while out.ends.len() < n {
            let roll = self.next() % 100;
            if self.online.len() < 64 || roll < 8 {
                let id = self.next_id;
                self.next_id += 1;
                self.online.push(id);
                self.used.insert(id);
                let class = self.next() % 6;
                write!(o, "LOGIN id={id} Name=player{id} Class={class}\r\n").unwrap();
            } else {
                let k = (self.next() % self.online.len() as u64) as usize;
                let id = self.online[k];
                if !self.used.insert(id) {
                    continue;
                }
                if roll < 13 {
                    self.online.swap_remove(k);
                    write!(o, "LOGOUT id={id}\r\n").unwrap();
                } else if roll < 38 {
                    let w = WORDS[(self.next() % 8) as usize];
                    write!(o, "CHAT id={id} msg={w}\r\n").unwrap();
                } else {
                    let (dx, dy) = (self.next() % 17, self.next() % 17);
                    write!(o, "MOVE id={id} dx={dx} dy={dy}\r\n").unwrap();
                }
            }
            out.ends.push(o.len());
        }
    }
}

/// Runs the workload on side `B`: each tick's batch (made by the seeded generator, the same
/// on both sides) split across `load.threads` workers, then the world update.
pub fn run<B: Backend>(load: Load) -> Outcome {
    let world = World::<B>::default();
    let mut generator = Generator::new(load.seed);
    let barrier = Barrier::new(load.threads + 1);
    let current = std::sync::RwLock::new(Batch::default());
    let new_histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let mut checksum = 0u64;
    let mut latency = new_histogram();
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..load.threads)
            .map(|w| {
                let (world, barrier, current) = (&world, &barrier, &current);
                s.spawn(move || {
                    let mut hist = new_histogram();
                    let mut digest = 0u64;
                    loop {
                        barrier.wait();
                        let batch = current.read().unwrap();
                        if batch.ends.is_empty() {
                            break;
                        }
                        for line in batch.lines().skip(w).step_by(load.threads) {
                            let t = Instant::now();
                            let r = B::handle(world, line);
                            hist.saturating_record(t.elapsed().as_nanos() as u64);
                            digest = digest.wrapping_add(r);
                        }
                        drop(batch);
                        barrier.wait();
                    }
                    (hist, digest)
                })
            })
            .collect();
        for t in 0..load.ticks {
            generator.batch(load.per_tick, &mut current.write().unwrap());
            barrier.wait(); // go
            barrier.wait(); // batch done
            checksum = checksum.wrapping_add(world.tick().rotate_left(t as u32 % 64));
        }
        generator.batch(0, &mut current.write().unwrap());
        barrier.wait();
        for w in workers {
            let (hist, digest) = w.join().unwrap();
            latency.add(&hist).unwrap();
            checksum = checksum.wrapping_add(digest);
        }
    });
    let wall = start.elapsed();
    drop(world);
    Outcome {
        requests: latency.len(),
        latency,
        wall,
        checksum,
    }
}
