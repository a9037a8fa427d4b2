//! Leader election on the embedded API: one leader at a time, a graceful hand-over, and a take-over
//! when the leader vanishes without releasing the lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use keyhold::server::leader::{Elector, Timing};

// A lease long enough that a loaded CI machine still renews in time; renewals every 50 ms.
const TIMING: Timing = Timing { lease: Duration::from_secs(3), retry: Duration::from_millis(50) };

/// Counts the replicas doing the leader's work right now.
#[derive(Clone, Default)]
struct Working(Arc<AtomicUsize>);

struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Working {
    fn work(&self) -> impl Future<Output = ()> + use<> {
        let counter = self.0.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let _guard = Guard(counter);
            std::future::pending::<()>().await;
        }
    }

    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

async fn cluster() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let client = keyhold::embedded::Cluster::open(dir.path()).unwrap().client();
    let ns = Namespace { metadata: ObjectMeta { name: Some("keyhold-system".into()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
    (dir, client)
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn spawn(client: &Client, identity: &str, working: &Working) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let elector = Elector::new(client.clone(), "keyhold-system", "controller", identity, TIMING);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let working = working.clone();
    let task = tokio::spawn(async move { elector.run(|| working.work(), async { let _ = stopped.await; }).await });
    (stop, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_then_a_graceful_hand_over() {
    let (_dir, client) = cluster().await;
    let (a, b) = (Working::default(), Working::default());
    let (stop_a, task_a) = spawn(&client, "a", &a);
    until("a leads", || a.count() == 1).await;
    let (_stop_b, _task_b) = spawn(&client, "b", &b);
    // b keeps trying for longer than a lease lasts, and never gets in while a renews.
    tokio::time::sleep(TIMING.lease + TIMING.lease / 2).await;
    assert_eq!((a.count(), b.count()), (1, 0));

    stop_a.send(()).unwrap();
    task_a.await.unwrap();
    until("b takes over after a releases", || b.count() == 1).await;
    assert_eq!(a.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_leader_is_replaced_after_the_lease_runs_out() {
    let (_dir, client) = cluster().await;
    let (a, b) = (Working::default(), Working::default());
    let (_stop_a, task_a) = spawn(&client, "a", &a);
    until("a leads", || a.count() == 1).await;
    let (_stop_b, _task_b) = spawn(&client, "b", &b);
    // a dies without releasing the lease, as a killed process would.
    task_a.abort();
    let _ = task_a.await;
    let started = tokio::time::Instant::now();
    until("b takes over", || b.count() == 1).await;
    assert!(started.elapsed() >= TIMING.lease / 2, "b must wait for the lease to run out");
}
