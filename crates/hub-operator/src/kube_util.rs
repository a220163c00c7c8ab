//! Small helpers over kube's errors, shared by every layer that talks to the API server: one line
//! describing an error, and the status codes the operator acts on.

use kube::runtime::watcher;

/// An API error as one line: the server's message and reason, not the whole Status structure.
pub(crate) fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
        other => other.to_string(),
    }
}

/// The HTTP status code the server answered with, when the error is an API answer.
pub(crate) fn status_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Whether the server refused a write because the object changed since it was read (409): a cache
/// behind a write.
pub(crate) fn is_conflict(error: &kube::Error) -> bool {
    status_code(error) == Some(409)
}

/// Whether the object does not exist (404).
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    status_code(error) == Some(404)
}

/// Whether a watch failed because the resource is not served (404: its CRD is not installed).
pub(crate) fn is_not_served(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::InitialListFailed(error)
        | watcher::Error::WatchStartFailed(error)
        | watcher::Error::WatchFailed(error) => is_not_found(error),
        watcher::Error::WatchError(status) => status.code == 404,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("the object has been modified", "Conflict")
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn codes_are_told_apart() {
        assert!(is_conflict(&api(409)));
        assert!(!is_conflict(&api(404)));
        assert!(is_not_found(&api(404)));
        assert_eq!(
            describe(&api(409)),
            "the object has been modified (Conflict)"
        );
        assert!(is_not_served(&watcher::Error::InitialListFailed(api(404))));
        assert!(!is_not_served(&watcher::Error::InitialListFailed(api(409))));
    }
}
