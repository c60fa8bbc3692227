//! Compile-time checks that handles are `Send`/`Sync` exactly when their contents are
//! (the heapless `cpass` pattern), and that handles are one word.

use std::cell::Cell;
use std::rc::Rc;
use typool::{Handle, Pool, PoolBox, Pooled};

#[derive(Pooled)]
struct Plain(#[allow(dead_code)] u64);

#[derive(Pooled)]
struct NotSync(#[allow(dead_code)] Cell<u64>);

#[derive(Pooled)]
struct NotSend(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

#[derive(Pooled)]
struct Neither(#[allow(dead_code)] Rc<u64>);

fn is_send<T: Send>() {}
fn is_sync<T: Sync>() {}

/// Fails to compile if `T` implements `Send` (two blanket impls would apply).
trait NotSendCheck<A> {
    fn check() {}
}
impl<T: ?Sized> NotSendCheck<()> for T {}
impl<T: ?Sized + Send> NotSendCheck<u8> for T {}
trait NotSyncCheck<A> {
    fn check() {}
}
impl<T: ?Sized> NotSyncCheck<()> for T {}
impl<T: ?Sized + Sync> NotSyncCheck<u8> for T {}

#[test]
fn handles_inherit_send_and_sync() {
    is_send::<PoolBox<Plain>>();
    is_sync::<PoolBox<Plain>>();
    is_send::<PoolBox<NotSync>>();
    <PoolBox<NotSync> as NotSyncCheck<_>>::check();
    is_sync::<PoolBox<NotSend>>();
    <PoolBox<NotSend> as NotSendCheck<_>>::check();
    <PoolBox<Neither> as NotSendCheck<_>>::check();
    <PoolBox<Neither> as NotSyncCheck<_>>::check();

    is_send::<Handle<'static, u64>>();
    is_sync::<Handle<'static, u64>>();
    <Handle<'static, Rc<u8>> as NotSendCheck<_>>::check();
    <Handle<'static, Cell<u8>> as NotSyncCheck<_>>::check();

    // A pool holds no `T`, only free slots: shareable whatever `T` is.
    is_send::<Pool<Rc<u8>>>();
    is_sync::<Pool<Rc<u8>>>();
}

#[test]
fn one_word() {
    use std::mem::size_of;
    assert_eq!(size_of::<PoolBox<Plain>>(), size_of::<usize>());
    assert_eq!(size_of::<Option<PoolBox<Neither>>>(), size_of::<usize>());
}

#[test]
fn backing_types_cross_threads_and_errors_box_up() {
    is_send::<typool::Backing>();
    is_sync::<typool::Backing>();
    is_send::<typool::Granted>();
    is_sync::<typool::Granted>();
    // `?` into `Box<dyn Error + Send + Sync>` needs all three.
    fn boxes<E: std::error::Error + Send + Sync + 'static>() {}
    boxes::<typool::BackingError>();
    is_send::<typool::BuddyAllocator>();
    is_sync::<typool::BuddyAllocator>();
}
