//! Named segments: `shm_open`, `ftruncate`, `mmap`, `shm_unlink`, and the checks on names.
//!
//! A segment named `feed` is the POSIX shared-memory object `/feed` (on Linux, the file
//! `/dev/shm/feed`). It is created with `O_EXCL` and mode 0600 (then `fchmod`ed to 0600, which
//! the umask cannot widen), so only the creating user can open it, and a second creator of the
//! same name fails instead of sharing a half-built segment. It is mapped `MAP_SHARED` whole.

use super::error::ShmError;
use super::layout::{Described, Header, Layout};
use core::ptr::NonNull;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Longest name accepted (`NAME_MAX` is 255; leave room for the leading `/`).
const MAX_NAME: usize = 200;
/// How long `open` waits for a creator that has not finished filling the segment in.
const CREATOR_GRACE: Duration = Duration::from_secs(2);

/// The object name for `name`, or why it cannot be one.
pub(super) fn object_name(name: &str) -> Result<CString, ShmError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME {
        Some("it is longer than 200 bytes")
    } else if name.contains('/') {
        Some("it contains '/' (a segment name is one path component)")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else if name == "." || name == ".." {
        Some("it is '.' or '..'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ShmError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(CString::new(format!("/{name}")).expect("no NUL, checked")),
    }
}

fn os<'a>(name: &'a str, call: &'static str) -> impl FnOnce(io::Error) -> ShmError + 'a {
    move |source| ShmError::Os {
        name: name.to_owned(),
        call,
        source,
    }
}

/// A whole segment, mapped; unmapped when dropped.
pub(super) struct Mapping {
    base: NonNull<u8>,
    len: usize,
    _map: memmap2::MmapMut,
}

impl Mapping {
    fn new(name: &str, file: &File) -> Result<Mapping, ShmError> {
        // SAFETY: the mapping is of a shared-memory object that other processes may write or
        // truncate at any time. Every shared word is read as an atomic and every index checked
        // (layout.rs, ring.rs); slots are plain memory that only their holder uses. A peer that
        // truncates the object makes accesses fault (SIGBUS): it can crash this process, not
        // make it read or write outside the mapping.
        let mut map = unsafe { memmap2::MmapMut::map_mut(file) }.map_err(os(name, "mmap"))?;
        let len = map.len();
        let base = NonNull::new(map.as_mut_ptr()).expect("mmap never maps at address 0");
        Ok(Mapping {
            base,
            len,
            _map: map,
        })
    }

    pub(super) fn base(&self) -> NonNull<u8> {
        self.base
    }

    /// The header at the mapping's start, if the mapping is long enough to hold one.
    fn header(&self) -> Option<&Header> {
        // SAFETY: a `Header` of atomics at the page-aligned start of a mapping at least that
        // long; every bit pattern is a valid atomic.
        (self.len >= core::mem::size_of::<Header>())
            .then(|| unsafe { &*self.base.as_ptr().cast::<Header>() })
    }
}

fn shm_open(name: &str, object: &CString, flags: libc::c_int) -> Result<File, ShmError> {
    // SAFETY: `object` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::shm_open(object.as_ptr(), flags, 0o600) };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::EEXIST) => ShmError::Exists {
                name: name.to_owned(),
            },
            Some(libc::ENOENT) => ShmError::NotFound {
                name: name.to_owned(),
            },
            _ => os(name, "shm_open")(err),
        });
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Creates segment `name` of `layout.len` zeroed bytes, for the current user only.
/// `Err(Exists)` if the name is taken.
pub(super) fn create(name: &str, layout: &Layout) -> Result<Mapping, ShmError> {
    let object = object_name(name)?;
    let file = shm_open(name, &object, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL)?;
    let made = (|| {
        use std::os::fd::AsRawFd;
        // SAFETY: `file` owns a valid descriptor.
        if unsafe { libc::fchmod(file.as_raw_fd(), 0o600) } != 0 {
            return Err(os(name, "fchmod")(io::Error::last_os_error()));
        }
        file.set_len(layout.len as u64)
            .map_err(os(name, "ftruncate"))?;
        // Reserve the memory now: a tmpfs that runs out later would make a write fault.
        // SAFETY: `file` owns a valid descriptor; the range is the file's length.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, layout.len as libc::off_t) };
        if rc != 0 {
            return Err(os(name, "fallocate")(io::Error::from_raw_os_error(rc)));
        }
        Mapping::new(name, &file)
    })();
    if made.is_err() {
        let _ = unlink(name);
    }
    made
}

/// Opens segment `name` and maps it whole, once its creator has filled it in; returns the
/// mapping and what its header says, checked against the file's length.
pub(super) fn open(name: &str) -> Result<(Mapping, Described), ShmError> {
    let object = object_name(name)?;
    let file = shm_open(name, &object, libc::O_RDWR)?;
    let corrupt = |reason| ShmError::Corrupt {
        name: name.to_owned(),
        reason,
    };
    let since = Instant::now();
    loop {
        let len = file.metadata().map_err(os(name, "fstat"))?.len();
        // A creator sets the length right after `shm_open`, and the magic last.
        if len >= core::mem::size_of::<Header>() as u64 {
            let mapping = Mapping::new(name, &file)?;
            match mapping.header().map(Header::describe) {
                Some(Ok(described)) => {
                    if described.len != mapping.len as u64 {
                        return Err(corrupt("its header's length is not the file's"));
                    }
                    return Ok((mapping, described));
                }
                Some(Err(reason)) if since.elapsed() > CREATOR_GRACE => {
                    return Err(corrupt(reason))
                }
                _ => {}
            }
        } else if since.elapsed() > CREATOR_GRACE {
            return Err(corrupt(
                "it is shorter than a header (its creator never finished)",
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Removes the name `name`; processes that have the segment mapped keep it until they unmap.
pub(super) fn unlink(name: &str) -> Result<(), ShmError> {
    let object = object_name(name)?;
    // SAFETY: `object` is a NUL-terminated string that outlives the call.
    if unsafe { libc::shm_unlink(object.as_ptr()) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    Err(match err.raw_os_error() {
        Some(libc::ENOENT) => ShmError::NotFound {
            name: name.to_owned(),
        },
        _ => os(name, "shm_unlink")(err),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_component() {
        assert_eq!(object_name("feed").unwrap().to_bytes(), b"/feed");
        for bad in ["", "a/b", "/feed", "nul\0", ".", "..", &"x".repeat(201)] {
            let err = object_name(bad).unwrap_err();
            assert!(
                matches!(err, ShmError::InvalidName { .. }),
                "{bad:?}: {err}"
            );
        }
    }
}
