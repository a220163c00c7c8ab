//! The operator's client never waits on a request for ever: a write the API server never answers is
//! abandoned at the request timeout and retried.

mod support;

use hub_operator::client::Timeouts;
use hub_operator::metrics::Metrics;
use hub_operator::{run, shutdown_signal};
use std::time::Duration;
use support::{Hub, operator_client_with};
use test_apiserver::{FaultAction, RequestFilter};

#[tokio::test]
async fn a_hung_status_write_is_abandoned_and_retried() {
    let hub = Hub::prepared(&support::config()).await;
    let timeouts = Timeouts {
        request: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let settings = support::operator_settings("timeouts", false);
    // The first status write of the policy never gets an answer.
    hub.server.hooks().fail_next(
        RequestFilter::any()
            .resource("drpolicies")
            .subresource("status")
            .verb("patch"),
        1,
        FaultAction::Hang(Duration::from_secs(3600)),
    );
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(run(
        operator_client_with(&hub, timeouts),
        settings,
        Metrics::new(),
        shutdown_signal(async move {
            let _ = rx.await;
        }),
    ));
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    assert_eq!(
        hub.server.hooks().pending_faults(),
        0,
        "the status write hung once (else this proves nothing)"
    );
    stop.send(()).unwrap();
    operator.await.unwrap().unwrap();
}
