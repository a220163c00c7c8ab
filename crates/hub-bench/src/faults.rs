//! The soak's fault kinds and the task that injects them while the script plays: API faults (failed,
//! conflicting, throttled, hung and dropped requests, dropped and expired watches), crashes (`kill -9`
//! at random moments and right inside one distribution's or one policy's writes), failovers between
//! two replicas with leader election (the leader killed or paused), and API-server restarts (a real
//! kube-apiserver restarted, or on the embedded server every connection cut with a downtime).
//!
//! "Right inside" is exact: the injector hangs the next request of one kind (a PlacementRule create,
//! a DRPolicy status patch, …) and kills the process the moment the server holds it, so the writes
//! before it landed and the ones after it never will.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use test_apiserver::{FaultAction, RequestFilter, TestApiServer};
use tokio::sync::Mutex;

use crate::fleet::Fleet;
use crate::proxy::Cutter;
use crate::requests::is_operator;

/// A kind of fault a soak run injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum FaultKind {
    /// About `--fault-percent` % of the operator's requests fail, hang or lose their connection;
    /// watches are dropped, expired and compacted (one operator process).
    Api,
    /// The operator is killed with SIGKILL at random moments and inside one object's writes, and
    /// started again (mostly as a container restart with its identity, sometimes as a new Pod).
    Crash,
    /// Two replicas with leader election; the leader is killed (and comes back as a new Pod) or
    /// paused with SIGSTOP, briefly or past its lease, and resumed.
    Failover,
    /// The API server restarts under the operator: a real kube-apiserver is restarted (etcd keeps
    /// the data); on the embedded server every connection and watch is cut at once, new connections
    /// are refused for a while and the watch history is sometimes compacted.
    Restart,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 4] = [
        FaultKind::Api,
        FaultKind::Crash,
        FaultKind::Failover,
        FaultKind::Restart,
    ];

    /// The name used in flags, file names and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Api => "api",
            FaultKind::Crash => "crash",
            FaultKind::Failover => "failover",
            FaultKind::Restart => "restart",
        }
    }

    /// Operator replicas of a run with this kind.
    pub fn replicas(self) -> usize {
        match self {
            FaultKind::Failover => 2,
            _ => 1,
        }
    }

    /// The longest pause between two changes of the script: the slower kinds get a slower script,
    /// so that their faults land while work is under way.
    pub fn max_gap(self) -> Duration {
        match self {
            FaultKind::Api => Duration::from_millis(60),
            FaultKind::Crash | FaultKind::Restart => Duration::from_millis(300),
            FaultKind::Failover => Duration::from_millis(500),
        }
    }
}

/// What the injector can pull.
pub struct Levers {
    /// The embedded server (API faults, armed crashes, compaction).
    pub server: Option<Arc<TestApiServer>>,
    /// Cuts the operator's connections to the embedded server.
    pub cutter: Option<Cutter>,
    /// Restarts a real kube-apiserver.
    pub restart_script: Option<PathBuf>,
}

/// What the injector did.
#[derive(Debug, Default)]
pub struct FaultLog {
    /// One line per fault.
    pub events: Vec<String>,
    /// When the last fault (the one right after the script, while the operator still works on its
    /// last changes) was injected.
    pub last: Option<Instant>,
    /// Faults of the run's kind (for the API kind: injected request faults).
    pub count: usize,
    /// Of the crashes and failovers, how many hit a request the server was holding.
    pub inside_writes: usize,
    /// The longest API-server outage of a restart.
    pub longest_outage: Duration,
    /// Identities of the leaders paused past their lease (each exits once resumed).
    pub paused_past_lease: Vec<String>,
}

/// The operator writes a crash or failover can land inside of: the server holds the next such
/// request while the process is killed or paused.
fn write_targets() -> Vec<(&'static str, RequestFilter)> {
    let f = RequestFilter::any;
    vec![
        (
            "PlacementRule create",
            f().verb("create").resource("placementrules"),
        ),
        (
            "PlacementRule patch",
            f().verb("patch").resource("placementrules"),
        ),
        (
            "PlacementBinding create",
            f().verb("create").resource("placementbindings"),
        ),
        (
            "PlacementBinding delete",
            f().verb("delete").resource("placementbindings"),
        ),
        ("Policy create", f().verb("create").resource("policies")),
        ("Policy patch", f().verb("patch").resource("policies")),
        (
            "DRPolicy status patch",
            f().verb("patch")
                .resource("drpolicies")
                .subresource("status"),
        ),
        (
            "DRPolicy finalizer patch",
            f().verb("patch").resource("drpolicies").subresource(""),
        ),
    ]
}

/// Holds the next request matching one of the targets (only the operator writes those resources);
/// returns which one the server is holding, or `None` when none came within the patience (the fault
/// then lands at a random moment).
async fn hold_next_write(server: &TestApiServer, rng: &mut StdRng) -> Option<&'static str> {
    let targets = write_targets();
    let (what, filter) = targets[rng.random_range(0..targets.len())].clone();
    let hooks = server.hooks();
    hooks.fail_next(filter, 1, FaultAction::Hang(Duration::from_secs(6)));
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        if hooks.pending_faults() == 0 {
            return Some(what);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    hooks.clear_faults();
    None
}

/// Sleeps `duration`, restarting exited replicas meanwhile.
async fn sleep_tending(fleet: &Mutex<Fleet>, duration: Duration) -> anyhow::Result<()> {
    sleep_until_stopped(fleet, duration, None).await
}

/// Sleeps `duration` or until `stop`, restarting exited replicas meanwhile.
async fn sleep_until_stopped(
    fleet: &Mutex<Fleet>,
    duration: Duration,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<()> {
    let end = Instant::now() + duration;
    while Instant::now() < end && !stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
        fleet.lock().await.tend().await?;
        tokio::time::sleep(Duration::from_millis(50).min(end - Instant::now())).await;
    }
    Ok(())
}

/// Waits (tending) until a replica leads; returns it.
async fn leader(fleet: &Mutex<Fleet>) -> anyhow::Result<usize> {
    fleet
        .lock()
        .await
        .wait_leader(Duration::from_secs(60))
        .await
}

/// Injects faults of `kind` until `stop`, then one more (the one the convergence time is measured
/// from), and returns what it did.
pub async fn inject(
    kind: FaultKind,
    levers: Levers,
    fleet: Arc<Mutex<Fleet>>,
    seed: u64,
    percent: u32,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<FaultLog> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED_FA17 ^ (kind as u64) << 32);
    let mut log = FaultLog::default();
    match kind {
        FaultKind::Api => {
            let server = levers
                .server
                .ok_or_else(|| anyhow::anyhow!("API faults need the embedded server"))?;
            log.count = api_faults(&server, &mut rng, percent, &stop).await;
            log.events.push(format!("{} request faults", log.count));
            log.last = Some(Instant::now());
        }
        FaultKind::Crash => {
            while !stop.load(Ordering::SeqCst) {
                crash(&levers, &fleet, &mut rng, &mut log, Some(&stop)).await?;
            }
            crash(&levers, &fleet, &mut rng, &mut log, None).await?;
        }
        FaultKind::Failover => {
            while !stop.load(Ordering::SeqCst) {
                failover(&levers, &fleet, &mut rng, &mut log, Some(&stop)).await?;
            }
            failover(&levers, &fleet, &mut rng, &mut log, None).await?;
        }
        FaultKind::Restart => {
            while !stop.load(Ordering::SeqCst) {
                // A restart is an outage of seconds now and then, not a flapping server: between two
                // the operator renews its lease (a 10 s deadline) and catches up.
                let pause = Duration::from_millis(rng.random_range(3000..8000));
                sleep_until_stopped(&fleet, pause, Some(&stop)).await?;
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                restart(&levers, &mut rng, &mut log).await?;
            }
            log.last = Some(Instant::now());
            restart(&levers, &mut rng, &mut log).await?;
        }
    }
    Ok(log)
}

/// Picks the moment of a process fault: waits for a leader, lets it work for a random time out of
/// `work_millis` and, six times in ten, holds its next write of one kind. The last fault (no `stop`)
/// lands at once, inside the next such write if one comes, and is recorded as the run's last.
/// Counts the fault; returns the leader and where the fault lands (for the event line).
async fn approach(
    levers: &Levers,
    fleet: &Mutex<Fleet>,
    rng: &mut StdRng,
    log: &mut FaultLog,
    stop: Option<&AtomicBool>,
    work_millis: std::ops::Range<u64>,
) -> anyhow::Result<(usize, String)> {
    let last = stop.is_none();
    let i = leader(fleet).await?;
    let work = Duration::from_millis(rng.random_range(work_millis));
    if !last {
        sleep_until_stopped(fleet, work, stop).await?;
    }
    let inside = match &levers.server {
        Some(server) if last || rng.random_bool(0.6) => hold_next_write(server, rng).await,
        _ => None,
    };
    if last {
        log.last = Some(Instant::now());
    }
    log.count += 1;
    log.inside_writes += usize::from(inside.is_some());
    let at = inside.map_or_else(
        || "at a random moment".to_owned(),
        |w| format!("inside a {w}"),
    );
    Ok((i, at))
}

/// One crash of the leader, once it leads and worked a little.
async fn crash(
    levers: &Levers,
    fleet: &Mutex<Fleet>,
    rng: &mut StdRng,
    log: &mut FaultLog,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<()> {
    let (i, at) = approach(levers, fleet, rng, log, stop, 100..1500).await?;
    let new_pod = rng.random_bool(0.15);
    fleet.lock().await.crash(i, new_pod).await?;
    log.events.push(format!(
        "kill -9 {at}{}",
        if new_pod {
            ", back as a new Pod"
        } else {
            ", restarted"
        }
    ));
    Ok(())
}

/// One failover: the leader killed (back as a new Pod) or paused, briefly or past its lease.
async fn failover(
    levers: &Levers,
    fleet: &Mutex<Fleet>,
    rng: &mut StdRng,
    log: &mut FaultLog,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<()> {
    let (i, at) = approach(levers, fleet, rng, log, stop, 300..2000).await?;
    match rng.random_range(0..10) {
        0..=3 => {
            fleet.lock().await.crash(i, true).await?;
            log.events
                .push(format!("leader {i} killed {at}, back as a new Pod"));
            // The other replica takes over once the lease expired.
            let next = leader(fleet).await?;
            log.events.push(format!("replica {next} leads"));
        }
        4..=6 => {
            let pause = Duration::from_millis(rng.random_range(16_000..22_000));
            let identity = fleet.lock().await.identity(i);
            fleet.lock().await.pause(i).await?;
            sleep_tending(fleet, pause).await?;
            fleet.lock().await.resume(i).await?;
            log.paused_past_lease.push(identity);
            // It finds its fence closed and exits; until then its metrics still say it leads.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && fleet.lock().await.leads(i).await {
                sleep_tending(fleet, Duration::from_millis(100)).await?;
            }
            log.events.push(format!(
                "leader {i} paused {at} for {:.1} s (past its lease), resumed",
                pause.as_secs_f64()
            ));
        }
        _ => {
            let pause = Duration::from_millis(rng.random_range(1_000..4_000));
            fleet.lock().await.pause(i).await?;
            sleep_tending(fleet, pause).await?;
            fleet.lock().await.resume(i).await?;
            log.events.push(format!(
                "leader {i} paused {at} for {:.1} s (within its lease), resumed",
                pause.as_secs_f64()
            ));
        }
    }
    Ok(())
}

/// One API-server restart.
async fn restart(levers: &Levers, rng: &mut StdRng, log: &mut FaultLog) -> anyhow::Result<()> {
    if let Some(script) = &levers.restart_script {
        // kube-apiserver stops gracefully only once its watches are drained, which takes the
        // script's whole grace: a short one keeps the outage within the operator's renew deadline
        // (a longer outage makes the operator give up its lease and exit, as it must).
        let grace = rng.random_range(0..=1);
        let (took, said) = crate::backend::restart_apiserver(script, grace).await?;
        log.longest_outage = log.longest_outage.max(took);
        log.events.push(format!(
            "kube-apiserver restarted in {:.1} s ({said})",
            took.as_secs_f64()
        ));
    } else {
        let cutter = levers
            .cutter
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("a restart needs a real kube-apiserver or the proxy"))?;
        let downtime = Duration::from_millis(rng.random_range(300..4000));
        cutter.cut(downtime);
        log.longest_outage = log.longest_outage.max(downtime);
        let compacted = rng.random_bool(0.33);
        if compacted && let Some(server) = &levers.server {
            server.compact_history();
        }
        tokio::time::sleep(downtime).await;
        log.events.push(format!(
            "every connection cut, {:.1} s down{}",
            downtime.as_secs_f64(),
            if compacted {
                ", watch history compacted"
            } else {
                ""
            }
        ));
    }
    log.count += 1;
    Ok(())
}

/// Injects faults into about `percent` % of the operator's requests, drops every watch now and then
/// (sometimes with 410 on the re-watch or a compacted history), until `stop`; returns how many
/// request faults it armed.
async fn api_faults(
    server: &TestApiServer,
    rng: &mut StdRng,
    percent: u32,
    stop: &AtomicBool,
) -> usize {
    let hooks = server.hooks();
    let mut mark = hooks.mark();
    let mut armed = 0;
    let mut next_drop = Instant::now() + Duration::from_millis(rng.random_range(500..1500));
    const WATCHED: [&str; 10] = test_fixtures::hub_api::WATCHED_RESOURCES;
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = hooks.requests_since(mark);
        mark = hooks.mark();
        // Only the operator's requests count: the harness polls while it waits, and counting those
        // would multiply the faults the operator sees.
        for _ in seen.iter().filter(|r| !r.faulted && is_operator(r)) {
            if rng.random_range(0..100) >= percent {
                continue;
            }
            let filter = match rng.random_range(0..10) {
                0..=2 => RequestFilter::any().verb("patch"),
                _ => RequestFilter::any(),
            };
            let action = match rng.random_range(0..100) {
                0..=29 => FaultAction::Status(500),
                30..=54 => FaultAction::Status(409),
                55..=69 => FaultAction::TooManyRequests {
                    retry_after_secs: 1,
                },
                70..=84 => FaultAction::Hang(Duration::from_millis(rng.random_range(100..1500))),
                _ => FaultAction::HangUp(Duration::from_millis(rng.random_range(50..500))),
            };
            hooks.fail_next(filter, 1, action);
            armed += 1;
        }
        // Lease-only faults: a renewal fails or hangs now and then. Renewals come every 2 s with a 10 s
        // deadline, so the operator keeps its lease (and keeps writing) through isolated ones.
        for _ in seen
            .iter()
            .filter(|r| !r.faulted && crate::requests::is_lease(r))
        {
            if rng.random_range(0..100) >= percent {
                continue;
            }
            let action = match rng.random_range(0..2) {
                0 => FaultAction::Status(500),
                _ => FaultAction::Hang(Duration::from_millis(rng.random_range(500..3000))),
            };
            hooks.fail_next(
                RequestFilter::any().resource("leases").verb("update"),
                1,
                action,
            );
        }
        if Instant::now() >= next_drop {
            match rng.random_range(0..3) {
                0 => server.expire_next_watch(WATCHED[rng.random_range(0..WATCHED.len())]),
                1 => server.compact_history(),
                _ => {}
            }
            server.close_watches();
            next_drop = Instant::now() + Duration::from_millis(rng.random_range(500..2000));
        }
    }
    hooks.clear_faults();
    armed
}
