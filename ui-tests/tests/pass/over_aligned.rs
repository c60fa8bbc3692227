use typool::Pooled;

#[derive(Pooled)]
#[repr(align(64))]
struct CacheLine {
    counter: u64,
}

fn main() {
    let lines: Vec<_> = (0..100).map(|i| CacheLine { counter: i }.pooled()).collect();
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(&**l as *const CacheLine as usize % 64, 0);
        assert_eq!(l.counter, i as u64);
    }
}
