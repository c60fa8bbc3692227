//! Real workloads for allocator tests: code no one here wrote (std's `BTreeMap`, serde_json,
//! regex), fed deterministic inputs, each reduced to a digest that must not depend on the
//! allocator underneath.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A small deterministic generator (xorshift64*), so every run sees the same inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n
    }
}

/// FNV-1a over bytes, for digests.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Fnv {
    /// The empty digest.
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `bytes`.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

/// The workloads, by name.
pub const NAMES: [&str; 3] = ["btree", "json", "regex"];

/// Runs workload `name` with `seed` and returns its digest.
pub fn run(name: &str, seed: u64) -> u64 {
    match name {
        "btree" => btree(seed),
        "json" => json(seed),
        "regex" => regex(seed),
        _ => panic!("no workload named {name}"),
    }
}

/// A `BTreeMap<String, Vec<u8>>` of 40,000 inserts of mixed sizes, a third removed, half of
/// the rest grown; the digest walks what is left in order.
pub fn btree(seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let mut map = BTreeMap::new();
    for i in 0..40_000u64 {
        let key = format!("key-{:08}-{}", rng.below(1_000_000), i % 7);
        let len = [3, 20, 100, 700, 5000][rng.below(5) as usize] + rng.below(16) as usize;
        map.insert(key, vec![(i % 251) as u8; len]);
    }
    let doomed: Vec<String> = map.keys().step_by(3).cloned().collect();
    for key in doomed {
        map.remove(&key);
    }
    for (i, value) in map.values_mut().enumerate() {
        if i % 2 == 0 {
            value.extend_from_slice(&[7; 33]);
        }
    }
    let mut digest = Fnv::new();
    for (key, value) in &map {
        digest.feed(key.as_bytes());
        digest.feed(value);
    }
    digest.0 ^ map.len() as u64
}

fn json_value(rng: &mut Rng, depth: u32) -> serde_json::Value {
    use serde_json::Value;
    match if depth == 0 {
        rng.below(3)
    } else {
        rng.below(6)
    } {
        0 => Value::from(rng.below(1 << 40) as i64 - (1 << 39)),
        1 => Value::from(format!(
            "s{}-{}",
            rng.bits(),
            "é✓".repeat(rng.below(4) as usize)
        )),
        2 => Value::from(rng.below(1000) as f64 / 8.0),
        3 | 4 => Value::Object(
            (0..rng.below(8))
                .map(|i| {
                    (
                        format!("field{i}_{}", rng.below(100)),
                        json_value(rng, depth - 1),
                    )
                })
                .collect(),
        ),
        _ => Value::Array(
            (0..rng.below(10))
                .map(|_| json_value(rng, depth - 1))
                .collect(),
        ),
    }
}

/// A generated document of a few hundred KiB, serialised, parsed, pretty-printed and parsed
/// again; the digest is of the compact text, after checking both parses agree.
pub fn json(seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let doc = serde_json::Value::Array((0..60).map(|_| json_value(&mut rng, 5)).collect());
    let text = serde_json::to_string(&doc).expect("a Value serialises");
    let back: serde_json::Value = serde_json::from_str(&text).expect("our own output parses");
    let pretty = serde_json::to_string_pretty(&back).expect("a Value serialises");
    let again: serde_json::Value = serde_json::from_str(&pretty).expect("our own output parses");
    assert_eq!(doc, again, "a round trip changed the document");
    let mut digest = Fnv::new();
    digest.feed(text.as_bytes());
    digest.0 ^ (pretty.len() as u64) << 1
}

/// A corpus of generated prose with dates, phone numbers and e-mail addresses; six patterns
/// compiled and run over it; the digest counts matches and sums capture lengths.
pub fn regex(seed: u64) -> u64 {
    const WORDS: [&str; 12] = [
        "allocation",
        "pool",
        "running",
        "Memory",
        "slab",
        "thread",
        "caching",
        "the",
        "of",
        "Buddy",
        "segment",
        "freeing",
    ];
    let mut rng = Rng::new(seed);
    let mut corpus = String::new();
    for line in 0..3000 {
        for _ in 0..rng.below(12) + 3 {
            corpus.push_str(WORDS[rng.below(12) as usize]);
            corpus.push(' ');
        }
        match line % 4 {
            0 => write!(
                corpus,
                "{}-{:02}-{:02}",
                2000 + rng.below(30),
                rng.below(12) + 1,
                rng.below(28) + 1
            ),
            1 => write!(
                corpus,
                "call {:03}-{:04}",
                rng.below(1000),
                rng.below(10_000)
            ),
            2 => write!(
                corpus,
                "user{}@host{}.example.org",
                rng.below(500),
                rng.below(9)
            ),
            _ => write!(corpus, "Ada Lovelace and Grace Hopper"),
        }
        .expect("writing to a String");
        corpus.push('\n');
    }
    let patterns = [
        r"\b\w+ing\b",
        r"(\d{4})-(\d{2})-(\d{2})",
        r"(\d{3})-(\d{4})",
        r"[A-Z][a-z]+ [A-Z][a-z]+",
        r"(?i)\b(slab|buddy|pool)\b",
        r"([a-z0-9]+)@([a-z0-9]+)\.example\.(org|com)",
    ];
    let mut digest = Fnv::new();
    for pattern in patterns {
        let re = regex::Regex::new(pattern).expect("the patterns are valid");
        let mut count = 0u64;
        let mut spans = 0u64;
        for caps in re.captures_iter(&corpus) {
            count += 1;
            spans += caps.iter().flatten().map(|m| m.len() as u64).sum::<u64>();
        }
        digest.feed(&count.to_le_bytes());
        digest.feed(&spans.to_le_bytes());
    }
    digest.0
}
