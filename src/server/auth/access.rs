//! What a person may do, asked of Kubernetes with a SubjectAccessReview for their user and groups
//! (DESIGN.md §2). Answers are cached for a few seconds, so a page that asks many questions costs
//! one review each per user, and a changed RoleBinding takes effect within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::{Api, PostParams};
use kube::Client;

use crate::domain::identity::Identity;

/// Keyhold's API group, which holds credentials and the virtual resources its roles name.
pub const GROUP: &str = "keyhold.dev";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Question {
    who: Identity,
    verb: String,
    group: &'static str,
    resource: String,
    namespace: String,
    name: String,
}

#[derive(Clone)]
pub struct Access {
    client: Client,
    ttl: Duration,
    answers: Arc<Mutex<HashMap<Question, (bool, Instant)>>>,
}

impl Access {
    pub fn new(client: Client, ttl: Duration) -> Self {
        Access { client, ttl, answers: Arc::default() }
    }

    /// Whether `who` may `verb` the `resource` of keyhold.dev in `namespace` ("" for every
    /// namespace).
    pub async fn may(&self, who: &Identity, verb: &str, resource: &str, namespace: &str) -> Result<bool, kube::Error> {
        self.ask(Question { who: who.clone(), verb: verb.into(), group: GROUP, resource: resource.into(), namespace: namespace.into(), name: String::new() }).await
    }

    /// Whether `who` may `verb` a resource of another API group (`apps` deployments, …) in
    /// `namespace`, named `name` ("" for any): for acts Keyhold's account makes on a person's
    /// behalf outside keyhold.dev.
    pub async fn may_on(&self, who: &Identity, verb: &str, group: &'static str, resource: &str, namespace: &str, name: &str) -> Result<bool, kube::Error> {
        self.ask(Question { who: who.clone(), verb: verb.into(), group, resource: resource.into(), namespace: namespace.into(), name: name.into() }).await
    }

    /// Whether `who` may `verb` the credentials of `department`: the virtual, cluster-wide resource
    /// `departments.keyhold.dev` by name, which `keyhold-department-admin-<department>` grants
    /// through `resourceNames` (and `keyhold-admin` for every department).
    pub async fn may_in_department(&self, who: &Identity, verb: &str, department: &str) -> Result<bool, kube::Error> {
        self.ask(Question { who: who.clone(), verb: verb.into(), group: GROUP, resource: "departments".into(), namespace: String::new(), name: department.into() }).await
    }

    /// Whether `who` may `verb` the `resource` in `namespace` by their roles there or, failing
    /// that, as an administrator of `department` (the project's, or a Department scope's).
    pub async fn may_here_or_in_department(&self, who: &Identity, verb: &str, resource: &str, namespace: &str, department: Option<&str>) -> Result<bool, kube::Error> {
        if self.may(who, verb, resource, namespace).await? {
            return Ok(true);
        }
        match department {
            Some(department) => self.may_in_department(who, verb, department).await,
            None => Ok(false),
        }
    }

    async fn ask(&self, question: Question) -> Result<bool, kube::Error> {
        let now = Instant::now();
        if let Some((allowed, at)) = self.answers.lock().unwrap_or_else(|p| p.into_inner()).get(&question)
            && now.duration_since(*at) < self.ttl
        {
            return Ok(*allowed);
        }
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(question.who.user.clone()),
                groups: Some(question.who.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    group: Some(question.group.into()),
                    resource: Some(question.resource.clone()),
                    verb: Some(question.verb.clone()),
                    namespace: (!question.namespace.is_empty()).then(|| question.namespace.clone()),
                    name: (!question.name.is_empty()).then(|| question.name.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = Api::<SubjectAccessReview>::all(self.client.clone()).create(&PostParams::default(), &review).await?;
        let allowed = answer.status.is_some_and(|s| s.allowed);
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
        answers.insert(question, (allowed, now));
        Ok(allowed)
    }
}
