//! Loom model of a generic type's instantiation list (`typed/generic.rs`): threads that ask
//! for pools of the same and of different instantiations at once get one pool per
//! instantiation, and every thread sees the pool another published.

use crate::loom::explore;
use crate::typed::generic::Instances;
use loom::thread;

#[test]
fn loom_generic_instances_one_pool_per_instantiation() {
    let runs = explore(|| {
        // The derive's static, one per execution (pools and instances are leaked, as they are
        // for the life of a program).
        let instances: &'static Instances = Box::leak(Box::new(Instances::new()));
        let t = thread::spawn(move || {
            let a = instances.pool::<u8>(Default::default) as *const _ as usize;
            let b = instances.pool::<u16>(Default::default) as *const _ as usize;
            (a, b)
        });
        let a = instances.pool::<u8>(Default::default) as *const _ as usize;
        let (ta, tb) = t.join().unwrap();
        assert_eq!(a, ta, "two threads built two pools of one instantiation");
        assert_ne!(a, tb);
        assert_eq!(
            instances.pool::<u16>(Default::default) as *const _ as usize,
            tb
        );
        assert_eq!(instances.len(), 2);
    });
    assert!(runs >= 10, "explored only {runs} executions");
}
