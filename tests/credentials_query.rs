//! The table's filter, search, sort and pagination, served by the credentials service from its
//! watch cache, checked against a deliberately plain reference implementation on random
//! credentials in the embedded API (through `kube::Client`). The seed is printed on failure.

use std::cmp::Ordering;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

use keyhold::domain::credential::{CredentialType, Phase, Scope, ScopeLevel};
use keyhold::domain::identity::Identity;
use keyhold::domain::lifecycle::Expiry;
use keyhold::domain::query::{Column, Direction, Filter, FilterKind, ListQuery};
use keyhold::server::credentials::resource::{Credential, CredentialSpec, SecretRef, install_crd};
use keyhold::server::credentials::service::{CREATED_BY, CredentialsService, Settings};

const WORDS: [&str; 10] = ["alpha", "Beta", "gamma", "registry", "bucket", "Token", "model", "data", "train", "serve"];
const CREATORS: [&str; 4] = ["alice", "bob", "carol", "dora"];
const PHASES: [Phase; 5] = [Phase::Creating, Phase::Ready, Phase::Issues, Phase::Deleting, Phase::Unknown];
const PROJECTS: [(&str, &str); 3] = [("vision", "research"), ("nlp", "research"), ("etl", "production")];

/// A credential as the test made it: everything the reference needs, known without the service.
struct Made {
    namespace: String,
    name: String,
    secret_name: String,
    display_name: String,
    description: String,
    credential_type: CredentialType,
    phase: Phase,
    created_by: String,
    scope_path: String,
    created_at: String,
    keys: Vec<String>,
    expires_on: Option<String>,
}

impl Made {
    fn text(&self, column: Column) -> String {
        match column {
            Column::Credential => self.display_name.clone(),
            Column::KubernetesName => format!("{}/{} (Secret {})", self.namespace, self.name, self.secret_name),
            Column::Description => self.description.clone(),
            Column::Type => self.credential_type.label().to_string(),
            Column::Status => self.phase.label().to_string(),
            Column::DataSources => String::new(),
            Column::CreatedBy => self.created_by.clone(),
            Column::Scope => self.scope_path.clone(),
            Column::CreationTime => self.created_at.clone(),
            Column::Cluster => "local".to_string(),
            Column::Expires => Expiry::of(self.expires_on.as_deref(), jiff::Timestamp::now().as_second()).bucket().to_string(),
        }
    }
}

/// The reference: filter and search row by row, sort with a comparator; the whole view.
fn reference_view<'a>(all: &'a [Made], query: &ListQuery) -> Vec<&'a Made> {
    let has = |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
    let mut kept: Vec<&Made> = all
        .iter()
        .filter(|m| {
            query.filters.iter().all(|f| match f.column.filter_kind() {
                Some(FilterKind::Contains) => f.values.iter().any(|v| has(&m.text(f.column), v)),
                _ => f.values.contains(&m.text(f.column)),
            })
        })
        .filter(|m| {
            let needle = query.search.trim();
            needle.is_empty()
                || [&m.display_name, &m.description, &m.created_by, &m.scope_path, &m.text(Column::KubernetesName)].iter().any(|h| has(h, needle))
                || m.keys.iter().any(|k| has(k, needle))
        })
        .collect();
    let (column, direction) = query.sort.unwrap_or((Column::Credential, Direction::Ascending));
    kept.sort_by(|a, b| {
        let primary = match column {
            Column::Type => a.credential_type.label().cmp(b.credential_type.label()),
            Column::Status => PHASES.iter().position(|p| *p == a.phase).cmp(&PHASES.iter().position(|p| *p == b.phase)),
            Column::DataSources => Ordering::Equal,
            Column::CreationTime => a.created_at.cmp(&b.created_at),
            // Soonest first, none last.
            Column::Expires => (a.expires_on.is_none(), &a.expires_on).cmp(&(b.expires_on.is_none(), &b.expires_on)),
            _ => a.text(column).to_lowercase().cmp(&b.text(column).to_lowercase()),
        };
        let primary = if direction == Direction::Descending { primary.reverse() } else { primary };
        primary.then((&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
    });
    kept
}

/// The reference's page of a query: the total, the page number and the rows' names.
fn reference(all: &[Made], query: &ListQuery) -> (usize, usize, Vec<String>) {
    let kept = reference_view(all, query);
    let per_page = if [25, 50, 100].contains(&query.per_page) { query.per_page } else { 25 };
    let pages = kept.len().div_ceil(per_page).max(1);
    let page = query.page.clamp(1, pages);
    let names = kept.iter().skip((page - 1) * per_page).take(per_page).map(|m| format!("{}/{}", m.namespace, m.name)).collect();
    (kept.len(), page, names)
}

fn phrase(rng: &mut StdRng, words: usize) -> String {
    (0..words).map(|_| *WORDS.choose(rng).unwrap()).collect::<Vec<_>>().join(" ")
}

/// A piece of a word, in a random case.
fn fragment(rng: &mut StdRng) -> String {
    let word = WORDS.choose(rng).unwrap();
    let start = rng.random_range(0..word.len() - 2);
    let piece = &word[start..start + 3];
    if rng.random_bool(0.5) { piece.to_uppercase() } else { piece.to_lowercase() }
}

fn random_query(rng: &mut StdRng, all: &[Made]) -> ListQuery {
    let mut query = ListQuery::default();
    if rng.random_bool(0.5) {
        query.search = if rng.random_bool(0.2) { "zz-nothing".into() } else { fragment(rng) };
    }
    let filterable: Vec<Column> = Column::ALL.into_iter().filter(|c| c.filter_kind().is_some()).collect();
    for _ in 0..rng.random_range(0..3) {
        let column = *filterable.choose(rng).unwrap();
        let values = match column.filter_kind() {
            Some(FilterKind::Pick) => (0..rng.random_range(1..3)).map(|_| all.choose(rng).unwrap().text(column)).collect(),
            _ => vec![fragment(rng)],
        };
        if !query.filters.iter().any(|f| f.column == column) {
            query.filters.push(Filter { column, values });
        }
    }
    if rng.random_bool(0.8) {
        let direction = if rng.random_bool(0.5) { Direction::Ascending } else { Direction::Descending };
        query.sort = Some((*Column::ALL.choose(rng).unwrap(), direction));
    }
    query.page = rng.random_range(1..5);
    query.per_page = *[25, 50, 100, 10].choose(rng).unwrap();
    query
}

#[tokio::test]
async fn filter_search_sort_and_pages_match_a_simple_reference() {
    let seed: u64 = std::env::var("KEYHOLD_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let client = keyhold::embedded::Cluster::open(dir.path()).unwrap().client();
    install_crd(client.clone()).await.unwrap();
    for (project, department) in PROJECTS {
        let labels = [("keyhold.dev/project".to_string(), project.to_string()), ("keyhold.dev/department".to_string(), department.to_string())];
        let ns = Namespace { metadata: ObjectMeta { name: Some(project.into()), labels: Some(labels.into()), ..Default::default() }, ..Default::default() };
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
    }

    // Random credentials, their status written as the controller would (no controller runs here).
    let mut all = Vec::new();
    let soon = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date().checked_add(jiff::Span::new().days(5)).unwrap().to_string();
    for i in 0..150 {
        let (project, department) = *PROJECTS.choose(&mut rng).unwrap();
        let name = format!("cred-{i}");
        // Secret names of their own words, so searches and filters reach both halves of the
        // Kubernetes name.
        let secret_name = format!("{}-{i}", WORDS.choose(&mut rng).unwrap().to_lowercase());
        let mut credential = Credential::new(
            &name,
            CredentialSpec {
                display_name: format!("{} {i}", phrase(&mut rng, 2)),
                description: rng.random_bool(0.8).then(|| phrase(&mut rng, 4)),
                credential_type: *CredentialType::ALL.choose(&mut rng).unwrap(),
                scope: Scope { level: ScopeLevel::Project, department: None, project: Some(project.into()), cluster: None },
                secret_ref: SecretRef { name: secret_name.clone(), managed: true },
                registry: None,
                expires_on: [None, Some("2020-01-01".to_string()), Some(soon.clone()), Some("2099-12-31".to_string())].choose(&mut rng).unwrap().clone(),
                personal: None,
            },
        );
        credential.metadata.namespace = Some(project.into());
        let created_by = CREATORS.choose(&mut rng).unwrap().to_string();
        credential.metadata.annotations = Some([(CREATED_BY.to_string(), created_by.clone())].into());
        let api: Api<Credential> = Api::namespaced(client.clone(), project);
        let created = api.create(&PostParams::default(), &credential).await.unwrap();
        let phase = *PHASES.choose(&mut rng).unwrap();
        let keys: Vec<String> = (0..rng.random_range(0..3)).map(|k| format!("{}_{k}", WORDS.choose(&mut rng).unwrap().to_uppercase())).collect();
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({"status": {"phase": phase, "keys": keys}}))).await.unwrap();
        all.push(Made {
            namespace: project.into(),
            name: created.name_any(),
            secret_name,
            display_name: created.spec.display_name.clone(),
            description: created.spec.description.clone().unwrap_or_default(),
            credential_type: created.spec.credential_type,
            phase,
            created_by,
            scope_path: format!("local › {department} › {project}"),
            created_at: created.metadata.creation_timestamp.unwrap().0.to_string(),
            keys,
            expires_on: created.spec.expires_on.clone(),
        });
    }

    let (service, driver) = CredentialsService::start(client.clone(), Settings::default());
    tokio::spawn(driver);
    service.synced().await;
    let admin = Identity::new("admin", &["system:masters"]);
    // The cache follows the status writes within moments: wait until no status is missing.
    let unknown = all.iter().filter(|m| m.phase == Phase::Unknown).count();
    let no_status = ListQuery { filters: vec![Filter { column: Column::Status, values: vec![Phase::Unknown.label().into()] }], ..Default::default() };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while service.list(&admin, &no_status).await.unwrap().page.total != unknown && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for round in 0..300 {
        let query = random_query(&mut rng, &all);
        let page = service.list(&admin, &query).await.unwrap().page;
        let got: Vec<String> = page.rows.iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect();
        let (total, number, names) = reference(&all, &query);
        assert_eq!((page.total, page.page, got), (total, number, names), "seed {seed}, round {round}, query {query:?}");
        // Download CSV's rows: the whole view, every page, in the same order.
        if round % 10 == 0 {
            let view: Vec<String> = service.export(&admin, &query).await.unwrap().iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect();
            let expected: Vec<String> = reference_view(&all, &query).iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect();
            assert_eq!(view, expected, "seed {seed}, round {round}, query {query:?}");
        }
    }

    // A deletion reaches the rows on its own, with nothing else changing (no controller here).
    let gone = all.swap_remove(0);
    Api::<Credential>::namespaced(client.clone(), &gone.namespace).delete(&gone.name, &Default::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while service.list(&admin, &ListQuery::default()).await.unwrap().page.total != all.len() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(service.list(&admin, &ListQuery::default()).await.unwrap().page.total, all.len(), "the deleted credential is no longer listed");
}
