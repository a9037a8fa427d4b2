//! Projects, served from a watch-fed cache of project namespaces.

use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;

use crate::domain::identity::Identity;
use crate::server::auth::access::Access;
use crate::server::watching::counted;
use crate::domain::project::{DEPARTMENT_LABEL, PROJECT_LABEL, ProjectList, ProjectSummary, sort_projects};

#[derive(Clone)]
pub struct ProjectsService {
    cache: Store<Namespace>,
}

impl ProjectsService {
    /// Starts watching project namespaces, counting every change on `changes`; the returned future
    /// drives the cache and runs until the process stops.
    pub fn start(client: Client, changes: watch::Sender<u64>) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (cache, writer) = reflector::store();
        let config = watcher::Config::default().labels(PROJECT_LABEL);
        let stream = counted(writer, Api::<Namespace>::all(client), config, changes, "project Namespace");
        (ProjectsService { cache }, stream)
    }

    /// Resolves once the cache holds the cluster's state.
    pub async fn synced(&self) {
        // The writer lives as long as the watch future, which runs for the life of the process.
        let _ = self.cache.wait_until_ready().await;
    }

    /// The projects in which `who` may see credentials or project secrets, themselves or as their
    /// department's administrator; `None` if there are
    /// none, so the page can say the user has no role rather than show an empty table.
    pub async fn visible_to(&self, who: &Identity, access: &Access) -> Result<Option<ProjectList>, kube::Error> {
        let mut list = self.list();
        if access.may(who, "list", "credentials", "").await? {
            return Ok(Some(list));
        }
        let mut visible = Vec::new();
        for project in list.projects {
            let allowed = access.may_here_or_in_department(who, "list", "credentials", &project.namespace, project.department.as_deref()).await?
                || access.may(who, "list", "projectsecrets", &project.namespace).await?;
            if allowed {
                visible.push(project);
            }
        }
        list.projects = visible;
        Ok((!list.projects.is_empty()).then_some(list))
    }

    /// Whether `namespace` is a project.
    pub fn contains(&self, namespace: &str) -> bool {
        self.cache.get(&reflector::ObjectRef::new(namespace)).is_some()
    }

    /// The department of the project in `namespace`, if it is a project and has one.
    pub fn department_of(&self, namespace: &str) -> Option<String> {
        self.cache.get(&reflector::ObjectRef::new(namespace)).and_then(|ns| ns.labels().get(DEPARTMENT_LABEL).cloned())
    }

    pub fn list(&self) -> ProjectList {
        let mut projects: Vec<ProjectSummary> = self.cache.state().iter().map(|ns| summary(ns)).collect();
        sort_projects(&mut projects);
        ProjectList { projects, read_at: jiff::Timestamp::now().to_string() }
    }
}

fn summary(ns: &Namespace) -> ProjectSummary {
    let labels = ns.labels();
    ProjectSummary {
        name: labels.get(PROJECT_LABEL).cloned().unwrap_or_else(|| ns.name_any()),
        namespace: ns.name_any(),
        department: labels.get(DEPARTMENT_LABEL).cloned(),
        credentials: None,
        secret_keys: None,
    }
}
