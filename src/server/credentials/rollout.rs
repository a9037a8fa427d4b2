//! What new values do to the workloads using a credential: "Replace values" may restart the
//! Deployments, StatefulSets and DaemonSets that use it, in every namespace its copies reach, as
//! `kubectl rollout restart` does. Keyhold's account makes each restart, so each needs the
//! person's own right to patch that workload (a SubjectAccessReview); the rest are listed.

use std::collections::HashSet;

use kube::api::{Patch, PatchParams};

use super::attach::api;
use super::resource::Credential;
use super::service::{CredentialsService, NamespaceAccess, ServiceError};
use crate::domain::identity::Identity;
use crate::domain::lifecycle::{RESTARTED_KINDS, RolloutPlan};

/// The annotation `kubectl rollout restart` sets on a pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

impl CredentialsService {
    /// What a restart would touch, for someone who may change the credential.
    pub async fn rollout_preview(&self, who: &Identity, namespace: &str, name: &str) -> Result<RolloutPlan, ServiceError> {
        let credential = self.authorized(who, "update", namespace, name).await?;
        self.rollout_plan(who, &credential).await
    }

    /// The credential's users sorted by what a restart does to them, as `who` may know them.
    pub(super) async fn rollout_plan(&self, who: &Identity, credential: &Credential) -> Result<RolloutPlan, ServiceError> {
        let row = self.row(credential, &self.usage.snapshot(), true);
        let row = NamespaceAccess::new(self, who, "list").await?.without_unseen_users(&row).await?.into_owned();
        let mut allowed = HashSet::new();
        for user in &row.used_by {
            let mut parts = user.splitn(3, '/');
            let (kind, namespace, name) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            if RESTARTED_KINDS.contains(&kind)
                && let Some((_, group, plural)) = api(&self.client, kind, namespace)
                && self.access.may_on(who, "patch", group, plural, namespace, name).await?
            {
                allowed.insert(user.clone());
            }
        }
        Ok(RolloutPlan { unseen: row.unseen_users, ..RolloutPlan::sort(&row.used_by, |user| allowed.contains(user)) })
    }

    /// Restarts what the plan restarts; one that fails (gone meanwhile) moves to `skipped`.
    pub(super) async fn restart(&self, who: &Identity, mut plan: RolloutPlan) -> RolloutPlan {
        let at = jiff::Timestamp::now().to_string();
        let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}});
        let mut restarted = Vec::new();
        for workload in std::mem::take(&mut plan.restart) {
            let mut parts = workload.splitn(3, '/');
            let (kind, namespace, name) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let Some((workloads, _, _)) = api(&self.client, kind, namespace) else { continue };
            match workloads.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {
                    tracing::info!(target: "audit", user = %who.user, action = "restarted", workload = %workload, "rollout restart");
                    restarted.push(workload);
                }
                Err(e) => {
                    tracing::warn!(workload = %workload, error = %e, "could not restart");
                    plan.skipped.push(workload);
                }
            }
        }
        plan.restart = restarted;
        plan
    }
}
