//! [`SysVec`]: a growable list whose buffer comes from [`System`](std::alloc::System), for typool's own
//! bookkeeping (segment lists, registries, free-id lists).

/// A `Vec` whose buffer comes from [`System`](std::alloc::System), never from the global allocator.
pub(crate) type SysVec<T> = allocator_api2::vec::Vec<T, allocator_api2::alloc::System>;

/// An empty [`SysVec`], usable in constants.
pub(crate) const fn sys_vec<T>() -> SysVec<T> {
    SysVec::new_in(allocator_api2::alloc::System)
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn sys_vec_works_in_a_constant() {
        static V: std::sync::Mutex<SysVec<u32>> = std::sync::Mutex::new(sys_vec());
        V.lock().unwrap().extend([1, 2, 3]);
        assert_eq!(V.lock().unwrap().iter().sum::<u32>(), 6);
    }
}
