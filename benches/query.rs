//! Benchmark (not a test): the Credentials table's query (`Prepared::select`: filter, search, sort,
//! one page and the pickers' values) over 100,000 rows in memory, as at issue 21's scale, and the
//! size of the page the server function then sends. `make bench` runs it.

use std::time::{Duration, Instant};

use keyhold::domain::credential::{CredentialType, Phase, ScopeLevel};
use keyhold::domain::lifecycle::Expiry;
use keyhold::domain::query::{CredentialRow, ListQuery, Listing, Prepared, Visible};

const ROWS: usize = 100_000;
const PROJECTS: usize = 2_000;
const ROUNDS: usize = 200;

fn row(i: usize) -> CredentialRow {
    let project = format!("project-{}", i % PROJECTS);
    let department = format!("department-{}", i % PROJECTS % 20);
    let credential_type = CredentialType::ALL[i % CredentialType::ALL.len()];
    CredentialRow {
        namespace: project.clone(),
        governing_department: Some(department.clone()),
        name: format!("cred-{i}"),
        secret_name: format!("cred-{i}"),
        display_name: format!("Credential {i:06}"),
        description: format!("benchmark credential {i}"),
        credential_type,
        phase: Phase::Ready,
        targets: Vec::new(),
        used_by: Vec::new(),
        unseen_users: 0,
        created_by: format!("user-{}", i % 100),
        scope_level: ScopeLevel::Project,
        projects: Vec::new(),
        scope_path: format!("local › {department} › {project}"),
        created_at: "2026-01-01T00:00:00Z".into(),
        changed_at: String::new(),
        cluster: "local".into(),
        keys: vec!["USERNAME".into(), "PASSWORD".into()],
        managed_secret: true,
        may_change: false,
        expires_on: None,
        expiry: Expiry::Never,
        last_test: None,
    }
}

fn p50(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let prepared = Prepared::new((0..ROWS).map(row).collect());
    let queries = [
        ("first page, default order", ListQuery::default()),
        (
            "search, Type filter, descending sort, page 2 of 50",
            ListQuery::from_params([("q", "credential 0"), ("type", "Generic secret"), ("type", "Access key"), ("sort", "credential"), ("order", "desc"), ("page", "2"), ("per_page", "50")]),
        ),
    ];
    for (label, query) in &queries {
        let started = Instant::now();
        prepared.select(&Visible::all(), query);
        let first = started.elapsed();
        let samples: Vec<Duration> = (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(prepared.select(&Visible::all(), query));
                t.elapsed()
            })
            .collect();
        let page = prepared.select(&Visible::all(), query);
        let started = Instant::now();
        let json = serde_json::to_string(&Listing { page, read_at: String::new() }).unwrap();
        let encoded = started.elapsed();
        println!(
            "{ROWS} rows, {label}: first {:.1} ms, then p50 {:.2} ms; the page as JSON {} KB, written in {:.2} ms",
            first.as_secs_f64() * 1000.0,
            p50(samples),
            json.len() / 1000,
            encoded.as_secs_f64() * 1000.0
        );
    }
}
