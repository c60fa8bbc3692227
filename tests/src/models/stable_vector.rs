//! `StableVector` against a model (`Vec<Option<T>>`): push / remove / get / iter / clear, with
//! addresses held across pushes to check that elements never move, and drops counted.

use std::cell::Cell;
use std::rc::Rc;
use typool_containers::StableVector;

#[derive(Clone, Debug, arbitrary::Arbitrary)]
pub enum Op {
    Push(u32),
    Remove(usize),
    Get(usize),
    Iter,
    Clear,
}

/// Indexes the model aims at: a few past the end, so misses are tried too.
const INDEX_SPAN: usize = 300;

/// A value that counts its drops.
struct Counted(u32, Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.set(self.1.get() + 1);
    }
}

/// Replays `ops` on a `StableVector` in allocator `A`.
pub fn run<A: allocator_api2::alloc::Allocator + Clone + Default>(ops: &[Op]) {
    let drops = Rc::new(Cell::new(0));
    let mut v: StableVector<Counted, A> = StableVector::new();
    let mut model: Vec<Option<u32>> = Vec::new();
    let mut addrs: Vec<Option<*const Counted>> = Vec::new();
    let mut created = 0;
    for op in ops {
        match *op {
            Op::Push(x) => {
                let i = v.push(Counted(x, drops.clone()));
                created += 1;
                assert!(i <= model.len(), "index {i} skips past the end");
                if i == model.len() {
                    model.push(None);
                    addrs.push(None);
                }
                assert!(model[i].is_none(), "push reused a full index {i}");
                model[i] = Some(x);
                addrs[i] = Some(&v[i]);
            }
            Op::Remove(i) => {
                let i = i % INDEX_SPAN;
                let got = v.remove(i).map(|c| c.0);
                assert_eq!(got, model.get(i).copied().flatten());
                if got.is_some() {
                    model[i] = None;
                    addrs[i] = None;
                }
            }
            Op::Get(i) => {
                let i = i % INDEX_SPAN;
                assert_eq!(v.get(i).map(|c| c.0), model.get(i).copied().flatten());
            }
            Op::Iter => {
                let got: Vec<u32> = v.iter().map(|c| c.0).collect();
                let want: Vec<u32> = model.iter().flatten().copied().collect();
                assert_eq!(got, want);
            }
            Op::Clear => {
                v.clear();
                model.clear();
                addrs.clear();
            }
        }
        assert_eq!(v.len(), model.iter().flatten().count());
        for (i, a) in addrs.iter().enumerate() {
            if let Some(a) = a {
                assert!(std::ptr::eq(*a, &v[i]), "element {i} moved");
            }
        }
        assert_eq!(drops.get() + v.len(), created, "a drop was lost or doubled");
    }
    drop(v);
    assert_eq!(drops.get(), created, "every element dropped exactly once");
}
