//! Every backing on pools, arenas, the buddy and the slab, checked against what the kernel
//! says it did: `/proc/self/smaps` for transparent huge pages, `get_mempolicy` for NUMA
//! binding, the file's own bytes for file-backed regions. Fallbacks and bad paths included.
#![cfg(all(target_os = "linux", not(miri)))]

use std::path::PathBuf;
use typool::allocator_api2::alloc::{Allocator, Layout};
use typool::{
    Arena, Backing, BackingError, BuddyAllocator, Granted, Pool, PoolBox, PoolConfig, PoolError,
    Pooled, SlabAllocator,
};

const HUGE_PAGE: usize = 2 << 20;

/// What `Backing::HugePages` should be granted on this machine, read independently of
/// typool: reserved huge pages if any are free, else THP if its mode takes advice.
fn expected_huge() -> Granted {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let free = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"))
        .map_or(0, |v| v.trim().parse::<u64>().unwrap());
    if free > 0 {
        return Granted::HugePages;
    }
    match std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled") {
        Ok(mode) if mode.contains("[always]") || mode.contains("[madvise]") => {
            Granted::TransparentHugePages
        }
        _ => Granted::Heap,
    }
}

/// The THP mode's selected word, if the kernel has THP.
fn thp_mode() -> Option<String> {
    let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").ok()?;
    let start = mode.find('[')? + 1;
    let end = mode.find(']')?;
    Some(mode[start..end].to_owned())
}

/// What `Backing::Numa(0)` should be granted: node 0 where the kernel knows NUMA nodes.
fn expected_node0() -> Granted {
    if std::path::Path::new("/sys/devices/system/node/node0").exists() {
        Granted::Numa(0)
    } else {
        Granted::Heap
    }
}

/// `AnonHugePages` (KiB) of the mapping of `/proc/self/smaps` that contains `addr`.
fn anon_huge_kib(addr: usize) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    for line in smaps.lines() {
        let head = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = head.split_once('-') {
            if let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = (lo..hi).contains(&addr);
                continue;
            }
        }
        if inside {
            if let Some(v) = line.strip_prefix("AnonHugePages:") {
                return v.trim().trim_end_matches("kB").trim().parse().unwrap();
            }
        }
    }
    panic!("no mapping in /proc/self/smaps contains {addr:#x}")
}

/// `(mode, node mask)` of the memory policy at `addr`, from `get_mempolicy(MPOL_F_ADDR)`.
fn policy_at(addr: usize) -> (i32, u64) {
    const MPOL_F_ADDR: libc::c_ulong = 2;
    let mut mode: libc::c_int = -1;
    let mut mask = [0u64; 16];
    // SAFETY: `mode` and `mask` are writable, `mask` holds the 1024 bits asked for (maxnode
    // 1025); `addr` lies in a mapping of this process.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode,
            mask.as_mut_ptr(),
            1025 as libc::c_ulong,
            addr,
            MPOL_F_ADDR,
        )
    };
    assert_eq!(rc, 0, "get_mempolicy: {}", std::io::Error::last_os_error());
    (mode, mask[0])
}

/// A fresh path under the temporary directory, leaked to `&'static str` as `Backing::File`
/// wants (tests make a handful).
fn temp_path(name: &str) -> &'static str {
    let path: PathBuf =
        std::env::temp_dir().join(format!("typool-{name}-{}.bin", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path.to_str().unwrap().to_owned().leak()
}

/// A path that cannot be created: its directory does not exist.
const BAD_PATH: &str = "/nonexistent-typool-dir/pool.bin";

#[test]
fn huge_page_pools_get_what_the_kernel_offers_in_whole_2_mib_segments() {
    let pool: Pool<[u64; 8]> = Pool::with_config(PoolConfig::new().backing(Backing::HugePages));
    assert_eq!(
        pool.stats().backing,
        Granted::Heap,
        "before the first segment"
    );
    let first = pool.alloc([1; 8]);
    let s = pool.stats();
    assert_eq!(s.backing, expected_huge(), "{s:?}");
    // One 2 MiB segment of whole slots: 64 bytes each, 72 with feature `track-sites`
    // (whose site word leaves the last few bytes of the huge page to no slot).
    assert_eq!(s.reserved_slots, HUGE_PAGE / s.slot_size, "{s:?}");
    assert!(HUGE_PAGE - s.bytes_reserved < s.slot_size, "{s:?}");
    if s.slot_size == 64 {
        assert_eq!(s.bytes_reserved, HUGE_PAGE, "{s:?}");
    }
    if s.backing != Granted::Heap {
        assert!(
            s.to_string().ends_with(&format!(", on {}", s.backing)),
            "{s}"
        );
    }
    drop(first);
}

#[test]
fn transparent_huge_pages_show_in_smaps() {
    let huge: Pool<[u64; 8]> = Pool::with_config(PoolConfig::new().backing(Backing::HugePages));
    let plain: Pool<[u64; 8]> = Pool::with_config(PoolConfig::new().initial(HUGE_PAGE / 64));
    // Fill 8 MiB of each: the huge pool's first segments are 2 and 2 MiB, then 4 MiB.
    let n = (8 << 20) / 64;
    let a: Vec<_> = (0..n).map(|i| huge.alloc([i as u64; 8])).collect();
    let b: Vec<_> = (0..n).map(|i| plain.alloc([i as u64; 8])).collect();
    let huge_kib = anon_huge_kib(a[n - 1].as_ptr().addr());
    let plain_kib = anon_huge_kib(b[n - 1].as_ptr().addr());
    match huge.stats().backing {
        Granted::TransparentHugePages => {
            assert!(
                huge_kib >= 2048,
                "advised segment got {huge_kib} KiB of huge pages"
            );
            if thp_mode().as_deref() == Some("madvise") {
                assert_eq!(
                    plain_kib, 0,
                    "without the advice no huge pages in madvise mode"
                );
            }
        }
        // Reserved huge pages are not anonymous THP; plain pages get none in madvise mode.
        Granted::HugePages => {}
        other => {
            assert_eq!(other, Granted::Heap);
            assert_eq!(expected_huge(), Granted::Heap);
        }
    }
    assert!(a.iter().enumerate().all(|(i, h)| h[7] == i as u64));
    assert!(b.iter().enumerate().all(|(i, h)| h[0] == i as u64));
}

#[derive(Pooled)]
#[pooled(huge_pages)]
struct HugeCell {
    value: [u64; 4],
}

#[derive(Pooled)]
#[pooled(numa = 0)]
struct NearCell {
    value: u64,
}

#[derive(Pooled)]
#[pooled(numa = 4000)]
struct NowhereCell {
    value: u64,
}

#[test]
fn derived_pools_take_their_backing_from_the_attribute() {
    let h = PoolBox::new(HugeCell { value: [3; 4] });
    let n = PoolBox::new(NearCell { value: 4 });
    let x = PoolBox::new(NowhereCell { value: 5 });
    assert_eq!(h.value[3] + n.value + x.value, 12);
    assert_eq!(HugeCell::pool().stats().backing, expected_huge());
    assert_eq!(NearCell::pool().stats().backing, expected_node0());
    assert_eq!(
        NowhereCell::pool().stats().backing,
        Granted::Heap,
        "node 4000 does not exist: plain pages"
    );
}

#[test]
fn numa_node_0_is_bound_and_a_missing_node_falls_back() {
    let near: Pool<u64> = Pool::with_config(PoolConfig::new().backing(Backing::Numa(0)));
    let far: Pool<u64> = Pool::with_config(PoolConfig::new().backing(Backing::Numa(63)));
    let a = near.alloc(1);
    let b = far.alloc(2);
    assert_eq!(near.stats().backing, expected_node0());
    assert_eq!(far.stats().backing, Granted::Heap);
    const MPOL_DEFAULT: i32 = 0;
    const MPOL_BIND: i32 = 2;
    if expected_node0() == Granted::Numa(0) {
        // The kernel's own record of the range: bound to node 0 only.
        assert_eq!(policy_at((&*a as *const u64).addr()), (MPOL_BIND, 1));
    }
    assert_eq!(policy_at((&*b as *const u64).addr()).0, MPOL_DEFAULT);
}

#[test]
fn file_backed_pools_write_through_to_the_file() {
    let path = temp_path("pool");
    let pool: Pool<[u8; 64]> = Pool::with_config(PoolConfig::new().backing(Backing::File(path)));
    let handles: Vec<_> = (0..1000u32)
        .map(|i| pool.alloc([(i % 251) as u8; 64]))
        .collect();
    let s = pool.stats();
    assert_eq!(s.backing, Granted::File);
    let on_disk = std::fs::read(path).unwrap();
    assert!(
        on_disk.len() >= s.bytes_reserved,
        "{} < {s:?}",
        on_disk.len()
    );
    // Every object's bytes are in the file (shared mapping: the page cache is the file).
    for i in [0u32, 1, 250, 999] {
        let want = [(i % 251) as u8; 64];
        assert!(on_disk.windows(64).any(|w| w == want), "object {i}");
    }
    drop(handles);
    drop(pool);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_bad_path_hands_the_value_back_and_names_the_path() {
    let pool: Pool<String> = Pool::with_config(PoolConfig::new().backing(Backing::File(BAD_PATH)));
    match pool.try_alloc(String::from("kept")) {
        Err(e @ PoolError::OutOfMemory { .. }) => assert_eq!(e.into_inner(), "kept"),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    assert_eq!(pool.stats().live, 0);

    let err = BuddyAllocator::try_with_backing(1 << 20, Backing::File(BAD_PATH)).unwrap_err();
    assert!(
        matches!(err, BackingError::File { path: BAD_PATH, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(BAD_PATH), "{err}");
    let cause = std::error::Error::source(&err).expect("the io::Error");
    assert!(cause.to_string().contains("No such file"), "{cause}");

    // A directory cannot be a file either.
    let dir: &'static str = std::env::temp_dir().to_str().unwrap().to_owned().leak();
    let err = BuddyAllocator::try_with_backing(1 << 20, Backing::File(dir)).unwrap_err();
    assert!(err.to_string().contains(dir), "{err}");

    let arena = Arena::with_backing(4096, Backing::File(BAD_PATH));
    assert_eq!(arena.try_alloc(7u64), Err(7));
    assert_eq!(arena.stats().chunks, 0);

    let slab = SlabAllocator::with_backing(Backing::File(BAD_PATH));
    assert!((&slab).allocate(Layout::new::<u64>()).is_err());
    // SAFETY: a valid non-zero layout; a null result is the refusal being tested.
    let p = unsafe { std::alloc::GlobalAlloc::alloc(&slab, Layout::new::<[u8; 48]>()) };
    assert!(p.is_null());
}

#[test]
fn a_file_backed_buddy_leaves_its_bytes_in_the_file() {
    let path = temp_path("buddy");
    let buddy = BuddyAllocator::try_with_backing(1 << 20, Backing::File(path)).unwrap();
    assert_eq!(buddy.backing(), Granted::File);
    let layout = Layout::from_size_align(4096, 4096).unwrap();
    let block = (&buddy).allocate(layout).unwrap().cast::<u8>();
    let pattern: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8).collect();
    // SAFETY: the block is 4096 bytes and ours. It is never freed (a free writes the free
    // list's links into it): the data outlives the allocator, in the file.
    unsafe {
        block
            .as_ptr()
            .copy_from_nonoverlapping(pattern.as_ptr(), 4096)
    };
    drop(buddy);
    let on_disk = std::fs::read(path).unwrap();
    assert!(on_disk.len() >= 1 << 20);
    // The region starts at the file's beginning (its 1 MiB alignment is the page cache's
    // business, not the file's: at most the alignment minus a page of hole comes first).
    let at = on_disk
        .windows(4096)
        .position(|w| w == pattern)
        .expect("the block's bytes are in the file");
    assert!(at < (1 << 20) + (1 << 20), "at {at}");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn buddy_on_each_backing() {
    for (backing, want) in [
        (Backing::Heap, Granted::Heap),
        (Backing::HugePages, expected_huge()),
        (Backing::Numa(0), expected_node0()),
        (Backing::Numa(4000), Granted::Heap),
    ] {
        let buddy = BuddyAllocator::try_with_backing(4 << 20, backing).unwrap();
        assert_eq!(buddy.backing(), want, "{backing:?}");
        let mut v = typool::allocator_api2::vec::Vec::new_in(&buddy);
        v.extend(0..100_000u32);
        assert_eq!(v[99_999], 99_999);
    }
}

#[test]
fn arena_on_each_backing() {
    let path = temp_path("arena");
    for (backing, want) in [
        (Backing::Heap, Granted::Heap),
        (Backing::HugePages, expected_huge()),
        (Backing::Numa(0), expected_node0()),
        (Backing::Numa(4000), Granted::Heap),
        (Backing::File(path), Granted::File),
    ] {
        let mut arena = Arena::with_backing(64 * 1024, backing);
        assert_eq!(arena.stats().backing, Granted::Heap, "no chunk yet");
        let xs = arena.alloc_slice_fill_with(300_000, |i| i as u64);
        assert_eq!(xs[299_999], 299_999);
        let s = arena.stats();
        assert_eq!(s.backing, want, "{backing:?}");
        if backing == Backing::HugePages {
            assert_eq!(s.bytes_reserved % HUGE_PAGE, 0, "{s:?}");
        }
        arena.reset();
        assert_eq!(*arena.alloc(5u8), 5);
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn slab_on_each_backing() {
    let path = temp_path("slab");
    for (backing, want) in [
        (Backing::Heap, Granted::Heap),
        (Backing::HugePages, expected_huge()),
        (Backing::Numa(0), expected_node0()),
        (Backing::File(path), Granted::File),
    ] {
        let slab = SlabAllocator::with_backing(backing);
        assert_eq!(slab.backing(), Granted::Heap, "no class in use yet");
        let mut blocks = Vec::new();
        for size in [8, 64, 100, 4000] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            for _ in 0..100 {
                let p = (&slab).allocate(layout).unwrap();
                // SAFETY: `p` is `size` writable bytes.
                unsafe { p.cast::<u8>().as_ptr().write_bytes(size as u8, size) };
                blocks.push((p, layout));
            }
        }
        assert_eq!(slab.backing(), want, "{backing:?}");
        for (p, layout) in blocks {
            // SAFETY: allocated above with this layout.
            unsafe {
                assert_eq!(*p.cast::<u8>().as_ptr(), layout.size() as u8);
                (&slab).deallocate(p.cast(), layout);
            }
        }
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn regions_of_one_file_are_laid_end_to_end() {
    let path = temp_path("shared");
    let a = BuddyAllocator::try_with_backing(64 * 1024, Backing::File(path)).unwrap();
    let len_one = std::fs::metadata(path).unwrap().len();
    let b = BuddyAllocator::try_with_backing(64 * 1024, Backing::File(path)).unwrap();
    let len_two = std::fs::metadata(path).unwrap().len();
    assert!(
        len_two >= 2 * 64 * 1024 && len_two > len_one,
        "{len_one} {len_two}"
    );
    let x = typool::allocator_api2::boxed::Box::new_in([0xAAu8; 32], &a);
    let y = typool::allocator_api2::boxed::Box::new_in([0xBBu8; 32], &b);
    assert_eq!((x[0], y[0]), (0xAA, 0xBB), "the two regions do not overlap");
    drop((x, y));
    drop((a, b));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn threads_growing_pools_on_one_file_get_disjoint_regions() {
    let path = temp_path("threads");
    let pools: Vec<Pool<[u64; 8]>> = (0..4)
        .map(|_| Pool::with_config(PoolConfig::new().backing(Backing::File(path))))
        .collect();
    let all_in = std::sync::Barrier::new(pools.len());
    std::thread::scope(|s| {
        for (t, pool) in pools.iter().enumerate() {
            let all_in = &all_in;
            s.spawn(move || {
                let value = |i: usize| (t << 32 | i) as u64;
                // Each pool grows through several segments while the others do.
                let held: Vec<_> = (0..20_000).map(|i| pool.alloc([value(i); 8])).collect();
                all_in.wait();
                for (i, h) in held.iter().enumerate() {
                    assert!(h.iter().all(|&w| w == value(i)), "thread {t}, object {i}");
                }
            });
        }
    });
    let reserved: usize = pools.iter().map(|p| p.stats().bytes_reserved).sum();
    let on_disk = std::fs::metadata(path).unwrap().len() as usize;
    assert!(on_disk >= reserved, "{on_disk} < {reserved}");
    assert!(pools.iter().all(|p| p.stats().backing == Granted::File));
    drop(pools);
    std::fs::remove_file(path).unwrap();
}
