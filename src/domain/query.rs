//! The Credentials table's rows and what a person asks of them: filters, search, sort and paging
//! (issue: the Credentials table). Pure, so the server applies it to its cache and the browser
//! shares the types.

use serde::{Deserialize, Serialize};

use super::credential::{CredentialType, Phase, ScopeLevel};

/// One credential as the table shows it. Key names, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRow {
    pub namespace: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub credential_type: CredentialType,
    pub phase: Phase,
    /// The workloads and templates that use it, as `kind/namespace/name`.
    pub used_by: Vec<String>,
    pub created_by: String,
    pub scope_level: ScopeLevel,
    /// `cluster › department › project`, as far as the scope reaches.
    pub scope_path: String,
    /// RFC 3339.
    pub created_at: String,
    pub cluster: String,
    pub keys: Vec<String>,
}

/// The table's columns, by which rows are filtered and sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Column {
    Credential,
    Description,
    Type,
    Status,
    DataSources,
    CreatedBy,
    Scope,
    CreationTime,
    Cluster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A filter chip: a column and the values it accepts (any of them). Text columns match when they
/// contain a value, the others when they equal one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub column: Column,
    pub values: Vec<String>,
}

/// Rows a page may hold.
pub const PAGE_SIZES: [usize; 3] = [25, 50, 100];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    pub search: String,
    pub filters: Vec<Filter>,
    pub sort: Option<(Column, Direction)>,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { search: String::new(), filters: Vec::new(), sort: None, page: 1, per_page: PAGE_SIZES[0] }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub rows: Vec<CredentialRow>,
    /// Rows matching the query, over all pages.
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

impl CredentialRow {
    /// The text a column shows, for filtering.
    fn text(&self, column: Column) -> String {
        match column {
            Column::Credential => self.display_name.clone(),
            Column::Description => self.description.clone(),
            Column::Type => self.credential_type.label().to_string(),
            Column::Status => self.phase.label().to_string(),
            Column::DataSources => self.used_by.join(", "),
            Column::CreatedBy => self.created_by.clone(),
            Column::Scope => self.scope_path.clone(),
            Column::CreationTime => self.created_at.clone(),
            Column::Cluster => self.cluster.clone(),
        }
    }

    fn matches(&self, filter: &Filter) -> bool {
        let text = self.text(filter.column);
        match filter.column {
            Column::Credential | Column::Description | Column::DataSources | Column::Scope => {
                let text = text.to_lowercase();
                filter.values.iter().any(|v| text.contains(&v.to_lowercase()))
            }
            _ => filter.values.iter().any(|v| *v == text),
        }
    }

    /// Free-text search over name, description, creator, scope and key names.
    fn found_by(&self, needle: &str) -> bool {
        let hay = [&self.display_name, &self.description, &self.created_by, &self.scope_path];
        hay.iter().any(|h| h.to_lowercase().contains(needle)) || self.keys.iter().any(|k| k.to_lowercase().contains(needle))
    }

    /// What a column sorts by, computed once per row: a number where the column is ordinal, else
    /// the lower-cased text.
    fn sort_key(&self, column: Column) -> (usize, String) {
        match column {
            Column::Type => (0, self.credential_type.label().to_string()),
            Column::Status => (self.phase as usize, String::new()),
            Column::DataSources => (self.used_by.len(), String::new()),
            Column::CreationTime => (0, self.created_at.clone()),
            _ => (0, self.text(column).to_lowercase()),
        }
    }
}

/// Applies a query to rows: filter, search, sort (then by namespace and name, so pages are
/// stable), and cut one page.
pub fn select(rows: &[CredentialRow], query: &ListQuery) -> Page {
    let needle = query.search.trim().to_lowercase();
    let selected: Vec<&CredentialRow> =
        rows.iter().filter(|r| query.filters.iter().all(|f| r.matches(f)) && (needle.is_empty() || r.found_by(&needle))).collect();
    // Keys are computed once per row, not once per comparison.
    let (column, direction) = query.sort.unwrap_or((Column::Credential, Direction::Ascending));
    let mut keyed: Vec<((usize, String), &CredentialRow)> = selected.into_iter().map(|r| (r.sort_key(column), r)).collect();
    keyed.sort_by(|(ka, a), (kb, b)| {
        let by_column = if direction == Direction::Ascending { ka.cmp(kb) } else { kb.cmp(ka) };
        by_column.then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
    });
    let selected: Vec<&CredentialRow> = keyed.into_iter().map(|(_, r)| r).collect();
    let per_page = if PAGE_SIZES.contains(&query.per_page) { query.per_page } else { PAGE_SIZES[0] };
    let total = selected.len();
    let last_page = total.div_ceil(per_page).max(1);
    let page = query.page.clamp(1, last_page);
    let rows = selected.into_iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
    Page { rows, total, page, per_page }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, kind: CredentialType, phase: Phase, creator: &str, keys: &[&str]) -> CredentialRow {
        CredentialRow {
            namespace: "vision".into(),
            name: name.to_lowercase().replace(' ', "-"),
            display_name: name.into(),
            description: format!("{name} for training"),
            credential_type: kind,
            phase,
            used_by: Vec::new(),
            created_by: creator.into(),
            scope_level: ScopeLevel::Project,
            scope_path: "local › research › vision".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            cluster: "local".into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn rows() -> Vec<CredentialRow> {
        vec![
            row("Docker Hub", CredentialType::DockerRegistry, Phase::Ready, "alice", &[".dockerconfigjson"]),
            row("S3 raw data", CredentialType::AccessKey, Phase::Issues, "bob", &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]),
            row("postgres", CredentialType::Password, Phase::Creating, "bob", &["username", "password"]),
        ]
    }

    fn names(page: &Page) -> Vec<&str> {
        page.rows.iter().map(|r| r.display_name.as_str()).collect()
    }

    #[test]
    fn the_default_order_is_by_name() {
        assert_eq!(names(&select(&rows(), &ListQuery::default())), ["Docker Hub", "postgres", "S3 raw data"]);
    }

    #[test]
    fn filters_search_and_sort_combine() {
        let by_bob = ListQuery { filters: vec![Filter { column: Column::CreatedBy, values: vec!["bob".into()] }], ..Default::default() };
        assert_eq!(names(&select(&rows(), &by_bob)), ["postgres", "S3 raw data"]);
        let key_search = ListQuery { search: "aws_secret".into(), ..Default::default() };
        assert_eq!(names(&select(&rows(), &key_search)), ["S3 raw data"]);
        let status_desc = ListQuery { sort: Some((Column::Status, Direction::Descending)), ..Default::default() };
        assert_eq!(names(&select(&rows(), &status_desc)), ["S3 raw data", "Docker Hub", "postgres"]);
        let contains = ListQuery { filters: vec![Filter { column: Column::Credential, values: vec!["HUB".into()] }], ..Default::default() };
        assert_eq!(names(&select(&rows(), &contains)), ["Docker Hub"]);
        let typed = ListQuery { filters: vec![Filter { column: Column::Type, values: vec!["Access key".into(), "Username & password".into()] }], ..Default::default() };
        assert_eq!(select(&rows(), &typed).total, 2);
    }

    #[test]
    fn pages_are_cut_on_the_server() {
        let many: Vec<CredentialRow> = (0..60).map(|i| row(&format!("cred {i:02}"), CredentialType::Generic, Phase::Ready, "x", &[])).collect();
        let second = select(&many, &ListQuery { page: 2, per_page: 50, ..Default::default() });
        assert_eq!((second.total, second.rows.len(), second.page), (60, 10, 2));
        assert_eq!(second.rows[0].display_name, "cred 50");
        let beyond = select(&many, &ListQuery { page: 9, per_page: 7, ..Default::default() });
        assert_eq!((beyond.per_page, beyond.page), (25, 3));
    }
}
