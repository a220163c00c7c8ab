//! Who may read `/metrics` when it is served securely: the caller's bearer token is authenticated
//! with a `TokenReview` and the user it names is authorized with a `SubjectAccessReview` for
//! `get` on the non-resource URL `/metrics` — the API server decides, as for controller-runtime's
//! secure metrics (`filters.WithAuthenticationAndAuthorization`). Grant it with the chart's
//! `<release>-metrics-reader` ClusterRole.
//!
//! Decisions are cached for [`DECISION_TTL`] per token (kept as a SHA-256 digest, never the token),
//! so a scrape every few seconds costs two API requests a minute. At most [`REVIEWS_IN_FLIGHT`]
//! reviews run at once and further callers with an uncached token get 503 at once: a flood of
//! made-up tokens cannot crowd the operator's own requests (its Lease renewals share its API
//! priority level). Failures to reach the API server are not cached and answer 503. (A rejected
//! token is cached like any decision: kube-apiserver sets `status.error` for a token that is merely
//! invalid as well, so a failing authenticator cannot be told apart.)

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long an allow or deny decision is reused for the same token.
pub const DECISION_TTL: Duration = Duration::from_secs(60);
/// Tokens remembered at most (the oldest decisions are dropped beyond).
const CACHED_TOKENS: usize = 1024;
/// Reviews sent to the API server at once.
pub const REVIEWS_IN_FLIGHT: usize = 2;

/// What the API server said about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Authenticated and allowed.
    Allowed,
    /// Not authenticated (401).
    Unauthenticated,
    /// Authenticated as this user, not allowed (403).
    Forbidden(String),
    /// Too many reviews in flight to review this token now (503, not cached).
    Busy,
}

/// Authenticates and authorizes scrapers against the API server; clones share the cache.
#[derive(Clone)]
pub struct Authorizer {
    client: Client,
    path: &'static str,
    cache: Arc<Mutex<Decisions>>,
    reviews: Arc<tokio::sync::Semaphore>,
}

/// Decisions by token digest, with when they were made.
type Decisions = HashMap<[u8; 32], (Decision, Instant)>;

impl Authorizer {
    /// An authorizer for `get` on `/metrics`.
    pub fn new(client: Client) -> Self {
        Authorizer {
            client,
            path: "/metrics",
            cache: Arc::default(),
            reviews: Arc::new(tokio::sync::Semaphore::new(REVIEWS_IN_FLIGHT)),
        }
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Decision> {
        let cache = self.cache.lock();
        cache
            .get(key)
            .filter(|(_, at)| at.elapsed() < DECISION_TTL)
            .map(|(decision, _)| decision.clone())
    }

    fn remember(&self, key: [u8; 32], decision: &Decision) {
        let mut cache = self.cache.lock();
        cache.retain(|_, (_, at)| at.elapsed() < DECISION_TTL);
        if cache.len() >= CACHED_TOKENS
            && let Some(oldest) = cache.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| *k)
        {
            cache.remove(&oldest);
        }
        cache.insert(key, (decision.clone(), Instant::now()));
    }

    /// The decision for `token`, from the cache or the API server.
    pub async fn decide(&self, token: &str) -> Result<Decision, kube::Error> {
        let key = digest(token);
        if let Some(decision) = self.cached(&key) {
            return Ok(decision);
        }
        let Ok(_permit) = self.reviews.try_acquire() else {
            return Ok(Decision::Busy);
        };
        let decision = self.review(token).await?;
        self.remember(key, &decision);
        Ok(decision)
    }

    async fn review(&self, token: &str) -> Result<Decision, kube::Error> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_owned(),
                ..Default::default()
            },
            ..Default::default()
        };
        let reviewed = Api::<TokenReview>::all(self.client.clone())
            .create(&PostParams::default(), &review)
            .await?;
        let status = reviewed.status.unwrap_or_default();
        let user = status.user.unwrap_or_default();
        let Some(username) = user.username.filter(|_| status.authenticated == Some(true)) else {
            return Ok(Decision::Unauthenticated);
        };
        let access = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(username.clone()),
                groups: user.groups,
                uid: user.uid,
                extra: user.extra,
                non_resource_attributes: Some(NonResourceAttributes {
                    path: Some(self.path.to_owned()),
                    verb: Some("get".to_owned()),
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answered = Api::<SubjectAccessReview>::all(self.client.clone())
            .create(&PostParams::default(), &access)
            .await?;
        if answered.status.is_some_and(|s| s.allowed) {
            Ok(Decision::Allowed)
        } else {
            Ok(Decision::Forbidden(username))
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Axum middleware: passes the request on only when its token may `get` `/metrics`.
pub async fn require_access(
    State(authorizer): State<Authorizer>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(request.headers()) else {
        return (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
    };
    match authorizer.decide(token).await {
        Ok(Decision::Allowed) => next.run(request).await,
        Ok(Decision::Unauthenticated) => {
            (StatusCode::UNAUTHORIZED, "the token was not accepted\n").into_response()
        }
        Ok(Decision::Busy) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the token could not be reviewed now; retry\n",
        )
            .into_response(),
        Ok(Decision::Forbidden(user)) => {
            tracing::debug!(%user, "metrics scrape forbidden");
            (
                StatusCode::FORBIDDEN,
                format!("{user} may not get {}\n", authorizer.path),
            )
                .into_response()
        }
        Err(error) => {
            tracing::warn!(error = %error, "could not review a metrics scraper's token");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the API server could not review the token\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_token_is_taken() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert_eq!(bearer(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&headers("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&headers("Basic abc")), None);
        assert_eq!(bearer(&headers("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn tokens_are_kept_as_digests() {
        assert_ne!(digest("a"), digest("b"));
        assert_eq!(digest("a"), digest("a"));
    }
}
