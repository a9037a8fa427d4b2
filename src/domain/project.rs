//! Projects: namespaces labelled `keyhold.dev/project`, grouped into departments by
//! `keyhold.dev/department` (DESIGN.md §1).

use serde::{Deserialize, Serialize};

/// The label that makes a namespace a project; its value is the project's name.
pub const PROJECT_LABEL: &str = "keyhold.dev/project";
/// The label that places a project namespace in a department.
pub const DEPARTMENT_LABEL: &str = "keyhold.dev/department";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub name: String,
    pub namespace: String,
    pub department: Option<String>,
    /// How many credentials the reader sees that reach the project (counted for the Projects page).
    #[serde(default)]
    pub credentials: Option<usize>,
    /// How many keys the project's secret holds, when the reader may list them.
    #[serde(default)]
    pub secret_keys: Option<usize>,
}

/// What the Projects page shows: the projects and when the server's cache last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectList {
    pub projects: Vec<ProjectSummary>,
    /// RFC 3339 time at which the server read this list.
    pub read_at: String,
}

/// Orders projects by department, then name, the order a person scanning the list expects.
pub fn sort_projects(projects: &mut [ProjectSummary]) {
    projects.sort_by(|a, b| (&a.department, &a.name).cmp(&(&b.department, &b.name)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, department: Option<&str>) -> ProjectSummary {
        ProjectSummary { name: name.into(), namespace: name.into(), department: department.map(Into::into), credentials: None, secret_keys: None }
    }

    #[test]
    fn projects_sort_by_department_then_name() {
        let mut list = vec![project("b", Some("x")), project("a", Some("y")), project("a", Some("x")), project("c", None)];
        sort_projects(&mut list);
        let order: Vec<_> = list.iter().map(|p| (p.department.as_deref(), p.name.as_str())).collect();
        assert_eq!(order, vec![(None, "c"), (Some("x"), "a"), (Some("x"), "b"), (Some("y"), "a")]);
    }
}
