//! Progress bars on stderr for long steps: encryption, upload, download, decryption and
//! the wait for a key. Drawn only when asked for (the binary asks when stderr is a
//! terminal and `--json` is off), so scripts and CI logs never see them.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars are drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars drawn on stderr when `visible`, else none at all.
    pub fn new(visible: bool) -> Self {
        Self { visible }
    }

    /// No bars (libraries and tests).
    pub fn hidden() -> Self {
        Self::default()
    }

    /// True when bars are drawn.
    pub fn is_visible(&self) -> bool {
        self.visible
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A bar over `len` bytes.
    pub fn bytes(&self, what: &str, len: u64) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(len), self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
        bar
    }

    /// A spinner with the time elapsed, for waiting.
    pub fn spinner(&self, what: String) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
        );
        bar.set_message(what);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}
