//! The allocator, and handing freed memory back to the system.
//!
//! mimalloc instead of the system allocator: a proxy allocates and frees small buffers on
//! every request, from every worker thread (measured in `benches/load/`, README
//! "Performance"). It returns the pages it no longer uses only when the thread that owns them
//! allocates or collects, and a worker whose connections went away is idle: each worker
//! collects on a timer, so memory comes back after a burst of connections ends.

use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How often a worker hands its freed pages back.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Hands the calling thread's freed pages back to the system (those past mimalloc's purge
/// delay; live memory is untouched).
pub fn release_freed() {
    // SAFETY: `mi_collect` has no preconditions; it only walks this thread's own heap.
    unsafe { libmimalloc_sys::mi_collect(false) }
}

/// Runs on a worker's runtime for as long as it serves: collects every `SWEEP_EVERY`.
pub async fn sweep() {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        release_freed();
    }
}
