//! The pause program: the first process of every pod sandbox.
//!
//! It holds the pod's namespaces open while the pod's containers come and go, so it does nothing
//! but wait: it exits 0 on SIGTERM or SIGINT (a sandbox stop is not a failure) and, being PID 1 of
//! the pod's PID namespace when that namespace is shared, reaps orphaned children that are
//! reparented to it so they do not linger as zombies.
//!
//! It is compiled on its own by the crate's build script, with std only and no crates, so the few
//! C functions it needs are declared here rather than taken from the `libc` crate.

use std::os::raw::c_int;

extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn pause() -> c_int;
    fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
    fn _exit(status: c_int) -> !;
}

/// Signal numbers and flags shared by every Linux architecture Kubernetes runs on.
const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;
const SIGCHLD: c_int = 17;
const WNOHANG: c_int = 1;
const SIG_ERR: usize = usize::MAX;

extern "C" fn on_terminate(_signum: c_int) {
    // `_exit` is async-signal-safe; `std::process::exit` would run atexit handlers.
    unsafe { _exit(0) }
}

extern "C" fn on_child(_signum: c_int) {
    // One SIGCHLD may stand for several exited children: reap until none is left.
    while unsafe { waitpid(-1, std::ptr::null_mut(), WNOHANG) } > 0 {}
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("-v") {
        println!("pause (k0rs)");
        return;
    }
    if std::process::id() != 1 {
        eprintln!("Warning: pause should be the first process");
    }
    for (signum, handler) in [
        (SIGINT, on_terminate as extern "C" fn(c_int)),
        (SIGTERM, on_terminate),
        (SIGCHLD, on_child),
    ] {
        if unsafe { signal(signum, handler) } == SIG_ERR {
            eprintln!("pause: cannot install the handler of signal {signum}");
            std::process::exit(1);
        }
    }
    loop {
        unsafe { pause() };
    }
}
