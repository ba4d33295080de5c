//! Progress bars on stderr, moved along from the run's counters.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::sleep;

/// A bar of `len` steps, hidden when `quiet`.
pub fn progress(quiet: bool, len: u64, prefix: &'static str) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr_with_hz(5)
    };
    let pb = ProgressBar::with_draw_target(Some(len), target);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>10} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    pb.set_prefix(prefix);
    pb
}

/// Keeps a progress bar moving from the counters until `stop` fires.
pub fn tick(
    pb: ProgressBar,
    every: Duration,
    f: impl Fn(&ProgressBar) + Send + 'static,
) -> impl FnOnce() {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            f(&pb);
            tokio::select! {
                _ = sleep(every) => {}
                _ = &mut stopped => break,
            }
        }
        f(&pb);
        pb.finish_and_clear();
    });
    move || {
        let _ = stop.send(());
        drop(task);
    }
}
