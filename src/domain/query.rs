//! The Credentials table's rows and what a person asks of them: filters, search, sort and paging
//! (issue: the Credentials table). Pure, so the server applies it to its cache and the browser
//! shares the types.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::credential::{CredentialType, Phase, Scope, ScopeLevel};
use super::lifecycle::{Expiry, TestOutcome};

/// One credential as the table shows it. Key names, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct CredentialRow {
    pub namespace: String,
    /// The department whose administrators may manage it (a project's, or a Department scope's):
    /// the server's authorization input, never sent.
    #[serde(skip)]
    pub governing_department: Option<String>,
    pub name: String,
    /// The Kubernetes Secret workloads reference (in `namespace`, and copied where the scope reaches).
    pub secret_name: String,
    pub display_name: String,
    pub description: String,
    pub credential_type: CredentialType,
    pub phase: Phase,
    /// Where the credential's Secret is, or should be, with what went wrong there: the status
    /// badge's detail.
    pub targets: Vec<TargetStatus>,
    /// The workloads and templates that use it, as `kind/namespace/name`, in namespaces the reader
    /// may see.
    pub used_by: Vec<String>,
    /// How many more use it in namespaces the reader may not see: counted, never named.
    #[serde(default)]
    pub unseen_users: usize,
    pub created_by: String,
    pub scope_level: ScopeLevel,
    /// For a personal credential: the projects its owner picked for copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<String>,
    /// `cluster › department › project`, as far as the scope reaches.
    pub scope_path: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: when a person last renamed it or gave it new values (or projects); its creation
    /// until then.
    #[serde(default)]
    pub changed_at: String,
    pub cluster: String,
    pub keys: Vec<String>,
    /// Whether Keyhold made its Secret (so "Replace values" may write it); an existing Secret's
    /// values are changed where it is kept.
    #[serde(default)]
    pub managed_secret: bool,
    /// Whether the person asking may rename, give new values to or delete it.
    pub may_change: bool,
    /// `YYYY-MM-DD`, when the values stop working (a token's or key's own expiry), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
    /// Where it stands against `expires_on`, as of when the server read it.
    #[serde(default)]
    pub expiry: Expiry,
    /// The last connection test's outcome, if one was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<TestOutcome>,
}

impl CredentialRow {
    /// The targets in the cluster Keyhold runs in, where its workloads, roles and projects are.
    pub fn home_targets(&self) -> impl Iterator<Item = &TargetStatus> {
        self.targets.iter().filter(|t| !t.member)
    }

    /// Whether some workload uses it, seen by the reader or not.
    pub fn in_use(&self) -> bool {
        !self.used_by.is_empty() || self.unseen_users > 0
    }

    /// The workloads that use it as the reader may be told: by name where they may see them, and
    /// the `unseen_note` for the rest.
    pub fn users_described(&self) -> Vec<String> {
        self.used_by.iter().cloned().chain(self.unseen_note()).collect()
    }

    /// "2 workloads in projects you cannot see", when there are such.
    pub fn unseen_note(&self) -> Option<String> {
        match self.unseen_users {
            0 => None,
            1 => Some("1 workload in a project you cannot see".into()),
            n => Some(format!("{n} workloads in projects you cannot see")),
        }
    }
}

/// What the "My credentials" page offers besides the list: the projects the person may copy
/// their own credentials into, and, for administrators only, how many each person keeps (never
/// names or keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalChoices {
    pub projects: Vec<String>,
    pub counts: Option<Vec<(String, usize)>>,
}

/// The state of a credential's Secret in one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct TargetStatus {
    /// The cluster the namespace is in (member clusters are reached by Account scope).
    #[serde(default)]
    pub cluster: String,
    /// Empty for a cluster Keyhold could not ask for its projects.
    pub namespace: String,
    pub phase: Phase,
    /// Why it is not ready; empty when it is.
    pub message: String,
    /// The value version this namespace holds (the source Secret's resourceVersion it was copied
    /// from; the source's own for the credential's namespace), so "every copy has the new value"
    /// can be seen.
    #[serde(default)]
    pub version: String,
    /// In a member cluster (Account scope), not the one Keyhold runs in: its namespace is not one
    /// of this cluster's, whatever its name.
    #[serde(default)]
    pub member: bool,
}

impl TargetStatus {
    /// Where it is, as a person reads it: the namespace, after its cluster when that is a member.
    pub fn place(&self) -> String {
        match (self.member, self.namespace.as_str()) {
            (false, namespace) => namespace.to_string(),
            (true, "") => format!("{} › all projects", self.cluster),
            (true, namespace) => format!("{} › {namespace}", self.cluster),
        }
    }
}

/// The table's columns, in the order they are shown, by which rows are filtered and sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub enum Column {
    Credential,
    KubernetesName,
    Description,
    Type,
    Status,
    DataSources,
    CreatedBy,
    Scope,
    CreationTime,
    Cluster,
    Expires,
}

/// How a column is filtered: by picking some of its values, or by text it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    Pick,
    Contains,
}

impl Column {
    pub const ALL: [Column; 11] = [
        Column::Credential,
        Column::KubernetesName,
        Column::Description,
        Column::Type,
        Column::Status,
        Column::DataSources,
        Column::CreatedBy,
        Column::Scope,
        Column::CreationTime,
        Column::Cluster,
        Column::Expires,
    ];

    /// The header the table shows.
    pub fn label(self) -> &'static str {
        match self {
            Column::Credential => "Credential",
            Column::KubernetesName => "Kubernetes name",
            Column::Description => "Description",
            Column::Type => "Type",
            Column::Status => "Status",
            Column::DataSources => "Data source(s)",
            Column::CreatedBy => "Created by",
            Column::Scope => "Scope",
            Column::CreationTime => "Creation time",
            Column::Cluster => "Cluster",
            Column::Expires => "Expires",
        }
    }

    /// The column's name in the page's address (`?type=…&sort=created`).
    pub fn key(self) -> &'static str {
        match self {
            Column::Credential => "credential",
            Column::KubernetesName => "kubernetes_name",
            Column::Description => "description",
            Column::Type => "type",
            Column::Status => "status",
            Column::DataSources => "data_sources",
            Column::CreatedBy => "created_by",
            Column::Scope => "scope",
            Column::CreationTime => "created",
            Column::Cluster => "cluster",
            Column::Expires => "expires",
        }
    }

    pub fn from_key(key: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == key)
    }

    /// How "Add filter" offers the column; `None` for the creation time, which sorting serves.
    pub fn filter_kind(self) -> Option<FilterKind> {
        match self {
            Column::Type | Column::Status | Column::Scope | Column::Cluster | Column::CreatedBy | Column::Expires => Some(FilterKind::Pick),
            Column::Credential | Column::KubernetesName | Column::Description | Column::DataSources => Some(FilterKind::Contains),
            Column::CreationTime => None,
        }
    }

    /// The Credential column names each row and cannot be hidden.
    pub fn hideable(self) -> bool {
        self != Column::Credential
    }

    /// Columns hidden until a person shows them: detail most people do not need.
    pub fn hidden_by_default(self) -> bool {
        self == Column::KubernetesName
    }

    /// The columns shown to someone who has chosen none, in order.
    pub fn default_shown() -> Vec<Column> {
        Column::ALL.into_iter().filter(|c| !c.hidden_by_default()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A filter chip: a column and the values it accepts (any of them). Text columns match when they
/// contain a value, the others when they equal one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub column: Column,
    pub values: Vec<String>,
}

/// Rows a page may hold.
pub const PAGE_SIZES: [usize; 3] = [25, 50, 100];

/// Everything that decides what the table shows. It lives in the page's address, so a link
/// shares it and Back returns to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl ListQuery {
    /// Reads a query from the address's parameters: `q`, one parameter per filtered column
    /// (repeated for several values), `sort` and `order`, `page` and `per_page`. Anything else,
    /// or anything malformed, is ignored: a hand-edited link still opens a table.
    pub fn from_params<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> ListQuery {
        let mut query = ListQuery::default();
        let mut descending = false;
        for (name, value) in params {
            match (name, Column::from_key(name)) {
                ("q", _) => query.search = value.to_string(),
                ("sort", _) => query.sort = Column::from_key(value).map(|c| (c, Direction::Ascending)),
                ("order", _) => descending = value == "desc",
                ("page", _) => query.page = value.parse().unwrap_or(1).max(1),
                ("per_page", _) => query.per_page = value.parse().ok().filter(|n| PAGE_SIZES.contains(n)).unwrap_or(PAGE_SIZES[0]),
                (_, Some(column)) if column.filter_kind().is_some() && !value.trim().is_empty() => {
                    query.add_filter_value(column, value.trim());
                }
                _ => {}
            }
        }
        if let (Some((_, direction)), true) = (&mut query.sort, descending) {
            *direction = Direction::Descending;
        }
        query
    }

    /// The address's query string (without `?`), defaults left out; `from_params` reads it back.
    pub fn to_query_string(&self) -> String {
        self.to_params().iter().map(|(k, v)| format!("{k}={}", super::url::encode(v))).collect::<Vec<_>>().join("&")
    }

    /// The address's parameters, defaults left out.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        if !self.search.is_empty() {
            pairs.push(("q", self.search.clone()));
        }
        for filter in &self.filters {
            pairs.extend(filter.values.iter().map(|v| (filter.column.key(), v.clone())));
        }
        if let Some((column, direction)) = self.sort {
            pairs.push(("sort", column.key().to_string()));
            if direction == Direction::Descending {
                pairs.push(("order", "desc".to_string()));
            }
        }
        if self.page > 1 {
            pairs.push(("page", self.page.to_string()));
        }
        if self.per_page != PAGE_SIZES[0] {
            pairs.push(("per_page", self.per_page.to_string()));
        }
        pairs
    }

    fn add_filter_value(&mut self, column: Column, value: &str) {
        match self.filters.iter_mut().find(|f| f.column == column) {
            Some(filter) if !filter.values.iter().any(|v| v == value) => filter.values.push(value.to_string()),
            Some(_) => {}
            None => self.filters.push(Filter { column, values: vec![value.to_string()] }),
        }
    }

    /// The query with `column` filtered by `values` (replacing its filter; none when empty), from
    /// the first page.
    pub fn with_filter(&self, column: Column, values: Vec<String>) -> ListQuery {
        let mut query = ListQuery { page: 1, ..self.clone() };
        let values: Vec<String> = values.into_iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        match query.filters.iter().position(|f| f.column == column) {
            Some(i) if values.is_empty() => {
                query.filters.remove(i);
            }
            Some(i) => query.filters[i].values = values,
            None if values.is_empty() => {}
            None => query.filters.push(Filter { column, values }),
        }
        query
    }

    pub fn with_search(&self, search: &str) -> ListQuery {
        ListQuery { search: search.to_string(), page: 1, ..self.clone() }
    }

    /// The next sort a click on `column`'s header gives: ascending, then descending, then off.
    pub fn sorted_by(&self, column: Column) -> ListQuery {
        let sort = match self.sort {
            Some((c, Direction::Ascending)) if c == column => Some((column, Direction::Descending)),
            Some((c, Direction::Descending)) if c == column => None,
            _ => Some((column, Direction::Ascending)),
        };
        ListQuery { sort, page: 1, ..self.clone() }
    }

    pub fn at_page(&self, page: usize, per_page: usize) -> ListQuery {
        ListQuery { page, per_page, ..self.clone() }
    }

    /// The query without search and filters, keeping sort and page size.
    pub fn cleared(&self) -> ListQuery {
        ListQuery { search: String::new(), filters: Vec::new(), page: 1, ..self.clone() }
    }

    /// Whether rows are being narrowed down (so an empty table means "nothing matches").
    pub fn narrows(&self) -> bool {
        !self.search.trim().is_empty() || !self.filters.is_empty()
    }
}

/// One page of the table. What the filter pickers offer is read when a picker opens
/// (`Prepared::choices`): at scale a Scope picker lists thousands of values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Page {
    pub rows: Vec<CredentialRow>,
    /// Rows matching the query, over all pages.
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

impl Page {
    /// How many pages the matching rows fill (at least one).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(self.per_page).max(1)
    }
}

/// The table as the server read it: one page, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Listing {
    pub page: Page,
    /// RFC 3339 time at which the server read its cache.
    pub read_at: String,
}

impl CredentialRow {
    /// Where the credential is in Kubernetes, as a platform engineer greps for it:
    /// `namespace/name (Secret secret-name)`.
    pub fn kubernetes_name(&self) -> String {
        format!("{}/{} (Secret {})", self.namespace, self.name, self.secret_name)
    }

    /// Whether the credential has this scope (a command line's `--scope project/vision`): the
    /// project is the credential's namespace, the department the last step of its scope path.
    pub fn has_scope(&self, scope: &Scope) -> bool {
        if let Some(cluster) = &scope.cluster {
            // A member's scope: its path is `cluster › department › project`.
            let last = self.scope_path.rsplit(" › ").next();
            return self.scope_level == scope.level
                && self.cluster == *cluster
                && match scope.level {
                    ScopeLevel::Project => last == scope.project.as_deref(),
                    ScopeLevel::Department => last == scope.department.as_deref(),
                    _ => true,
                };
        }
        self.scope_level == scope.level
            && match scope.level {
                ScopeLevel::Project => scope.project.as_deref() == Some(self.namespace.as_str()),
                ScopeLevel::Department => scope.department.as_deref().is_some_and(|d| self.scope_path.rsplit(" › ").next() == Some(d)),
                _ => true,
            }
    }

    /// The Expires column's words: the date, and how soon where that matters ("2026-12-01,
    /// expires in 2 days"); empty without a date.
    pub fn expires_text(&self) -> String {
        let Some(date) = &self.expires_on else { return String::new() };
        match self.expiry.label() {
            label if label.is_empty() => date.clone(),
            label => format!("{date} ({label})"),
        }
    }

    /// The text a column shows, for filtering.
    pub(crate) fn text(&self, column: Column) -> Cow<'_, str> {
        match column {
            Column::Credential => Cow::Borrowed(&self.display_name),
            Column::KubernetesName => Cow::Owned(self.kubernetes_name()),
            Column::Description => Cow::Borrowed(&self.description),
            Column::Type => Cow::Borrowed(self.credential_type.label()),
            Column::Status => Cow::Borrowed(self.phase.label()),
            Column::DataSources => Cow::Owned(self.used_by.join(", ")),
            Column::CreatedBy => Cow::Borrowed(&self.created_by),
            Column::Scope => Cow::Borrowed(&self.scope_path),
            Column::CreationTime => Cow::Borrowed(&self.created_at),
            Column::Cluster => Cow::Borrowed(&self.cluster),
            Column::Expires => Cow::Borrowed(self.expiry.bucket()),
        }
    }

    fn matches(&self, filter: &Filter) -> bool {
        let text = self.text(filter.column);
        match filter.column.filter_kind() {
            Some(FilterKind::Contains) => {
                let text = text.to_lowercase();
                filter.values.iter().any(|v| text.contains(&v.to_lowercase()))
            }
            _ => filter.values.iter().any(|v| *v == text),
        }
    }

    /// Free-text search over name, Kubernetes name, description, creator, scope and key names.
    fn found_by(&self, needle: &str) -> bool {
        let hay = [&self.display_name, &self.description, &self.created_by, &self.scope_path];
        hay.iter().any(|h| h.to_lowercase().contains(needle))
            || self.kubernetes_name().to_lowercase().contains(needle)
            || self.keys.iter().any(|k| k.to_lowercase().contains(needle))
    }

    /// What a column sorts by, computed once per row: a number where the column is ordinal, else
    /// the lower-cased text.
    fn sort_key(&self, column: Column) -> (usize, String) {
        match column {
            Column::Type => (0, self.credential_type.label().to_string()),
            Column::Status => (self.phase as usize, String::new()),
            Column::DataSources => (self.used_by.len(), String::new()),
            Column::CreationTime => (0, self.created_at.clone()),
            // Soonest first; no expiry last.
            Column::Expires => (self.expires_on.is_none() as usize, self.expires_on.clone().unwrap_or_default()),
            _ => (0, self.text(column).to_lowercase()),
        }
    }
}

/// Separates the fields of a row's search text: no field a row shows holds it.
const FIELD_END: char = '\u{1f}';

/// Rows prepared for many queries (the server keeps one per version of its rows): the rows'
/// search text, picker values and each sort order are computed once, when a query first needs
/// them. A query then walks one order, so a page of 100,000 rows costs a pass, not a sort.
#[derive(Debug, Default)]
pub struct Prepared {
    rows: Vec<CredentialRow>,
    /// Each row's lower-cased searched fields, each ended by `FIELD_END`.
    search: std::sync::OnceLock<Vec<String>>,
    /// For each picker column (as `picked` lists them), its distinct values, sorted, and each
    /// row's value as an index into them.
    picks: std::sync::OnceLock<Vec<(Vec<String>, Vec<u32>)>>,
    orders: std::sync::Mutex<std::collections::HashMap<(Column, Direction), std::sync::Arc<Vec<u32>>>>,
}

/// Which prepared rows one reader sees: all of them, or some, a few with what they may not see
/// taken out (workloads elsewhere, counted not named).
#[derive(Debug)]
pub struct Visible {
    every: bool,
    shown: Vec<bool>,
    trimmed: std::collections::HashMap<usize, CredentialRow>,
}

impl Visible {
    /// Every row, as prepared.
    pub fn all() -> Self {
        Visible { every: true, shown: Vec::new(), trimmed: Default::default() }
    }

    /// None of `count` rows yet; `show` adds them.
    pub fn none_of(count: usize) -> Self {
        Visible { every: false, shown: vec![false; count], trimmed: Default::default() }
    }

    /// Row `index` is seen: as prepared, or as `trimmed`.
    pub fn show(&mut self, index: usize, trimmed: Option<CredentialRow>) {
        self.shown[index] = true;
        if let Some(row) = trimmed {
            self.trimmed.insert(index, row);
        }
    }

    fn get<'a>(&'a self, index: usize, row: &'a CredentialRow) -> Option<&'a CredentialRow> {
        if self.every {
            return Some(row);
        }
        self.shown[index].then(|| self.trimmed.get(&index).unwrap_or(row))
    }
}

/// The columns with a value picker, in the table's order.
fn picked() -> impl Iterator<Item = Column> {
    Column::ALL.into_iter().filter(|c| c.filter_kind() == Some(FilterKind::Pick))
}

/// How two rows compare under a sort, by their keys, then by namespace and name (so pages are
/// stable).
fn compare(a: (&(usize, String), &CredentialRow), b: (&(usize, String), &CredentialRow), direction: Direction) -> std::cmp::Ordering {
    let by_column = if direction == Direction::Ascending { a.0.cmp(b.0) } else { b.0.cmp(a.0) };
    by_column.then_with(|| (&a.1.namespace, &a.1.name).cmp(&(&b.1.namespace, &b.1.name)))
}

/// `rows` sorted by a column, keys computed once per row, not once per comparison.
fn sorted<'a>(rows: impl IntoIterator<Item = (usize, &'a CredentialRow)>, column: Column, direction: Direction) -> Vec<usize> {
    let mut keyed: Vec<((usize, String), usize, &CredentialRow)> = rows.into_iter().map(|(i, r)| (r.sort_key(column), i, r)).collect();
    keyed.sort_by(|(ka, _, a), (kb, _, b)| compare((ka, a), (kb, b), direction));
    keyed.into_iter().map(|(_, i, _)| i).collect()
}

impl Prepared {
    pub fn new(rows: Vec<CredentialRow>) -> Self {
        Prepared { rows, ..Default::default() }
    }

    fn search(&self) -> &[String] {
        self.search.get_or_init(|| {
            self.rows
            .iter()
            .map(|r| {
                let kubernetes_name = r.kubernetes_name();
                let fields = [r.display_name.as_str(), &r.description, &r.created_by, &r.scope_path, &kubernetes_name].into_iter().chain(r.keys.iter().map(String::as_str));
                fields.flat_map(|f| [f.to_lowercase(), FIELD_END.to_string()]).collect()
            })
            .collect()
        })
    }

    fn picks(&self) -> &[(Vec<String>, Vec<u32>)] {
        self.picks.get_or_init(|| {
            let rows = &self.rows;
            picked()
            .map(|column| {
                let values: Vec<String> = rows.iter().map(|r| r.text(column)).filter(|v| !v.is_empty()).collect::<std::collections::BTreeSet<_>>().into_iter().map(Cow::into_owned).collect();
                let of_rows = rows
                    .iter()
                    .map(|r| {
                        let text = r.text(column);
                        values.binary_search_by(|v| v.as_str().cmp(&text)).map_or(u32::MAX, |i| i as u32)
                    })
                    .collect();
                (values, of_rows)
            })
            .collect()
        })
    }

    pub fn rows(&self) -> &[CredentialRow] {
        &self.rows
    }

    /// Every row in a sort's order, sorted the first time it is asked for.
    fn order(&self, column: Column, direction: Direction) -> std::sync::Arc<Vec<u32>> {
        let mut orders = self.orders.lock().expect("not poisoned");
        let order = orders.entry((column, direction)).or_insert_with(|| std::sync::Arc::new(sorted(self.rows.iter().enumerate(), column, direction).into_iter().map(|i| i as u32).collect()));
        order.clone()
    }

    /// Every row `visible` holds that the query selects, in its order: filter, search, sort.
    /// The whole view, before it is cut into pages (Download CSV takes it all).
    pub fn matching<'a>(&'a self, visible: &'a Visible, query: &ListQuery) -> Vec<&'a CredentialRow> {
        self.view(visible, query).collect()
    }

    /// `matching` as it is walked: a page takes a few rows and counts the rest, never holding them.
    fn view<'a>(&'a self, visible: &'a Visible, query: &ListQuery) -> Box<dyn Iterator<Item = &'a CredentialRow> + 'a> {
        let needle = query.search.trim().to_lowercase();
        let filters = query.filters.clone();
        let found = move |i: usize, row: &CredentialRow| needle.is_empty() || if needle.contains(FIELD_END) { row.found_by(&needle) } else { self.search()[i].contains(&needle) };
        let (column, direction) = query.sort.unwrap_or((Column::Credential, Direction::Ascending));
        let order = self.order(column, direction);
        let selected = (0..order.len()).map(move |k| order[k] as usize).filter_map(move |i| {
            visible.get(i, &self.rows[i]).filter(|row| filters.iter().all(|f| row.matches(f)) && found(i, row)).map(|row| (i, row))
        });
        // A trimmed row counts fewer workloads than the prepared order sorted it by.
        if column == Column::DataSources && !visible.trimmed.is_empty() {
            let selected: Vec<(usize, &CredentialRow)> = selected.collect();
            let by_index: std::collections::HashMap<usize, &CredentialRow> = selected.iter().copied().collect();
            return Box::new(sorted(selected, column, direction).into_iter().map(move |i| by_index[&i]));
        }
        Box::new(selected.map(|(_, row)| row))
    }

    /// Applies a query to the rows `visible` holds (`matching`) and cuts one page.
    pub fn select(&self, visible: &Visible, query: &ListQuery) -> Page {
        let per_page = if PAGE_SIZES.contains(&query.per_page) { query.per_page } else { PAGE_SIZES[0] };
        let wanted = query.page.max(1);
        let (total, rows) = self.window(visible, query, wanted, per_page);
        let page = wanted.min(total.div_ceil(per_page).max(1));
        // Past the last page: the last page instead.
        let rows = if page == wanted { rows } else { self.window(visible, query, page, per_page).1 };
        Page { rows, total, page, per_page }
    }

    /// How many rows the query selects, and those of page `page`.
    fn window(&self, visible: &Visible, query: &ListQuery, page: usize, per_page: usize) -> (usize, Vec<CredentialRow>) {
        let first = (page - 1).saturating_mul(per_page);
        let mut rows = Vec::with_capacity(per_page);
        let mut total = 0;
        for row in self.view(visible, query) {
            if total >= first && rows.len() < per_page {
                rows.push(row.clone());
            }
            total += 1;
        }
        (total, rows)
    }

    /// The values a picker column offers: those the rows `visible` holds have, sorted. From all of
    /// those rows, whatever the query, so a filter can always be widened again.
    pub fn choices(&self, visible: &Visible, column: Column) -> Vec<String> {
        let Some((values, of_rows)) = picked().zip(self.picks()).find(|(c, _)| *c == column).map(|(_, picks)| picks) else {
            return Vec::new();
        };
        if visible.every {
            return values.clone();
        }
        let mut had = vec![false; values.len()];
        for (i, value) in of_rows.iter().enumerate() {
            if *value != u32::MAX && visible.shown[i] {
                had[*value as usize] = true;
            }
        }
        values.iter().zip(had).filter(|(_, had)| *had).map(|(v, _)| v.clone()).collect()
    }
}

/// A query applied to rows prepared for it alone, for the domain's tests.
#[cfg(test)]
fn select(rows: &[CredentialRow], query: &ListQuery) -> Page {
    Prepared::new(rows.to_vec()).select(&Visible::all(), query)
}

/// A Ready Project-scope row in vision, for the domain's tests to vary with struct update syntax.
#[cfg(test)]
impl CredentialRow {
    pub(crate) fn example(display_name: &str, credential_type: CredentialType, keys: &[&str]) -> Self {
        let name = display_name.to_lowercase().replace(' ', "-");
        CredentialRow {
            namespace: "vision".into(),
            governing_department: None,
            secret_name: name.clone(),
            name,
            display_name: display_name.into(),
            description: String::new(),
            credential_type,
            phase: Phase::Ready,
            targets: Vec::new(),
            used_by: Vec::new(),
            unseen_users: 0,
            created_by: "alice".into(),
            scope_level: ScopeLevel::Project,
            projects: Vec::new(),
            scope_path: "local › research › vision".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            changed_at: String::new(),
            cluster: "local".into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            managed_secret: true,
            may_change: false,
            expires_on: None,
            expiry: Expiry::Never,
            last_test: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_has_the_scope_a_command_line_names() {
        let project = CredentialRow::example("Hub", CredentialType::DockerRegistry, &[]);
        let scope = |text: &str| text.parse::<Scope>().unwrap();
        assert!(project.has_scope(&scope("project/vision")));
        assert!(!project.has_scope(&scope("project/nlp")) && !project.has_scope(&scope("department/research")));
        let department = CredentialRow { scope_level: ScopeLevel::Department, namespace: "keyhold-system".into(), scope_path: "local › research".into(), ..project.clone() };
        assert!(department.has_scope(&scope("department/research")) && !department.has_scope(&scope("department/search")));
        let cluster = CredentialRow { scope_level: ScopeLevel::Cluster, scope_path: "local".into(), ..department };
        assert!(cluster.has_scope(&scope("cluster")) && !cluster.has_scope(&scope("department/research")));
    }

    fn row(name: &str, kind: CredentialType, phase: Phase, creator: &str, keys: &[&str]) -> CredentialRow {
        CredentialRow { description: format!("{name} for training"), phase, created_by: creator.into(), ..CredentialRow::example(name, kind, keys) }
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
    fn the_kubernetes_name_is_searched_filtered_and_sorted() {
        let mut rows = rows();
        rows[2].namespace = "etl".into();
        rows[1].secret_name = "s3-raw-copy".into();
        assert_eq!(rows[1].kubernetes_name(), "vision/s3-raw-data (Secret s3-raw-copy)");
        assert_eq!(names(&select(&rows, &ListQuery { search: "etl/".into(), ..Default::default() })), ["postgres"]);
        assert_eq!(names(&select(&rows, &ListQuery { search: "S3-RAW-COPY".into(), ..Default::default() })), ["S3 raw data"]);
        let contains = ListQuery { filters: vec![Filter { column: Column::KubernetesName, values: vec!["vision/docker".into()] }], ..Default::default() };
        assert_eq!(names(&select(&rows, &contains)), ["Docker Hub"]);
        let sorted = ListQuery { sort: Some((Column::KubernetesName, Direction::Descending)), ..Default::default() };
        assert_eq!(names(&select(&rows, &sorted)), ["S3 raw data", "Docker Hub", "postgres"]);
        assert!(Column::KubernetesName.hidden_by_default() && !Column::default_shown().contains(&Column::KubernetesName));
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

    #[test]
    fn the_address_holds_the_whole_query() {
        let query = ListQuery {
            search: "s3 & more".into(),
            filters: vec![
                Filter { column: Column::Type, values: vec!["Access key".into(), "Username & password".into()] },
                Filter { column: Column::Credential, values: vec!["hub".into()] },
            ],
            sort: Some((Column::CreationTime, Direction::Descending)),
            page: 3,
            per_page: 100,
        };
        let text = query.to_query_string();
        assert_eq!(text, "q=s3%20%26%20more&type=Access%20key&type=Username%20%26%20password&credential=hub&sort=created&order=desc&page=3&per_page=100");
        let decoded = [("q", "s3 & more"), ("type", "Access key"), ("type", "Username & password"), ("credential", "hub"), ("sort", "created"), ("order", "desc"), ("page", "3"), ("per_page", "100")];
        assert_eq!(ListQuery::from_params(decoded), query);
        assert_eq!(ListQuery::default().to_query_string(), "");
        let junk = ListQuery::from_params([("per_page", "7"), ("page", "x"), ("sort", "nope"), ("created", "2026"), ("other", "1")]);
        assert_eq!(junk, ListQuery::default());
    }

    #[test]
    fn toolbar_actions_give_new_queries_from_the_first_page() {
        let base = ListQuery { page: 4, ..Default::default() };
        let sorted = base.sorted_by(Column::Type);
        assert_eq!((sorted.sort, sorted.page), (Some((Column::Type, Direction::Ascending)), 1));
        assert_eq!(sorted.sorted_by(Column::Type).sort, Some((Column::Type, Direction::Descending)));
        assert_eq!(sorted.sorted_by(Column::Type).sorted_by(Column::Type).sort, None);
        assert_eq!(sorted.sorted_by(Column::Status).sort, Some((Column::Status, Direction::Ascending)));
        let filtered = base.with_filter(Column::Status, vec!["Issues found".into(), " ".into()]);
        assert_eq!(filtered.filters, vec![Filter { column: Column::Status, values: vec!["Issues found".into()] }]);
        assert!(filtered.narrows() && !filtered.with_filter(Column::Status, vec![]).narrows());
        assert_eq!(filtered.with_search("x").cleared(), ListQuery::default());
    }

    #[test]
    fn pickers_offer_the_values_rows_have() {
        let prepared = Prepared::new(rows());
        assert_eq!(prepared.choices(&Visible::all(), Column::CreatedBy), ["alice", "bob"]);
        assert!(prepared.choices(&Visible::all(), Column::Credential).is_empty(), "a text filter has no picker");
        let mut first_only = Visible::none_of(prepared.rows().len());
        first_only.show(0, None);
        assert_eq!(prepared.choices(&first_only, Column::CreatedBy), [prepared.rows()[0].created_by.clone()]);
    }
}
