//! [`Backing::Numa`](super::Backing::Numa): `mbind` a fresh mapping to one node, through
//! `libc::syscall` (no libnuma needed to build or run).

use core::ptr::NonNull;

/// Node ids above this are not asked for (the mask below has one bit per node).
const MAX_NODES: usize = 1024;

/// Binds `p..p + len` (a fresh, page-aligned mapping not yet touched) to `node` with
/// `MPOL_BIND`, so every page is placed there when first touched. `false` if the node does
/// not exist or the kernel refuses (no NUMA support, a cpuset without that node): the pages
/// then follow the thread's policy, as plain pages do.
pub(super) fn bind(p: NonNull<u8>, len: usize, node: u32) -> bool {
    let node = node as usize;
    if node >= MAX_NODES {
        return false;
    }
    imp::bind(p, len, node)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use super::MAX_NODES;
    use core::ptr::NonNull;

    /// `MPOL_BIND` from `<linux/mempolicy.h>`.
    const MPOL_BIND: libc::c_long = 2;

    pub(super) fn bind(p: NonNull<u8>, len: usize, node: usize) -> bool {
        let mut mask = [0u64; MAX_NODES / 64];
        mask[node / 64] |= 1 << (node % 64);
        // The kernel reads `maxnode - 1` bits of the mask.
        let maxnode = (MAX_NODES + 1) as libc::c_ulong;
        // SAFETY: `mbind(addr, len, mode, nodemask, maxnode, flags)` reads `maxnode - 1` bits
        // of `mask`, which is that long, and changes only the policy of our own mapping.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mbind,
                p.as_ptr(),
                len,
                MPOL_BIND,
                mask.as_ptr(),
                maxnode,
                0 as libc::c_uint,
            )
        };
        rc == 0
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use core::ptr::NonNull;

    pub(super) fn bind(_: NonNull<u8>, _: usize, _: usize) -> bool {
        false
    }
}
