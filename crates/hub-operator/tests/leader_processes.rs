//! Two `hub-operator` processes on one hub: a leader that is paused (SIGSTOP) until a standby has
//! taken the lease over writes nothing once it resumes, and exits so that it restarts as a standby.

mod support;

use k8s_openapi::api::coordination::v1::Lease;
use std::process::{Child, Command, Stdio};
use support::{Hub, eventually, from_operator};

const LEASE: &str = "hub.ramendr.openshift.io";

/// An operator process; killed when dropped.
struct Operator {
    child: Child,
}

impl Operator {
    fn spawn(hub: &Hub, identity: &str) -> Operator {
        let log = std::fs::File::create(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("leader_processes-{identity}.log")),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_hub-operator"))
            .arg("run")
            .args(["--namespace", support::NS])
            .args(["--identity", identity])
            .args(["--leader-elect", "true"])
            .args(["--health-probe-bind-address", "127.0.0.1:0"])
            .args(["--metrics-bind-address", "0"])
            .args(["--log-format", "text"])
            .env("KUBECONFIG", hub.server.kubeconfig_path())
            .env("RUST_LOG", "info,hub_operator=debug")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Operator { child }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal}");
    }

    /// Waits up to a minute for the process to exit.
    async fn exit_status(&mut self) -> std::process::ExitStatus {
        eventually("the operator process exits", || {
            let status = self.child.try_wait().unwrap();
            async move { status }
        })
        .await
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn holder(hub: &Hub) -> Option<String> {
    kube::Api::<Lease>::namespaced(hub.client.clone(), support::NS)
        .get_opt(LEASE)
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

/// Whether a logged request came from process `identity`.
fn from_process(record: &test_apiserver::RequestRecord, identity: &str) -> bool {
    from_operator(record)
        && record
            .user_agent
            .as_deref()
            .is_some_and(|agent| agent.contains(&format!("({identity})")))
}

#[tokio::test]
async fn a_paused_leader_resumed_after_a_standby_took_over_writes_nothing_and_exits() {
    let hub = Hub::prepared(&support::config()).await;
    let hooks = hub.server.hooks();
    let mut first = Operator::spawn(&hub, "op-a");
    eventually("op-a holds the lease", || async {
        (holder(&hub).await.as_deref() == Some("op-a")).then_some(())
    })
    .await;
    hub.create_distributed("p1", &["dr1", "dr2"]).await;
    assert!(
        hooks
            .requests()
            .iter()
            .any(|r| from_process(r, "op-a") && r.is_write() && r.resource != "leases"),
        "the first process reconciles (else the request log does not tell processes apart)"
    );

    let _second = Operator::spawn(&hub, "op-b");
    eventually("op-b stands by", || {
        let read = hooks
            .requests()
            .iter()
            .any(|r| from_process(r, "op-b") && r.resource == "leases");
        async move { read.then_some(()) }
    })
    .await;

    first.signal("-STOP");
    eventually("op-b takes the lease over", || async {
        (holder(&hub).await.as_deref() == Some("op-b")).then_some(())
    })
    .await;
    // Work the paused leader would act on when it resumes.
    hub.create_distributed("p2", &["dr2", "dr3"]).await;
    hub.quiet().await;

    let resumed = hooks.mark();
    first.signal("-CONT");
    let status = first.exit_status().await;
    assert!(
        !status.success(),
        "a leader that lost its lease exits with an error: {status}"
    );
    let writes: Vec<String> = hooks
        .writes_since(resumed)
        .iter()
        .filter(|r| from_process(r, "op-a"))
        .map(|r| format!("{} {} {} ({})", r.verb, r.resource, r.name, r.status))
        .collect();
    assert!(
        writes.is_empty(),
        "the resumed leader wrote after a standby took over: {writes:#?}"
    );
    assert_eq!(holder(&hub).await.as_deref(), Some("op-b"));
}
