//! The REST API under `/api/v1`: JSON, authenticated with `Authorization: Bearer` only (an API
//! token Keyhold issued, or a Kubernetes token), never with the session cookie. Handlers are thin
//! doors onto the services; errors are JSON `{code, message, field}`. The operations are listed
//! once (`operations`), for the router and the OpenAPI document alike.

mod openapi;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::http::Method;
use axum::routing::{delete, get, patch, post, put};
use axum::{Extension, Json, Router};
use serde::Serialize;

use openapi::Operation;

use crate::domain::AppError;
use crate::domain::cluster::{LetGo, MemberCluster};
use crate::domain::attach::{Attached, Attachment, ReplaceWith, Replacement, Workload};
use crate::domain::notebooks::Offered;
use crate::domain::identity::Identity;
use crate::domain::lifecycle::{ActivityEntry, Rollout, RolloutPlan, TestOutcome, TestValues, ValuesReplaced};
use crate::domain::credential::{CredentialType, Scope};
use crate::domain::new_credential::{ExistingSecretCredential, ExistingSecrets, NewCredential, NewPersonalCredential, PersonalProjects, Rename, SecretValues};
use crate::domain::query::{Column, CredentialRow, ListQuery, Listing};
use crate::server::{AppState, downloads};
use crate::server::auth::SignInError;
use crate::server::auth::web::peer;
use crate::domain::project_secrets::{ProjectSecretKeys, SecretEntry};
use crate::server::credentials::service::ServiceError;
use crate::server::project_secrets::ProjectSecretsError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("an Authorization: Bearer token is required")]
    MissingToken,
    #[error("the bearer token was not accepted")]
    BadToken,
    /// A body that is not the JSON the endpoint takes.
    #[error("{message}")]
    BadBody { status: StatusCode, message: String, field: Option<String> },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError::App(e.into())
    }
}

impl From<ProjectSecretsError> for ApiError {
    fn from(e: ProjectSecretsError) -> Self {
        ApiError::App(e.into())
    }
}

impl From<JsonRejection> for ApiError {
    /// Names the field at fault but never quotes the body: serde's messages repeat the offending
    /// input, which may be a value sent in the wrong place.
    fn from(rejection: JsonRejection) -> Self {
        let (field, message) = match &rejection {
            JsonRejection::JsonDataError(e) => body_fault(&e.body_text()),
            _ => (None, "The body is not the JSON this endpoint takes".to_string()),
        };
        ApiError::BadBody { status: rejection.status(), message, field }
    }
}

/// The field a body's fault is in and what the fault is, from axum's text for a body of the wrong
/// shape: `…target type: [path: ]missing field `name` at line…` or `…target type: path: …`.
fn body_fault(text: &str) -> (Option<String>, String) {
    let fault = text.split_once("target type: ").map_or("", |(_, fault)| fault);
    // A missing field's name comes from the endpoint's own schema, never from the input.
    let missing = |fault: &str| fault.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')).map(|(name, _)| name.to_string());
    let (path, rest) = match fault.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (Some(path), rest),
        _ => (None, fault),
    };
    match (path, missing(rest)) {
        (Some(path), Some(name)) => (Some(format!("{path}.{name}")), format!("{path}.{name}: required")),
        (None, Some(name)) => (Some(name.clone()), format!("{name}: required")),
        (Some(path), None) => (Some(path.to_string()), format!("{path}: not what this endpoint takes")),
        (None, None) => (None, "The body is not the JSON this endpoint takes".to_string()),
    }
}

#[derive(Serialize)]
struct ErrorBody {
    code: u16,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::MissingToken | ApiError::BadToken => StatusCode::UNAUTHORIZED,
            ApiError::BadBody { status, .. } => *status,
            ApiError::App(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        let body = match self {
            ApiError::App(AppError::Invalid { field, message }) => ErrorBody { code: status.as_u16(), message, field: Some(field) },
            ApiError::BadBody { message, field, .. } => ErrorBody { code: status.as_u16(), message, field },
            other => ErrorBody { code: status.as_u16(), message: other.to_string(), field: None },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The query parameters of a view of the table, the same as the Credentials page's address.
const VIEW_PARAMETERS: &[(&str, &str)] = &[
    ("q", "search: name, Kubernetes name, description, creator, scope and key names"),
    ("type", "filter: a type label (Docker registry, Access key, …); repeat for alternatives"),
    ("status", "filter: a status label; repeat for alternatives"),
    ("scope", "filter: a scope path; repeat for alternatives"),
    ("cluster", "filter: a cluster; repeat for alternatives"),
    ("created_by", "filter: a creator; repeat for alternatives"),
    ("credential", "filter: the name contains this"),
    ("kubernetes_name", "filter: namespace/name or the Secret's name contains this"),
    ("description", "filter: the description contains this"),
    ("data_sources", "filter: a workload using it contains this"),
    ("sort", "the column to sort by (the names above, or created)"),
    ("order", "asc or desc"),
];

const PAGE_PARAMETERS: &[(&str, &str)] = &[("page", "the page, from 1"), ("per_page", "25, 50 or 100")];

const CSV_PARAMETERS: &[(&str, &str)] =
    &[("columns", "the columns, comma-separated, in order (credential,kubernetes_name,description,type,status,data_sources,created_by,scope,created,cluster,expires); by default all but kubernetes_name")];

const ROLLOUT_PARAMETERS: &[(&str, &str)] = &[("rollout", "nothing (the default) or restart")];

/// Every operation of the API.
fn operations() -> Vec<Operation> {
    let op = Operation::new;
    vec![
        op(Method::GET, "/whoami", "Who the token belongs to", get(whoami)).answers::<Identity>(200),
        op(Method::GET, "/credentials", "A page of the credentials the caller may list", get(list_credentials)).query(VIEW_PARAMETERS).query(PAGE_PARAMETERS).answers::<Listing>(200),
        op(Method::GET, "/credentials:choices", "The values a filter picker offers for a column, among the credentials the caller may list", get(credential_choices))
            .query(&[("column", "type, status, scope, cluster, created_by or expires")])
            .answers::<Vec<String>>(200),
        op(Method::GET, "/credentials.csv", "Every credential of the view (not a page) as CSV, streamed; formulas neutralised", get(credentials_csv)).query(VIEW_PARAMETERS).query(CSV_PARAMETERS).answers_text(200, "text/csv"),
        op(Method::POST, "/credentials", "Create a credential with a new secret", post(create_credential)).takes::<NewCredential>().answers::<CredentialRow>(201),
        op(Method::POST, "/credentials:existing", "Create a credential for a Secret an administrator offered (see /existing-secrets)", post(create_from_existing))
            .takes::<ExistingSecretCredential>()
            .answers::<CredentialRow>(201),
        op(Method::GET, "/existing-secrets", "The existing Secrets offered for a type and scope, and the labels that offer one", get(existing_secrets))
            .query(&[("type", "a type's resource label: docker-registry, access-key, password, generic, tls, ngc-api-key"), ("scope", "account, cluster, department/NAME or project/NAME")])
            .answers::<ExistingSecrets>(200),
        op(Method::GET, "/events/credentials", "Server-sent events: `changed` whenever any credential changes, and nothing else (re-read the list); for callers who may list credentials somewhere", get(credential_changes)).answers_text(200, "text/event-stream"),
        op(Method::GET, "/credentials/{namespace}/{name}", "One credential: key names and status per namespace, never a value", get(get_credential)).answers::<CredentialRow>(200),
        op(Method::PATCH, "/credentials/{namespace}/{name}", "Rename: display name and description", patch(rename_credential)).takes::<Rename>().answers::<CredentialRow>(200),
        op(Method::DELETE, "/credentials/{namespace}/{name}", "Delete (409 naming the workloads while any uses it)", delete(delete_credential)),
        op(Method::PUT, "/credentials/{namespace}/{name}/values", "Replace the values (write-only, same type); rollout=restart then restarts the Deployments, StatefulSets and DaemonSets using it that the caller may patch", put(replace_values))
            .query(ROLLOUT_PARAMETERS)
            .takes::<SecretValues>()
            .answers::<ValuesReplaced>(200),
        op(Method::GET, "/credentials/{namespace}/{name}/rollout", "What rollout=restart would restart, skip (not allowed) and leave to their next run", get(rollout_preview)).answers::<RolloutPlan>(200),
        op(Method::POST, "/credentials/{namespace}/{name}/test", "Sign in with the credential's values to its registry or the configured S3 API; the outcome is kept and shown", post(test_credential))
            .takes::<TestRequest>()
            .answers::<TestOutcome>(200),
        op(Method::POST, "/credentials:test", "Sign in with values not saved yet (the wizard's Test connection)", post(test_values)).takes::<TestValues>().answers::<TestOutcome>(200),
        op(Method::GET, "/credentials/{namespace}/{name}/activity", "What happened to the credential, newest first (never a value)", get(activity)).answers::<Vec<ActivityEntry>>(200),
        op(Method::POST, "/credentials/{namespace}/{name}/retry", "Propagate again now (after a namespace failed)", post(retry)),
        op(Method::POST, "/credentials/{namespace}/{name}/let-go", "Stop an Account-scope credential's deletion waiting for a member cluster Keyhold cannot reach (its copies there stay)", post(let_go)).takes::<LetGo>(),
        op(Method::POST, "/credentials/{namespace}/{name}/notebooks", "Offer to Kubeflow notebooks: a PodDefault in each project it reaches where the caller may make one", post(offer_to_notebooks)).answers::<Offered>(200),
        op(Method::POST, "/credentials/{namespace}/{name}/replace", "Put another credential of the same type in its place in every workload the caller may change, then delete it once unused; dryRun shows the changes", post(replace_and_delete))
            .query(&[("dryRun", "true: show the changes without making them")])
            .takes::<ReplaceWith>()
            .answers::<Replacement>(200),
        op(Method::GET, "/credentials/{namespace}/{name}/workloads", "The workloads the caller may attach the credential to", get(attachable)).answers::<Vec<Workload>>(200),
        op(Method::POST, "/credentials/{namespace}/{name}/attach", "Attach the credential to a workload (a JSON Patch that only adds); dryRun shows it", post(attach))
            .query(&[("dryRun", "true: show the change without making it")])
            .takes::<Attachment>()
            .answers::<Attached>(200),
        op(Method::GET, "/me/credentials", "The caller's own (personal) credentials", get(my_credentials)).answers::<Vec<CredentialRow>>(200),
        op(Method::POST, "/me/credentials", "Create a personal credential, copied into the projects picked", post(create_personal)).takes::<NewPersonalCredential>().answers::<CredentialRow>(201),
        op(Method::GET, "/me/credentials/{name}", "One of the caller's own credentials, never a value", get(get_credential)).answers::<CredentialRow>(200),
        op(Method::PATCH, "/me/credentials/{name}", "Rename one's own credential", patch(rename_credential)).takes::<Rename>().answers::<CredentialRow>(200),
        op(Method::DELETE, "/me/credentials/{name}", "Delete one's own credential and its copies", delete(delete_credential)),
        op(Method::PUT, "/me/credentials/{name}/values", "Replace one's own credential's values (write-only, same type)", put(replace_values)).query(ROLLOUT_PARAMETERS).takes::<SecretValues>().answers::<ValuesReplaced>(200),
        op(Method::PUT, "/me/credentials/{name}/projects", "The projects one's own credential is copied into", put(set_personal_projects)).takes::<PersonalProjects>().answers::<CredentialRow>(200),
        op(Method::GET, "/clusters", "The clusters Keyhold manages (this one and the members registered with `keyhold cluster add`), reachable or not since when, their version and projects; for administrators", get(clusters)).answers::<Vec<MemberCluster>>(200),
        op(Method::GET, "/projects/{project}/secrets", "The key names of a project's secret", get(project_secret_keys)).answers::<ProjectSecretKeys>(200),
        op(Method::PUT, "/projects/{project}/secrets/{key}", "Add a key or replace its value", put(put_project_secret)).takes::<NewValue>().answers::<ProjectSecretKeys>(200),
        op(Method::DELETE, "/projects/{project}/secrets/{key}", "Delete a key (404 if it is gone)", delete(delete_project_secret)).answers::<ProjectSecretKeys>(200),
        op(Method::POST, "/projects/{project}/secrets:import", "Import .env lines: all checked, then one write", post(import_project_secrets)).takes::<EnvFile>().answers::<ProjectSecretKeys>(200),
    ]
}

pub fn router(state: AppState) -> Router<AppState> {
    let operations = operations();
    let document = Json(openapi::document(&operations));
    let routes = operations.into_iter().fold(Router::new(), |router, operation| router.route(operation.path, operation.route));
    routes
        .layer(axum::middleware::from_fn_with_state(state, bearer))
        // The document is public: it describes the API, not anyone's data.
        .route("/openapi.json", get(move || std::future::ready(document.clone())))
}

type Caller = Extension<Identity>;

/// The credential a path names: `/credentials/{namespace}/{name}`, or `/me/credentials/{name}`,
/// which names only the caller's own (personal credentials live in the system namespace), so the
/// same handlers serve both.
struct Named {
    namespace: String,
    name: String,
}

impl FromRequestParts<AppState> for Named {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ApiError> {
        let not_found = || ApiError::App(AppError::NotFound("no such credential".into()));
        let Path(mut params) = Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|_| not_found())?;
        let name = params.remove("name").ok_or_else(not_found)?;
        if let Some(namespace) = params.remove("namespace") {
            return Ok(Named { namespace, name });
        }
        let who = parts.extensions.get::<Identity>().ok_or(ApiError::MissingToken)?;
        if !state.credentials.owns(who, &name) {
            return Err(not_found());
        }
        Ok(Named { namespace: state.credentials.personal_namespace().to_string(), name })
    }
}

/// Finds the caller from the bearer token; nothing else authenticates here. Wrong tokens count
/// against the client's address, and the caller never learns why a token could not be checked
/// (the log does, with the request id).
async fn bearer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else { return ApiError::MissingToken.into_response() };
    let client = state.auth.client_addr(peer(request.extensions()), request.headers());
    match state.auth.bearer(token, client).await {
        Ok(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(SignInError::Rejected(_)) => ApiError::BadToken.into_response(),
        Err(e) => {
            if let SignInError::Unavailable(detail) = &e {
                tracing::error!(error = %detail, "could not check a bearer token");
            }
            ApiError::App(e.into()).into_response()
        }
    }
}

/// Who the token belongs to: the user and groups Keyhold acts for.
async fn whoami(Extension(identity): Extension<Identity>) -> Json<Identity> {
    Json(identity)
}

/// `GET /credentials`: the table's query in the same parameters as the page's address
/// (`q`, a parameter per filtered column, `sort`, `order`, `page`, `per_page`).
async fn list_credentials(State(state): State<AppState>, Extension(who): Caller, Query(params): Query<Vec<(String, String)>>) -> Result<Json<Listing>, ApiError> {
    let query = ListQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok(Json(state.credentials.list(&who, &query).await?))
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Picker {
    column: String,
}

/// `GET /credentials:choices?column=…`: what the page's filter picker for that column offers.
async fn credential_choices(State(state): State<AppState>, Extension(who): Caller, Query(Picker { column }): Query<Picker>) -> Result<Json<Vec<String>>, ApiError> {
    let column = Column::from_key(&column).ok_or_else(|| AppError::Invalid { field: "column".into(), message: "Pick type, status, scope, cluster, created_by or expires.".into() })?;
    Ok(Json(state.credentials.choices(&who, column).await?))
}

/// `GET /credentials.csv`: the whole view as CSV, `columns` choosing the columns.
async fn credentials_csv(State(state): State<AppState>, Extension(who): Caller, Query(params): Query<Vec<(String, String)>>) -> Result<Response, ApiError> {
    Ok(downloads::credentials(&state, &who, &params).await?)
}

async fn get_credential(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<Json<CredentialRow>, ApiError> {
    Ok(Json(state.credentials.get(&who, &namespace, &name).await?))
}

async fn create_credential(State(state): State<AppState>, Extension(who): Caller, body: Result<Json<NewCredential>, JsonRejection>) -> Result<(StatusCode, Json<CredentialRow>), ApiError> {
    let Json(request) = body?;
    Ok((StatusCode::CREATED, Json(state.credentials.create(&who, &request).await?)))
}

async fn create_from_existing(
    State(state): State<AppState>,
    Extension(who): Caller,
    body: Result<Json<ExistingSecretCredential>, JsonRejection>,
) -> Result<(StatusCode, Json<CredentialRow>), ApiError> {
    let Json(request) = body?;
    Ok((StatusCode::CREATED, Json(state.credentials.create_from_existing(&who, &request).await?)))
}

/// Both parameters are checked by the service's rules, so a missing one is a 422 naming it.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Offering {
    #[serde(rename = "type")]
    resource: String,
    scope: String,
}

/// `GET /existing-secrets?type=…&scope=…`: what the wizard's "existing secret" picker offers.
async fn existing_secrets(State(state): State<AppState>, Extension(who): Caller, Query(Offering { resource, scope }): Query<Offering>) -> Result<Json<ExistingSecrets>, ApiError> {
    let credential_type = CredentialType::parse_label(&resource).map_err(AppError::from)?;
    let scope: Scope = scope.parse().map_err(AppError::from)?;
    Ok(Json(state.credentials.existing_secrets(&who, &scope, credential_type).await?))
}

/// `GET /events/credentials`: the browser's live-update stream, for a bearer token.
async fn credential_changes(State(state): State<AppState>, Extension(who): Caller) -> Response {
    crate::server::events::stream(&state, &who).await
}

async fn rename_credential(
    State(state): State<AppState>,
    Extension(who): Caller,
    Named { namespace, name }: Named,
    body: Result<Json<Rename>, JsonRejection>,
) -> Result<Json<CredentialRow>, ApiError> {
    let Json(rename) = body?;
    Ok(Json(state.credentials.rename(&who, &namespace, &name, &rename).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutChoice {
    #[serde(default)]
    rollout: Rollout,
}

/// `PUT …/values`: new values, write-only; the answer is the row and what the rollout did, never
/// a value.
async fn replace_values(
    State(state): State<AppState>,
    Extension(who): Caller,
    Named { namespace, name }: Named,
    Query(RolloutChoice { rollout }): Query<RolloutChoice>,
    body: Result<Json<SecretValues>, JsonRejection>,
) -> Result<Json<ValuesReplaced>, ApiError> {
    let Json(values) = body?;
    Ok(Json(state.credentials.replace_values(&who, &namespace, &name, &values, rollout).await?))
}

async fn rollout_preview(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<Json<RolloutPlan>, ApiError> {
    Ok(Json(state.credentials.rollout_preview(&who, &namespace, &name).await?))
}

/// What `POST …/test` takes: for an access key, a bucket to look for instead of listing buckets.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TestRequest {
    #[serde(default)]
    bucket: String,
}

async fn test_credential(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named, body: Result<Json<TestRequest>, JsonRejection>) -> Result<Json<TestOutcome>, ApiError> {
    let Json(TestRequest { bucket }) = body?;
    Ok(Json(state.credentials.test_credential(&who, &namespace, &name, &bucket).await?))
}

async fn test_values(State(state): State<AppState>, Extension(who): Caller, body: Result<Json<TestValues>, JsonRejection>) -> Result<Json<TestOutcome>, ApiError> {
    let Json(request) = body?;
    Ok(Json(state.credentials.test_values(&who, &request).await?))
}

async fn activity(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<Json<Vec<ActivityEntry>>, ApiError> {
    Ok(Json(state.credentials.activity(&who, &namespace, &name).await?))
}

async fn retry(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<StatusCode, ApiError> {
    state.credentials.retry(&who, &namespace, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn let_go(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named, body: Result<Json<LetGo>, JsonRejection>) -> Result<StatusCode, ApiError> {
    let Json(LetGo { cluster }) = body?;
    state.credentials.let_go(&who, &namespace, &name, &cluster).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn clusters(State(state): State<AppState>, Extension(who): Caller) -> Result<Json<Vec<MemberCluster>>, ApiError> {
    Ok(Json(state.clusters.list(&who).await?))
}

async fn my_credentials(State(state): State<AppState>, Extension(who): Caller) -> Result<Json<Vec<CredentialRow>>, ApiError> {
    Ok(Json(state.credentials.mine(&who).await?))
}

async fn create_personal(State(state): State<AppState>, Extension(who): Caller, body: Result<Json<NewPersonalCredential>, JsonRejection>) -> Result<(StatusCode, Json<CredentialRow>), ApiError> {
    let Json(request) = body?;
    Ok((StatusCode::CREATED, Json(state.credentials.create_personal(&who, &request).await?)))
}

async fn set_personal_projects(State(state): State<AppState>, Extension(who): Caller, Named { name, .. }: Named, body: Result<Json<PersonalProjects>, JsonRejection>) -> Result<Json<CredentialRow>, ApiError> {
    let Json(projects) = body?;
    Ok(Json(state.credentials.set_personal_projects(&who, &name, &projects).await?))
}

async fn offer_to_notebooks(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<Json<Offered>, ApiError> {
    Ok(Json(state.credentials.offer_to_notebooks(&who, &namespace, &name).await?))
}

async fn attachable(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<Json<Vec<Workload>>, ApiError> {
    Ok(Json(state.credentials.attachable(&who, &namespace, &name).await?))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

async fn attach(
    State(state): State<AppState>,
    Extension(who): Caller,
    Named { namespace, name }: Named,
    Query(DryRun { dry_run }): Query<DryRun>,
    body: Result<Json<Attachment>, JsonRejection>,
) -> Result<Json<Attached>, ApiError> {
    let Json(request) = body?;
    Ok(Json(state.credentials.attach(&who, &namespace, &name, &request, !dry_run).await?))
}

async fn replace_and_delete(
    State(state): State<AppState>,
    Extension(who): Caller,
    Named { namespace, name }: Named,
    Query(DryRun { dry_run }): Query<DryRun>,
    body: Result<Json<ReplaceWith>, JsonRejection>,
) -> Result<Json<Replacement>, ApiError> {
    let Json(with) = body?;
    Ok(Json(state.credentials.replace_and_delete(&who, &namespace, &name, &with, !dry_run).await?))
}

async fn delete_credential(State(state): State<AppState>, Extension(who): Caller, Named { namespace, name }: Named) -> Result<StatusCode, ApiError> {
    state.credentials.delete(&who, &namespace, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /projects/{project}/secrets`: the key names, never a value.
async fn project_secret_keys(State(state): State<AppState>, Extension(who): Caller, Path(project): Path<String>) -> Result<Json<ProjectSecretKeys>, ApiError> {
    Ok(Json(state.project_secrets.keys(&who, &project).await?))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NewValue {
    value: String,
}

/// `PUT /projects/{project}/secrets/{key}` with `{"value": …}`: adds the key or replaces its value.
async fn put_project_secret(
    State(state): State<AppState>,
    Extension(who): Caller,
    Path((project, key)): Path<(String, String)>,
    body: Result<Json<NewValue>, JsonRejection>,
) -> Result<Json<ProjectSecretKeys>, ApiError> {
    let Json(NewValue { value }) = body?;
    Ok(Json(state.project_secrets.put(&who, &project, &[SecretEntry { key, value }]).await?))
}

async fn delete_project_secret(State(state): State<AppState>, Extension(who): Caller, Path((project, key)): Path<(String, String)>) -> Result<Json<ProjectSecretKeys>, ApiError> {
    Ok(Json(state.project_secrets.delete(&who, &project, &key).await?))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EnvFile {
    text: String,
}

/// `POST /projects/{project}/secrets:import` with `{"text": "KEY=VALUE\n…"}`: every line checked,
/// then one write for the lot.
async fn import_project_secrets(
    State(state): State<AppState>,
    Extension(who): Caller,
    Path(project): Path<String>,
    body: Result<Json<EnvFile>, JsonRejection>,
) -> Result<Json<ProjectSecretKeys>, ApiError> {
    let Json(EnvFile { text }) = body?;
    Ok(Json(state.project_secrets.import(&who, &project, &text).await?))
}
