mod physics {
    #[derive(typool::Pooled, Debug, PartialEq)]
    #[pooled(vec = Particles, small_vec(ParticleBuf, 8), stable_vec = ParticleStore)]
    pub struct Particle {
        pub x: f32,
    }
}

use physics::{Particle, ParticleBuf, ParticleStore, Particles};

fn main() {
    let mut v: Particles = Particles::new_in(typool::PoolAlloc);
    v.push(Particle { x: 1.0 });
    let mut b = ParticleBuf::new();
    b.push(Particle { x: 2.0 });
    assert!(!b.spilled());
    let mut s = ParticleStore::new();
    let i = s.push(Particle { x: 3.0 });
    assert_eq!(s[i], Particle { x: 3.0 });
    assert_eq!(v.len() + b.len() + s.len(), 3);
}
