//! Waiting for a hub to reach a state: one poll loop, with the patience of the caller (an in-process
//! server answers at once; a kind cluster can be slow).

use crate::error::FixtureError;
use std::future::Future;
use std::time::Duration;

/// How long to wait, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// When to give up.
    pub timeout: Duration,
    /// Pause between two looks.
    pub interval: Duration,
}

impl Patience {
    /// For the embedded API server: a generous minute, looking every 50 ms.
    pub const IN_PROCESS: Patience = Patience {
        timeout: Duration::from_secs(60),
        interval: Duration::from_millis(50),
    };
    /// For a real cluster: two minutes, looking every 200 ms.
    pub const CLUSTER: Patience = Patience {
        timeout: Duration::from_secs(120),
        interval: Duration::from_millis(200),
    };
}

/// Polls `check` until it yields `Some(value)`: `Ok(Some(value))`, or `Ok(None)` when `patience`
/// runs out; an error of `check` ends the wait at once. Callers turn `None` into their own timeout.
pub async fn poll<T, E, F, Fut>(patience: Patience, mut check: F) -> Result<Option<T>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    let deadline = tokio::time::Instant::now() + patience.timeout;
    loop {
        if let Some(value) = check().await? {
            return Ok(Some(value));
        }
        if tokio::time::Instant::now() > deadline {
            return Ok(None);
        }
        tokio::time::sleep(patience.interval).await;
    }
}

/// [`poll`] that fails with [`FixtureError::Timeout`] naming `what`.
pub async fn eventually<T, F, Fut>(
    what: &str,
    patience: Patience,
    check: F,
) -> Result<T, FixtureError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, FixtureError>>,
{
    poll(patience, check)
        .await?
        .ok_or_else(|| FixtureError::Timeout { what: what.into() })
}
