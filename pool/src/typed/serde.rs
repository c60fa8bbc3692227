//! Feature `serde`: [`PoolBox`], [`PoolArc`] and [`PoolRc`] serialise as the value they own,
//! and deserialise by building the value first and moving it into its pool — as serde does
//! for `Box`, `Arc` and `Rc`. A value that fails to deserialise never reaches a pool, so a
//! failure leaves nothing live; a full pool is the deserialiser's error (its message names
//! the pool), and the value it refused is dropped.
//!
//! ```
//! use typool::{PoolArc, PoolBox, Pooled};
//!
//! #[derive(Pooled, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Point { x: i32, y: i32 }
//!
//! let p = PoolBox::new(Point { x: 1, y: 2 });
//! let json = serde_json::to_string(&p).unwrap();
//! assert_eq!(json, r#"{"x":1,"y":2}"#);
//! let q: PoolArc<Point> = serde_json::from_str(&json).unwrap();
//! assert_eq!(*q, Point { x: 1, y: 2 });
//! assert!(serde_json::from_str::<PoolBox<Point>>(r#"{"x":1}"#).is_err());
//! ```

use crate::typed::boxed::PoolBox;
use crate::typed::pooled::Pooled;
use crate::typed::shared::{Count, Shared};
use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Serialize, Serializer};

impl<T: Pooled + Serialize> Serialize for PoolBox<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Pooled + Deserialize<'de>> Deserialize<'de> for PoolBox<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = T::deserialize(deserializer)?;
        PoolBox::try_new(value).map_err(D::Error::custom)
    }
}

impl<T: Pooled + Serialize, K: Count> Serialize for Shared<T, K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Pooled + Deserialize<'de>, K: Count> Deserialize<'de> for Shared<T, K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = T::deserialize(deserializer)?;
        Shared::try_new(value).map_err(D::Error::custom)
    }
}
