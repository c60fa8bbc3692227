//! Containers for typool's pooled memory that know nothing of pools.
//!
//! `typool` re-exports these and binds the allocator-generic ones to pooled memory.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod stable_vector;

pub use stable_vector::{Iter, IterMut, StableVector};

/// A vector that keeps up to `N` elements inline and spills to the heap past that: an alias
/// of [`smallvec::SmallVec`](https://docs.rs/smallvec/1/smallvec/struct.SmallVec.html), not a rewrite.
///
/// # Examples
///
/// ```
/// use typool_containers::SmallVector;
///
/// let mut v: SmallVector<u32, 4> = SmallVector::new();
/// v.extend([1, 2, 3]);
/// assert!(!v.spilled());
/// v.extend([4, 5]);
/// assert!(v.spilled());
/// assert_eq!(v.iter().sum::<u32>(), 15);
/// ```
pub type SmallVector<T, const N: usize> = smallvec::SmallVec<[T; N]>;
