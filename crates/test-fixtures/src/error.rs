//! The one error of this crate: which object a fixture failed to write or read, and why.

/// A fixture could not be written or read, or a wait ran out of time.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The API server refused or failed a request about `what`.
    #[error("{what}: {source}")]
    Kube {
        /// The object and the step, e.g. `creating DRCluster dr1`.
        what: String,
        /// What the client reported.
        #[source]
        source: kube::Error,
    },
    /// A fixture built in code does not serialize or deserialize (a bug in the fixture).
    #[error("{what}: {source}")]
    Json {
        /// The object being built.
        what: String,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// A wait gave up.
    #[error("timed out waiting for: {what}")]
    Timeout {
        /// What was awaited.
        what: String,
    },
}

/// Attaches `what` to a client error.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, FixtureError>;
}

impl<T> Context<T> for Result<T, kube::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, FixtureError> {
        self.map_err(|source| FixtureError::Kube {
            what: what(),
            source,
        })
    }
}

/// Whether a client error is the API server's `409 AlreadyExists`.
pub(crate) fn already_exists(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}
