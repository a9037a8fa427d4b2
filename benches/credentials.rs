//! Benchmark (not a test) of the credentials service on the embedded API: a page of 50 out of
//! 10,000 credentials across 500 namespaces, with search, filter and sort; and one Cluster-scope
//! credential propagated to 500 project namespaces until Ready. `make bench` runs it.

use std::time::{Duration, Instant};

use kube::Api;

use keyhold::domain::credential::{Phase, Scope, ScopeLevel};
use keyhold::domain::identity::Identity;
use keyhold::domain::new_credential::{NewCredential, SecretValues};
use keyhold::domain::query::{Column, Direction, Filter, ListQuery};
use keyhold::server::credentials::resource::{Credential, install_crd};
use keyhold::server::credentials::service::{CredentialsService, Settings};

#[allow(dead_code)]
mod fixture;

use fixture::{CREDENTIALS, NAMESPACES, create_credential, percentiles, projects};

#[tokio::main]
async fn main() {
    let admin = Identity::new("bench", &["system:masters"]);

    // 1. A page out of 10,000 credentials.
    let dir = tempfile::tempdir().unwrap();
    let client = keyhold::embedded::Cluster::open(dir.path()).unwrap().client();
    install_crd(client.clone()).await.unwrap();
    projects(&client).await;
    for i in 0..CREDENTIALS {
        create_credential(&client, i).await.unwrap();
    }
    let (service, driver) = CredentialsService::start(client.clone(), Settings::default());
    tokio::spawn(driver);
    service.synced().await;
    let query = ListQuery {
        search: "credential 0".into(),
        filters: vec![Filter { column: Column::Type, values: vec!["Generic secret".into(), "Access key".into()] }],
        sort: Some((Column::Credential, Direction::Descending)),
        page: 2,
        per_page: 50,
    };
    let mut samples = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let page = service.list(&admin, &query).await.unwrap().page;
        samples.push(t.elapsed());
        assert_eq!(page.rows.len(), 50);
    }
    let (p50, p90) = percentiles(samples);
    println!("page of 50 out of {CREDENTIALS} credentials, with search, filter and sort: p50 {p50:.1} ms, p90 {p90:.1} ms");

    // 2. One Cluster-scope credential reaching 500 projects.
    let dir = tempfile::tempdir().unwrap();
    let client = keyhold::embedded::Cluster::open(dir.path()).unwrap().client();
    install_crd(client.clone()).await.unwrap();
    projects(&client).await;
    let (service, driver) = CredentialsService::start(client.clone(), Settings::default());
    tokio::spawn(driver);
    tokio::spawn(keyhold::server::credentials::controller::run(client.clone(), Settings::default()));
    service.synced().await;
    let started = Instant::now();
    let request = NewCredential {
        display_name: "Everywhere".into(),
        description: String::new(),
        scope: Scope { level: ScopeLevel::Cluster, department: None, project: None, cluster: None },
        values: SecretValues::Generic { entries: vec![("TOKEN".into(), "x".repeat(1024))] },
        expires_on: String::new(),
    };
    let row = service.create(&admin, &request).await.unwrap();
    let credentials: Api<Credential> = Api::namespaced(client.clone(), "keyhold-system");
    loop {
        let credential = credentials.get(&row.name).await.unwrap();
        if let Some(status) = credential.status.filter(|s| s.phase == Phase::Ready) {
            println!("Cluster-scope credential Ready in {NAMESPACES} projects ({} targets) after {:.2} s", status.targets.len() - 1, started.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
