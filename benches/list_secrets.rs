//! Benchmark (not a test): listing Secrets from the embedded API in-process through kube::Client.
//! 10,000 Secrets of 1 KiB across 500 namespaces; lists with a label selector that matches one in
//! ten, and without one. Prints timings and the process's resident memory. `make bench` runs it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::Api;

#[allow(dead_code)]
mod fixture;

const NAMESPACES: usize = 500;
const SECRETS: usize = 10_000;
const ROUNDS: usize = 30;

/// This process's resident memory, in MiB.
fn resident_mib() -> f64 {
    fixture::resident_mib(std::process::id())
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!("median {:.1} ms, p90 {:.1} ms, min {:.1} ms", ms(samples[samples.len() / 2]), ms(samples[samples.len() * 9 / 10]), ms(samples[0]))
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = keyhold::embedded::Cluster::open(dir.path()).unwrap();
    let client = cluster.client();
    let before = resident_mib();

    let started = Instant::now();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for n in 0..NAMESPACES {
        let ns = Namespace { metadata: ObjectMeta { name: Some(format!("ns-{n}")), ..Default::default() }, ..Default::default() };
        namespaces.create(&PostParams::default(), &ns).await.unwrap();
    }
    for i in 0..SECRETS {
        let namespace = format!("ns-{}", i % NAMESPACES);
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(format!("secret-{i}")),
                labels: Some(BTreeMap::from([("tier".to_string(), if i % 10 == 0 { "gold" } else { "bronze" }.to_string())])),
                ..Default::default()
            },
            data: Some(BTreeMap::from([("value".to_string(), ByteString(vec![b'x'; 1024]))])),
            ..Default::default()
        };
        Api::<Secret>::namespaced(client.clone(), &namespace).create(&PostParams::default(), &secret).await.unwrap();
    }
    let loaded = started.elapsed();
    let after_load = resident_mib();

    let secrets: Api<Secret> = Api::all(client.clone());
    let time = |params: ListParams, expect: usize| {
        let secrets = secrets.clone();
        async move {
            let mut samples = Vec::new();
            for _ in 0..ROUNDS {
                let t = Instant::now();
                let list = secrets.list(&params).await.unwrap();
                samples.push(t.elapsed());
                assert_eq!(list.items.len(), expect);
            }
            samples
        }
    };
    let selected = time(ListParams::default().labels("tier=gold"), SECRETS / 10).await;
    let all = time(ListParams::default(), SECRETS).await;

    println!("created {NAMESPACES} namespaces and {SECRETS} Secrets of 1 KiB in {:.1} s ({:.2} ms per durable write)", loaded.as_secs_f64(), loaded.as_secs_f64() * 1000.0 / (NAMESPACES + SECRETS) as f64);
    println!("list with labelSelector tier=gold ({} items): {}", SECRETS / 10, summary(selected));
    println!("list of all {SECRETS} Secrets: {}", summary(all));
    println!("resident memory: {before:.0} MiB before loading, {after_load:.0} MiB with {SECRETS} Secrets, {:.0} MiB after the lists", resident_mib());
}
