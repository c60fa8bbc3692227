//! `StableVector` against a model (`Vec<Option<T>>`): random push / remove / get / iter
//! sequences, with raw pointers held across pushes to check that elements never move, and
//! drops counted. Runs for the `Global` and the pooled (`PoolAlloc`) allocator.

use proptest::prelude::*;
use std::cell::Cell;
use std::rc::Rc;
use typool_containers::StableVector;

#[derive(Clone, Debug)]
enum Op {
    Push(u32),
    Remove(usize),
    Get(usize),
    Iter,
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => any::<u32>().prop_map(Op::Push),
        4 => (0usize..300).prop_map(Op::Remove),
        2 => (0usize..300).prop_map(Op::Get),
        1 => Just(Op::Iter),
        1 => prop_oneof![20 => Just(Op::Iter), 1 => Just(Op::Clear)],
    ]
}

/// A value that counts its drops.
struct Counted(u32, Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.set(self.1.get() + 1);
    }
}

fn run<A: allocator_api2::alloc::Allocator + Clone + Default>(ops: &[Op]) {
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
                let got = v.remove(i).map(|c| c.0);
                assert_eq!(got, model.get(i).copied().flatten());
                if got.is_some() {
                    model[i] = None;
                    addrs[i] = None;
                }
            }
            Op::Get(i) => assert_eq!(v.get(i).map(|c| c.0), model.get(i).copied().flatten()),
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]

    #[test]
    fn stable_vector_matches_the_model(ops in prop::collection::vec(op(), 1..400)) {
        run::<allocator_api2::alloc::Global>(&ops);
    }

    #[test]
    fn pooled_stable_vector_matches_the_model(ops in prop::collection::vec(op(), 1..400)) {
        run::<typool::PoolAlloc>(&ops);
    }
}
