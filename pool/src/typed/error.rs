//! [`PoolError`]: an allocation the pool could not serve, with the value handed back.

use core::fmt;

/// Why a pool could not take a value. The value is always inside: nothing is lost.
///
/// # Examples
///
/// ```
/// use typool::{Pool, PoolConfig, PoolError};
///
/// let pool: Pool<u64> = Pool::with_config(PoolConfig::new().max(1));
/// let first = pool.alloc(1);
/// let err = pool.try_alloc(2).unwrap_err();
/// assert!(matches!(err, PoolError::Exhausted { .. }));
/// assert_eq!(err.into_inner(), 2);
/// # drop(first);
/// ```
pub enum PoolError<T> {
    /// A bounded pool already reached its `max`.
    Exhausted {
        /// The value that did not fit.
        value: T,
        /// The pool's bound (`PoolConfig::max`).
        limit: usize,
        /// Objects counted live when the pool refused. It can read below `limit`: the rest of
        /// the slots are free but out of this thread's reach — in other threads' caches, or
        /// being handed between threads — or their frees were not yet counted (a busy
        /// thread's counters are read a few operations late).
        live: usize,
        /// `core::any::type_name` of the pooled type.
        type_name: &'static str,
    },
    /// The operating system refused memory for a new segment.
    OutOfMemory {
        /// The value that did not fit.
        value: T,
        /// Size of the segment that could not be had; `usize::MAX` when the request does not
        /// fit in the address space at all (more than `isize::MAX` bytes).
        bytes: usize,
        /// `core::any::type_name` of the pooled type.
        type_name: &'static str,
    },
}

impl PoolError<()> {
    /// The same refusal, holding `value` (the slow paths refuse a slot before any value is
    /// involved).
    pub(crate) fn holding<T>(self, value: T) -> PoolError<T> {
        self.map(|()| value)
    }
}

impl<T> PoolError<T> {
    /// The same refusal, holding `f` of its value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> PoolError<U> {
        match self {
            Self::Exhausted {
                value,
                limit,
                live,
                type_name,
            } => PoolError::Exhausted {
                value: f(value),
                limit,
                live,
                type_name,
            },
            Self::OutOfMemory {
                value,
                bytes,
                type_name,
            } => PoolError::OutOfMemory {
                value: f(value),
                bytes,
                type_name,
            },
        }
    }

    /// The value the pool could not take.
    pub fn into_inner(self) -> T {
        match self {
            Self::Exhausted { value, .. } | Self::OutOfMemory { value, .. } => value,
        }
    }

    /// Borrows the value the pool could not take.
    pub fn value(&self) -> &T {
        match self {
            Self::Exhausted { value, .. } | Self::OutOfMemory { value, .. } => value,
        }
    }
}

impl<T> fmt::Display for PoolError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exhausted {
                limit,
                live,
                type_name,
                ..
            } => {
                let name = short_type_name(type_name);
                if live >= limit {
                    write!(f, "pool for {name} is exhausted: {limit} of {limit} live")
                } else {
                    write!(
                        f,
                        "pool for {name} is exhausted: all {limit} slots are taken or held by \
                         other threads ({live} counted live; the rest are free in other \
                         threads' caches or in transit between threads)"
                    )
                }
            }
            Self::OutOfMemory {
                bytes, type_name, ..
            } if *bytes > isize::MAX as usize => write!(
                f,
                "pool for {} is out of memory: the segment asked for is larger than the \
                 address space (over isize::MAX bytes); nothing was asked of the system",
                short_type_name(type_name)
            ),
            Self::OutOfMemory {
                bytes, type_name, ..
            } => write!(
                f,
                "pool for {} is out of memory: the system refused a {bytes}-byte segment",
                short_type_name(type_name)
            ),
        }
    }
}

/// Like `std::sync::mpsc::SendError`, the value is not printed, so `T` need not be `Debug`.
impl<T> fmt::Debug for PoolError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Exhausted { .. } => "Exhausted",
            Self::OutOfMemory { .. } => "OutOfMemory",
        };
        write!(f, "PoolError::{kind}({self})")
    }
}

impl<T> std::error::Error for PoolError<T> {}

pub(crate) use crate::stats::short_type_name;

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("app::model::Particle"), "Particle");
        assert_eq!(short_type_name("u64"), "u64");
        assert_eq!(
            short_type_name("alloc::vec::Vec<app::Particle>"),
            "alloc::vec::Vec<app::Particle>"
        );
        assert_eq!(short_type_name("[u8; 64]"), "[u8; 64]");
    }
}
