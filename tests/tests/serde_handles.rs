//! Feature `serde`: `PoolBox`, `PoolArc` and `PoolRc` round-trip as the value they own, and a
//! failed deserialisation — bad input, or a full pool — leaves nothing live.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use typool::{PoolArc, PoolBox, PoolRc, Pooled};

static LIVE_NAMES: AtomicUsize = AtomicUsize::new(0);

/// Counts its live values, so a test sees that a failed parse dropped what it had built.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
struct Name(String);

impl From<String> for Name {
    fn from(s: String) -> Self {
        LIVE_NAMES.fetch_add(1, Ordering::Relaxed);
        Name(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.0.clone()
    }
}

impl Clone for Name {
    fn clone(&self) -> Self {
        Name::from(self.0.clone())
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        LIVE_NAMES.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Pooled, Debug, PartialEq, Serialize, Deserialize)]
struct Player {
    name: Name,
    score: u32,
}

/// The round trips' type (`Player`, whose names are counted, is the failed parse's alone).
#[derive(Pooled, Debug, PartialEq, Serialize, Deserialize)]
struct Score {
    name: String,
    score: u32,
}

#[derive(Pooled, Debug, PartialEq, Serialize, Deserialize)]
#[pooled(max = 1)]
struct Singleton {
    id: u8,
}

#[test]
fn round_trips_like_box_and_arc() {
    let p = PoolBox::new(Score {
        name: "ada".into(),
        score: 3,
    });
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(json, r#"{"name":"ada","score":3}"#);
    let boxed = Box::new(Score {
        name: "ada".into(),
        score: 3,
    });
    assert_eq!(json, serde_json::to_string(&boxed).unwrap());

    let back: PoolBox<Score> = serde_json::from_str(&json).unwrap();
    assert_eq!(*back, *p);
    let shared: PoolArc<Score> = serde_json::from_str(&json).unwrap();
    let local: PoolRc<Score> = serde_json::from_str(&json).unwrap();
    assert_eq!((shared.score, local.score), (3, 3));
    assert_eq!(serde_json::to_string(&shared).unwrap(), json);
    let many: Vec<PoolBox<Score>> = serde_json::from_str(&format!("[{json},{json}]")).unwrap();
    assert_eq!(many.len(), 2);
}

#[test]
fn a_failed_parse_leaves_nothing_live() {
    let live_players = Player::pool().stats().live;
    let names = LIVE_NAMES.load(Ordering::Relaxed);
    // The second element is cut short after its name was built: the name is dropped, the
    // first element's box is freed, and no slot stays taken.
    let bad = r#"[{"name":"ok","score":1},{"name":"cut","score":"#;
    assert!(serde_json::from_str::<Vec<PoolBox<Player>>>(bad).is_err());
    assert!(serde_json::from_str::<Vec<PoolArc<Player>>>(bad).is_err());
    assert_eq!(Player::pool().stats().live, live_players);
    assert_eq!(Player::__counted_pool().stats().live, 0);
    assert_eq!(LIVE_NAMES.load(Ordering::Relaxed), names);
}

#[test]
fn a_full_pool_is_the_deserializers_error() {
    let held: PoolBox<Singleton> = serde_json::from_str(r#"{"id":1}"#).unwrap();
    let err = serde_json::from_str::<PoolBox<Singleton>>(r#"{"id":2}"#).unwrap_err();
    assert!(
        err.to_string().contains("pool for Singleton is exhausted"),
        "{err}"
    );
    assert_eq!(Singleton::pool().stats().live, 1);
    drop(held);
}
