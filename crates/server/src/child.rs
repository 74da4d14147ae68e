//! Stopping a child process the way an operator would: SIGTERM (the server finishes its
//! requests and exits normally), SIGKILL only if it has not exited after `grace`.

use std::process::Child;
use std::time::{Duration, Instant};

/// Stops `child` (SIGTERM, then SIGKILL after `grace`) and reaps it.
pub fn terminate(child: &mut Child, grace: Duration) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signals our own child, which has not been reaped yet (so its pid is ours).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
