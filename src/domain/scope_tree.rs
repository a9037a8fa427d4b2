//! The scopes a person may create credentials in, as the wizard shows them: a tree of (account ›)
//! cluster › department › project. Nodes the person may not create in stay only where they lead to one they
//! may, so an editor sees where their projects sit without being offered the department.

use serde::{Deserialize, Serialize};

use super::credential::{Scope, ScopeLevel};
use super::project::ProjectSummary;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeNode {
    pub label: String,
    pub scope: Scope,
    /// Whether the person may create credentials at this scope.
    pub allowed: bool,
    pub children: Vec<ScopeNode>,
}

impl ScopeNode {
    /// The tree over `projects` (sorted by department, then name). `cluster_wide` says whether the
    /// person may create cluster-wide credentials, `in_department` whether they may create a
    /// department's, `in_project` whether they may create in a project's namespace. `None` when
    /// they may create nowhere.
    pub fn build(
        cluster: &str,
        projects: &[ProjectSummary],
        cluster_wide: bool,
        in_department: impl Fn(&str) -> bool,
        in_project: impl Fn(&str) -> bool,
    ) -> Option<ScopeNode> {
        let project = |p: &ProjectSummary| ScopeNode {
            label: p.name.clone(),
            scope: Scope { level: ScopeLevel::Project, department: None, project: Some(p.namespace.clone()), cluster: None },
            allowed: in_project(&p.namespace),
            children: Vec::new(),
        };
        let mut children: Vec<ScopeNode> = projects.iter().filter(|p| p.department.is_none()).map(project).collect();
        let mut departments: Vec<&str> = projects.iter().filter_map(|p| p.department.as_deref()).collect();
        departments.dedup();
        children.extend(departments.into_iter().map(|department| ScopeNode {
            label: department.to_string(),
            scope: Scope { level: ScopeLevel::Department, department: Some(department.to_string()), project: None, cluster: None },
            allowed: in_department(department),
            children: projects.iter().filter(|p| p.department.as_deref() == Some(department)).map(project).collect(),
        }));
        ScopeNode { label: cluster.to_string(), scope: Scope { level: ScopeLevel::Cluster, department: None, project: None, cluster: None }, allowed: cluster_wide, children }.pruned()
    }

    /// The tree under an Account node, beside the member clusters' trees, for when members are
    /// registered; `allowed` says whether the person may create Account-scope credentials.
    pub fn under_account(self, allowed: bool, members: Vec<ScopeNode>) -> ScopeNode {
        let children = std::iter::once(self).chain(members).collect();
        ScopeNode { label: super::cluster::ALL_CLUSTERS.to_string(), scope: Scope { level: ScopeLevel::Account, department: None, project: None, cluster: None }, allowed, children }
    }

    /// The same tree as a member cluster's: every scope in it names `cluster`.
    pub fn in_member(mut self, cluster: &str) -> ScopeNode {
        self.scope.cluster = Some(cluster.to_string());
        self.children = self.children.into_iter().map(|c| c.in_member(cluster)).collect();
        self
    }

    /// The node without the branches that offer nothing; `None` if it offers nothing itself.
    fn pruned(mut self) -> Option<ScopeNode> {
        self.children = std::mem::take(&mut self.children).into_iter().filter_map(ScopeNode::pruned).collect();
        (self.allowed || !self.children.is_empty()).then_some(self)
    }

    /// The scopes offered, in the order the tree shows them.
    pub fn allowed_scopes(&self) -> Vec<&Scope> {
        let mut scopes: Vec<&Scope> = self.allowed.then_some(&self.scope).into_iter().collect();
        scopes.extend(self.children.iter().flat_map(ScopeNode::allowed_scopes));
        scopes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projects() -> Vec<ProjectSummary> {
        let p = |name: &str, department: Option<&str>| ProjectSummary { name: name.into(), namespace: name.into(), department: department.map(Into::into), credentials: None, secret_keys: None };
        vec![p("sandbox", None), p("etl", Some("production")), p("serving", Some("production")), p("nlp", Some("research")), p("vision", Some("research"))]
    }

    fn labels(node: &ScopeNode) -> Vec<String> {
        let mut out = vec![format!("{}{}", node.label, if node.allowed { "" } else { " (no)" })];
        out.extend(node.children.iter().flat_map(|c| labels(c).into_iter().map(|l| format!("  {l}"))));
        out
    }

    #[test]
    fn an_admin_gets_every_scope() {
        let tree = ScopeNode::build("local", &projects(), true, |_| true, |_| true).unwrap();
        assert_eq!(labels(&tree), ["local", "  sandbox", "  production", "    etl", "    serving", "  research", "    nlp", "    vision"]);
        assert_eq!(tree.allowed_scopes().len(), 8);
        assert_eq!(tree.children[1].scope.department.as_deref(), Some("production"));
    }

    #[test]
    fn an_editor_sees_the_path_to_their_projects_only() {
        let tree = ScopeNode::build("local", &projects(), false, |_| false, |ns| ns == "vision" || ns == "nlp").unwrap();
        assert_eq!(labels(&tree), ["local (no)", "  research (no)", "    nlp", "    vision"]);
        let offered: Vec<_> = tree.allowed_scopes().into_iter().map(|s| s.project.clone().unwrap()).collect();
        assert_eq!(offered, ["nlp", "vision"]);
    }

    #[test]
    fn a_department_admin_gets_their_department_and_its_projects_only() {
        let research = |d: &str| d == "research";
        let tree = ScopeNode::build("local", &projects(), false, research, |ns| ns == "vision" || ns == "nlp").unwrap();
        assert_eq!(labels(&tree), ["local (no)", "  research", "    nlp", "    vision"]);
        assert_eq!(tree.allowed_scopes().len(), 3);
    }

    #[test]
    fn with_member_clusters_the_account_is_the_root() {
        let east = ScopeNode::build("east", &projects()[..2], true, |_| true, |_| true).unwrap().in_member("east");
        let tree = ScopeNode::build("local", &projects(), true, |_| true, |_| true).unwrap().under_account(true, vec![east]);
        assert_eq!(labels(&tree)[..3], ["All clusters", "  local", "    sandbox"]);
        assert_eq!(labels(&tree)[9..], ["  east", "    sandbox", "    production", "      etl"]);
        let scopes = tree.allowed_scopes();
        assert_eq!(scopes[0].level, ScopeLevel::Account);
        assert_eq!(scopes.iter().filter(|s| s.cluster.as_deref() == Some("east")).count(), 4, "every scope under east names it");
        let editor = ScopeNode::build("local", &projects(), false, |_| false, |ns| ns == "nlp").unwrap().under_account(false, Vec::new());
        assert_eq!(labels(&editor), ["All clusters (no)", "  local (no)", "    research (no)", "      nlp"]);
    }

    #[test]
    fn nobody_gets_nothing() {
        assert_eq!(ScopeNode::build("local", &projects(), false, |_| false, |_| false), None);
    }
}
