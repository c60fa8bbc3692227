//! [`ShmError`]: why a segment could not be created, opened or used. Every message names the
//! segment.

use core::fmt;
use std::io;

/// The layout a segment holds, or a process asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    /// `core::any::type_name` of the slot type (as recorded in the segment: its first 128
    /// bytes).
    pub type_name: String,
    /// `size_of` the type.
    pub size: usize,
    /// `align_of` the type.
    pub align: usize,
}

impl fmt::Display for SlotLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` ({} bytes, align {})",
            self.type_name, self.size, self.align
        )
    }
}

/// An operation on a shared segment that failed. Nothing was changed in the segment.
#[non_exhaustive]
#[derive(Debug)]
pub enum ShmError {
    /// The name cannot name a segment.
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `create` found a segment of that name that a live process has open.
    Exists {
        /// The segment.
        name: String,
    },
    /// No segment of that name.
    NotFound {
        /// The segment.
        name: String,
    },
    /// The segment holds slots of another layout than the type asked for.
    WrongType {
        /// The segment.
        name: String,
        /// What the segment holds.
        found: SlotLayout,
        /// What this process asked for.
        wanted: SlotLayout,
    },
    /// The segment is not one typool can use: not a typool segment, another layout version,
    /// a creator that never finished, or a header that contradicts the file.
    Corrupt {
        /// The segment.
        name: String,
        /// What was found.
        reason: &'static str,
    },
    /// The segment cannot be laid out: a capacity of 0 or above 2³⁰, a zero-sized type, one
    /// aligned to more than a page (4096 bytes), or more than memory can hold.
    BadCapacity {
        /// The segment.
        name: String,
        /// The capacity asked for.
        capacity: usize,
    },
    /// All of the segment's 64 entries are held by live handles.
    TooManyHandles {
        /// The segment.
        name: String,
    },
    /// `take` was given an index beyond the segment's slots.
    OutOfRange {
        /// The segment.
        name: String,
        /// The raw index.
        index: u64,
        /// The segment's slot count.
        capacity: usize,
    },
    /// `take` was given an index that names no slot handed out as an index right now: taken
    /// already, from an older generation of its slot, recovered from a dead process, or
    /// forged.
    StaleIndex {
        /// The segment.
        name: String,
        /// The raw index.
        index: u64,
    },
    /// The operating system refused.
    Os {
        /// The segment.
        name: String,
        /// The call that failed.
        call: &'static str,
        /// Its error.
        source: io::Error,
    },
}

impl fmt::Display for ShmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { name, reason } => {
                write!(f, "shared segment name {name:?} is invalid: {reason}")
            }
            Self::Exists { name } => write!(
                f,
                "shared segment `{name}` exists and a live process has it open; open it, or \
                 pick another name"
            ),
            Self::NotFound { name } => write!(f, "no shared segment `{name}`"),
            Self::WrongType {
                name,
                found,
                wanted,
            } => write!(
                f,
                "shared segment `{name}` holds {found}; this process asked for {wanted}"
            ),
            Self::Corrupt { name, reason } => write!(f, "shared segment `{name}`: {reason}"),
            Self::BadCapacity { name, capacity } => write!(
                f,
                "shared segment `{name}`: {capacity} slots of this type cannot be laid out (1 to \
                 2^30 slots of a type that is not zero-sized nor aligned to more than 4096 bytes, \
                 in a segment that fits in memory)"
            ),
            Self::TooManyHandles { name } => write!(
                f,
                "shared segment `{name}`: all 64 handle entries are held by live processes"
            ),
            Self::OutOfRange {
                name,
                index,
                capacity,
            } => write!(
                f,
                "shared segment `{name}`: index {index:#x} names slot {} of {capacity}",
                *index as u32
            ),
            Self::StaleIndex { name, index } => write!(
                f,
                "shared segment `{name}`: index {index:#x} is not a slot handed out as an index \
                 (taken already, stale, or forged)"
            ),
            Self::Os { name, call, source } => {
                write!(f, "shared segment `{name}`: {call} failed: {source}")
            }
        }
    }
}

impl std::error::Error for ShmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}
