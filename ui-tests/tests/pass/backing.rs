use typool::{Granted, PoolBox, Pooled};

#[derive(Pooled)]
#[pooled(huge_pages, initial = 1024)]
struct Cell {
    value: [u64; 8],
}

#[derive(Pooled)]
#[pooled(numa = 0)]
struct Near {
    value: u64,
}

fn main() {
    let c = PoolBox::new(Cell { value: [1; 8] });
    let n = PoolBox::new(Near { value: 2 });
    assert_eq!(c.value[7] + n.value, 3);
    let huge = Cell::pool().stats();
    // At least 2 MiB of 64-byte slots, whatever the kernel granted.
    assert!(huge.reserved_slots >= (2 << 20) / 64, "{huge:?}");
    assert_ne!(huge.backing, Granted::File);
    assert!(matches!(Near::pool().stats().backing, Granted::Numa(0) | Granted::Heap));
}
