//! What an allocator does with misuse it cannot hand back — a double free, a foreign pointer,
//! a block freed with another layout: it says so on standard error and aborts.
//!
//! Unwinding out of `GlobalAlloc::dealloc` is undefined behaviour, and an `Allocator` must not
//! unwind out of `deallocate` either; a report that allocated could re-enter the allocator it
//! is reporting on. So the message is formatted into a buffer on the stack, written straight
//! to file descriptor 2, and the process aborts.

use core::fmt::{self, Write};

/// Bytes of message kept; a longer one is cut.
const CAPACITY: usize = 512;

struct StackBuf {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = CAPACITY - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Writes `args` and a newline to standard error without allocating, then aborts.
#[cold]
#[inline(never)]
pub(crate) fn abort_with(args: fmt::Arguments<'_>) -> ! {
    let mut buf = StackBuf {
        bytes: [0; CAPACITY],
        len: 0,
    };
    let _ = buf.write_fmt(args);
    let _ = buf.write_str("\n");
    write_stderr(&buf.bytes[..buf.len]);
    std::process::abort()
}

#[cfg(unix)]
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live buffer of `bytes.len()` bytes; fd 2 is only written to.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

#[cfg(not(unix))]
fn write_stderr(bytes: &[u8]) {
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(bytes);
}
