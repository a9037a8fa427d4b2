//! The HTTP face of the embedded API: discovery and the resource paths, parsed into operations
//! and answered in Kubernetes' shapes (k8s-api-contract.md §1–§3, §9, §11).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::middleware;
use axum::routing::{any, get};
use base64::Engine;
use futures::StreamExt;
use serde_json::{Value, json};

use super::Cluster;
use super::ops::{self, Deleted, ListOptions, WriteOptions};
use super::openapi;
use super::protobuf::{self, ProtobufError};
use super::rbac::{self, Attributes, Identity};
use super::resources::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Change, EventType, Stored, Subscription};
use super::table::{self, View};

/// The largest request body accepted, as kube-apiserver's limit.
const MAX_BODY: usize = 3 * 1024 * 1024;
/// How often a watch that asked for bookmarks receives one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(15);
/// The longest a watch stays open when the client gives no timeout.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// The API's routes. Callers add who is calling as an `Identity` request extension.
pub fn router(cluster: Arc<Cluster>) -> Router {
    let discovery = Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/apis", get(api_groups))
        .route("/api/v1", get(core_resources))
        .route("/apis/{group}/{version}", get(group_resources))
        .route("/openapi/v3", get(openapi_index))
        .route("/openapi/v3/{*path}", get(openapi_document))
        .route_layer(middleware::from_fn_with_state(cluster.clone(), authorize_path));
    Router::new()
        .merge(discovery)
        .route("/api/v1/{*rest}", any(core_request))
        .route("/apis/{group}/{version}/{*rest}", any(group_request))
        .fallback(|| async { ApiError::no_such_path() })
        .with_state(cluster)
}

fn caller(request: &Request) -> Result<Identity, ApiError> {
    request.extensions().get::<Identity>().cloned().ok_or_else(|| ApiError::internal("request without an identity"))
}

/// Authorizes the non-resource paths (discovery, OpenAPI) by their path.
async fn authorize_path(State(cluster): State<Arc<Cluster>>, request: Request, next: middleware::Next) -> Response {
    let who = match caller(&request) {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    let attrs = Attributes { verb: "get".into(), path: Some(request.uri().path().to_string()), ..Default::default() };
    if !rbac::authorize(cluster.store(), &who, &attrs).allowed {
        return ApiError::forbidden_path(&rbac::denial(&who, &attrs)).into_response();
    }
    next.run(request).await
}

async fn version() -> Response {
    axum::Json(json!({
        "major": "1",
        "minor": "36",
        "gitVersion": "v1.36.0-keyhold",
        "gitCommit": env!("CARGO_PKG_VERSION"),
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    }))
    .into_response()
}

async fn api_versions(headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    axum::Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }))
    .into_response()
}

async fn api_groups(State(cluster): State<Arc<Cluster>>) -> Response {
    let mut groups: Vec<Value> = Vec::new();
    for rt in cluster.types().iter().filter(|t| !t.group.is_empty()) {
        let gv = json!({"groupVersion": rt.api_version(), "version": rt.version});
        if !groups.iter().any(|g| g["name"] == rt.group.as_str()) {
            groups.push(json!({"name": rt.group, "versions": [gv.clone()], "preferredVersion": gv}));
        }
    }
    axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})).into_response()
}

fn resource_list(cluster: &Cluster, group: &str, version: &str) -> Result<Response, ApiError> {
    let resources: Vec<Value> =
        cluster.types().iter().filter(|t| t.group == group && t.version == version).map(ResourceType::discovery_entry).collect();
    if resources.is_empty() {
        return Err(ApiError::no_such_path());
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Ok(axum::Json(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
        .into_response())
}

async fn openapi_index(State(cluster): State<Arc<Cluster>>) -> Response {
    axum::Json(openapi::index(&cluster.types())).into_response()
}

async fn openapi_document(State(cluster): State<Arc<Cluster>>, Path(path): Path<String>) -> Result<Response, ApiError> {
    openapi::document(&cluster.types(), &path).map(|doc| axum::Json(doc).into_response()).ok_or_else(ApiError::no_such_path)
}

async fn core_resources(State(cluster): State<Arc<Cluster>>) -> Result<Response, ApiError> {
    resource_list(&cluster, "", "v1")
}

async fn group_resources(State(cluster): State<Arc<Cluster>>, Path((group, version)): Path<(String, String)>) -> Result<Response, ApiError> {
    resource_list(&cluster, &group, &version)
}

async fn core_request(State(cluster): State<Arc<Cluster>>, Path(rest): Path<String>, request: Request) -> Response {
    serve(cluster, "", "v1", &rest, request).await.unwrap_or_else(IntoResponse::into_response)
}

async fn group_request(
    State(cluster): State<Arc<Cluster>>,
    Path((group, version, rest)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    serve(cluster, &group, &version, &rest, request).await.unwrap_or_else(IntoResponse::into_response)
}

/// What a resource path names.
struct Target {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_target(cluster: &Cluster, group: &str, version: &str, rest: &str) -> Result<Target, ApiError> {
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let find = |plural: &str| cluster.find_type(group, version, plural).ok_or_else(ApiError::no_such_path);
    let target = match parts.as_slice() {
        // The namespace object itself and its subresources.
        ["namespaces", name] if group.is_empty() => Target { rt: find("namespaces")?, namespace: None, name: Some(name.to_string()), subresource: None },
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            Target { rt: find("namespaces")?, namespace: None, name: Some(name.to_string()), subresource: Some(sub.to_string()) }
        }
        ["namespaces", ns, plural, rest @ ..] => {
            let rt = find(plural)?;
            if !rt.namespaced {
                return Err(ApiError::no_such_path());
            }
            let (name, subresource) = match rest {
                [] => (None, None),
                [name] => (Some(name.to_string()), None),
                [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
                _ => return Err(ApiError::no_such_path()),
            };
            Target { rt, namespace: Some(ns.to_string()), name, subresource }
        }
        [plural] => Target { rt: find(plural)?, namespace: None, name: None, subresource: None },
        [plural, name, rest @ ..] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(ApiError::no_such_path());
            }
            let subresource = match rest {
                [] => None,
                [sub] => Some(sub.to_string()),
                _ => return Err(ApiError::no_such_path()),
            };
            Target { rt, namespace: None, name: Some(name.to_string()), subresource }
        }
        _ => return Err(ApiError::no_such_path()),
    };
    if target.subresource.as_deref().is_some_and(|s| s != "status") {
        return Err(ApiError::no_such_path());
    }
    Ok(target)
}

/// Kubernetes' boolean query parameter rule: absent, `0` or `false` are false; anything else true.
fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"))
}

async fn serve(cluster: Arc<Cluster>, group: &str, version: &str, rest: &str, request: Request) -> Result<Response, ApiError> {
    let target = parse_target(&cluster, group, version, rest)?;
    let defines_types = target.rt.group == "apiextensions.k8s.io" && target.rt.plural == "customresourcedefinitions";
    let writes = request.method() != Method::GET;
    let response = handle(cluster.clone(), target, request).await;
    if defines_types && writes {
        cluster.refresh_types();
    }
    response
}

async fn handle(cluster: Arc<Cluster>, target: Target, request: Request) -> Result<Response, ApiError> {
    let who = caller(&request)?;
    let (parts, body) = request.into_parts();
    let Query(query): Query<HashMap<String, String>> =
        Query::try_from_uri(&parts.uri).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let namespace = target.namespace.clone().unwrap_or_default();
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::invalid("", "", "", vec![super::status::Cause::not_supported("dryRun", &format!("[{other}]"), &["All"])])
                .with_message(format!("dryRun: Unsupported value: [\"{other}\"]: supported values: \"All\"")));
        }
    };
    let field_manager = query.get("fieldManager").map(String::as_str).filter(|m| !m.is_empty());
    let opts = WriteOptions {
        dry_run,
        manager: super::objects::manager_name(field_manager, user_agent),
        apply: false,
        manager_named: field_manager.is_some(),
        strict: query.get("fieldValidation").is_some_and(|v| v == "Strict"),
    };
    let rt = &target.rt;
    let verb = match (&parts.method, &target.name) {
        (&Method::GET, Some(_)) => "get",
        (&Method::GET, None) if flag(&query, "watch") => "watch",
        (&Method::GET, None) => "list",
        (&Method::POST, None) => "create",
        (&Method::PUT, Some(_)) => "update",
        (&Method::PATCH, Some(_)) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::DELETE, None) => "deletecollection",
        _ => return Err(ApiError::method_not_allowed()),
    };
    if !rt.allows(verb) {
        return Err(ApiError::method_not_allowed());
    }
    // A list or watch of exactly one name is authorized as that name, as kube-apiserver does.
    let field_name = query.get("fieldSelector").and_then(|f| f.strip_prefix("metadata.name=")).filter(|n| !n.contains(','));
    let attrs = Attributes {
        verb: verb.to_string(),
        group: rt.group.clone(),
        resource: rt.plural.clone(),
        subresource: target.subresource.clone().unwrap_or_default(),
        namespace: namespace.clone(),
        name: target.name.clone().or_else(|| field_name.map(str::to_string)).unwrap_or_default(),
        path: None,
    };
    if !rbac::authorize(cluster.store(), &who, &attrs).allowed {
        return Err(ApiError::forbidden(rt, target.name.as_deref().unwrap_or_default(), &rbac::denial(&who, &attrs)));
    }
    if rt.is_review() {
        let body = read_json(&parts.headers, body).await?;
        let answer = super::reviews::review(&cluster, rt, &namespace, &who, body)?;
        return Ok(object_response(StatusCode::CREATED, &answer));
    }
    let ns_filter = target.namespace.as_deref();
    let part = if target.subresource.is_some() { ops::Part::Status } else { ops::Part::Main };
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let view = View::from_request(accept, query.get("includeObject").map(String::as_str))?;
    match verb {
        "get" => {
            let name = target.name.as_deref().unwrap_or_default();
            let object = ops::get(cluster.store(), rt, &namespace, name)?;
            Ok(match view {
                View::Table(include) => {
                    let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                    object_response(StatusCode::OK, &table::table(rt, &[&object], metadata, include, true))
                }
                View::Metadata => object_response(StatusCode::OK, &table::metadata_only(&object)),
                View::Object => object_response(StatusCode::OK, &object),
            })
        }
        "list" => {
            let opts = list_options(rt, &query)?;
            let result = ops::list(cluster.store(), rt, ns_filter, &opts);
            Ok(list_response(rt, result, view))
        }
        "watch" => watch(cluster.clone(), rt.clone(), target.namespace.clone(), &query, view),
        "create" => {
            let body = read_json(&parts.headers, body).await?;
            let created = ops::create(cluster.store(), rt, &namespace, body, &opts)?;
            Ok(object_response(StatusCode::CREATED, &created))
        }
        "update" => {
            let body = read_json(&parts.headers, body).await?;
            let name = target.name.as_deref().unwrap_or_default();
            let updated = ops::update(cluster.store(), rt, &namespace, name, body, part, &opts)?;
            Ok(object_response(StatusCode::OK, &updated))
        }
        "patch" => {
            let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let patch = read_bytes(body).await?;
            let name = target.name.as_deref().unwrap_or_default();
            let force = flag(&query, "force");
            let (status, object) = ops::patch(cluster.store(), rt, &namespace, name, content_type, &patch, part, &opts, force)?;
            Ok(object_response(status, &object))
        }
        "delete" => {
            let name = target.name.as_deref().unwrap_or_default();
            let preconditions = delete_options(&parts.headers, body, &query).await?;
            let dry_run = dry_run || preconditions.dry_run;
            let opts = WriteOptions { dry_run, ..opts };
            let deleted = ops::delete(cluster.store(), rt, &namespace, name, &opts, &preconditions)?;
            if rt.plural == "namespaces" && rt.group.is_empty() && !dry_run {
                cluster.finish_namespace_later(name.to_string());
            }
            if let (false, Deleted::Gone(crd)) = (dry_run, &deleted)
                && rt.plural == "customresourcedefinitions"
            {
                ops::delete_custom_resources(cluster.store(), crd)?;
            }
            Ok(delete_response(rt, deleted))
        }
        "deletecollection" => {
            let body_options = delete_options(&parts.headers, body, &query).await?;
            let opts = WriteOptions { dry_run: opts.dry_run || body_options.dry_run, ..opts };
            let list_opts = list_options(rt, &query)?;
            let selected = ops::list(cluster.store(), rt, ns_filter, &list_opts);
            let mut deleted = Vec::new();
            for item in selected.items.iter().map(Stored::value) {
                let ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
                let name = item["metadata"]["name"].as_str().unwrap_or_default();
                match ops::delete(cluster.store(), rt, ns, name, &opts, &ops::Preconditions::default()) {
                    Ok(Deleted::Gone(o) | Deleted::Pending(o)) => deleted.push(Stored::new(&o)),
                    Err(e) if e.code == StatusCode::NOT_FOUND => {}
                    Err(e) => return Err(e),
                }
            }
            let rv = cluster.store().resource_version();
            Ok(list_response(rt, ops::ListResult { rv, items: deleted, next: None, remaining: None }, View::Object))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The `DeleteOptions` of a DELETE, from its body (optional) and query.
async fn delete_options(headers: &HeaderMap, body: Body, query: &HashMap<String, String>) -> Result<ops::Preconditions, ApiError> {
    let bytes = read_bytes(body).await?;
    let options = if bytes.is_empty() { Value::Null } else { decode_body(headers, &bytes)? };
    ops::delete_preconditions(&options, query.get("propagationPolicy").map(String::as_str))
}

async fn read_bytes(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::too_large(format!("Request entity too large: limit is {MAX_BODY}")))
}

/// Reads a request body: JSON, YAML, or the protobuf that kubectl's typed clients send.
async fn read_json(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let bytes = read_bytes(body).await?;
    decode_body(headers, &bytes)
}

fn decode_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    match media.split(';').next().unwrap_or_default().trim() {
        "application/json" | "application/yaml" | "*/*" | "" => parse_document(bytes),
        "application/vnd.kubernetes.protobuf" => protobuf::decode(bytes).map_err(|e| match e {
            ProtobufError::Unsupported(_) => ApiError::unsupported_media_type(e.to_string()),
            _ => ApiError::bad_request(e.to_string()),
        }),
        _ => Err(ApiError::unsupported_media_type(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )),
    }
}

pub(super) fn parse_document(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).or_else(|json_err| {
        let text = std::str::from_utf8(bytes).map_err(|_| ApiError::bad_request(format!("json parse error: {json_err}")))?;
        if text.trim_start().starts_with('{') || text.trim_start().starts_with('[') {
            return Err(ApiError::bad_request(format!("json parse error: {json_err}")));
        }
        serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(format!("yaml: {e}")))
    })
}

fn list_options(rt: &ResourceType, query: &HashMap<String, String>) -> Result<ListOptions, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or_default())?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or_default(), rt)?;
    let limit = match query.get("limit") {
        Some(l) if !l.is_empty() => Some(l.parse::<usize>().map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?),
        _ => None,
    };
    let rv = query.get("resourceVersion").map(String::as_str).unwrap_or_default();
    if let Some(m) = query.get("resourceVersionMatch").filter(|m| !m.is_empty()) {
        let why = if rv.is_empty() {
            Some("resourceVersionMatch is forbidden unless resourceVersion is provided".to_string())
        } else if query.get("continue").is_some_and(|c| !c.is_empty()) {
            Some("resourceVersionMatch is forbidden when continue is provided".to_string())
        } else if m == "Exact" && rv == "0" {
            Some("resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"".to_string())
        } else if m != "Exact" && m != "NotOlderThan" {
            Some(format!("{m:?} is not a valid value"))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(list_options_invalid(&format!("resourceVersionMatch: Forbidden: {why}")));
        }
    }
    let after = match query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => {
            if !rv.is_empty() && rv != "0" {
                return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
            }
            Some(decode_continue(token)?)
        }
    };
    Ok(ListOptions { labels, fields, limit, after })
}

fn list_options_invalid(text: &str) -> ApiError {
    ApiError::invalid("ListOptions.meta.k8s.io", "", "", Vec::new()).with_message(format!("ListOptions.meta.k8s.io \"\" is invalid: {text}"))
}

fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{namespace}/{name}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String, String), ApiError> {
    let bad = || ApiError::bad_request("invalid continue token: continue key is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let rv = value["rv"].as_u64().ok_or_else(bad)?;
    let start = value["start"].as_str().ok_or_else(bad)?.trim_end_matches('\u{0}');
    let (namespace, name) = start.split_once('/').ok_or_else(bad)?;
    Ok((rv, namespace.to_string(), name.to_string()))
}

fn object_response(status: StatusCode, object: &Value) -> Response {
    (status, axum::Json(object)).into_response()
}

fn list_response(rt: &ResourceType, result: ops::ListResult, view: View) -> Response {
    let mut metadata = json!({"resourceVersion": result.rv.to_string()});
    if let Some((ns, name)) = &result.next {
        metadata["continue"] = json!(encode_continue(result.rv, ns, name));
    }
    if let Some(remaining) = result.remaining {
        metadata["remainingItemCount"] = json!(remaining);
    }
    let items = result.items.iter().map(Stored::value);
    match view {
        View::Table(include) => {
            let items: Vec<Value> = items.collect();
            let items: Vec<&Value> = items.iter().collect();
            axum::Json(table::table(rt, &items, metadata, include, true)).into_response()
        }
        View::Metadata => {
            let items: Vec<Value> = items.map(|i| table::metadata_only(&i)).collect();
            let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "items": items});
            axum::Json(list).into_response()
        }
        View::Object => {
            // Written item by item, so a list of every Secret never holds them all parsed at once.
            // Items of a List carry no kind or apiVersion.
            let head = json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": metadata});
            let mut body = head.to_string().into_bytes();
            body.pop();
            body.extend_from_slice(br#","items":["#);
            for (i, mut item) in items.enumerate() {
                if let Some(obj) = item.as_object_mut() {
                    obj.remove("kind");
                    obj.remove("apiVersion");
                }
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(item.to_string().as_bytes());
            }
            body.extend_from_slice(b"]}");
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
    }
}

fn delete_response(rt: &ResourceType, deleted: Deleted) -> Response {
    // The kinds whose storage in kube-apiserver sets ReturnDeletedObject (clients generated from
    // its OpenAPI, such as the Python client, parse the answer as that kind).
    let returns_object = rt.group.is_empty() && matches!(rt.plural.as_str(), "pods" | "serviceaccounts" | "namespaces" | "services");
    match deleted {
        Deleted::Pending(object) => object_response(StatusCode::OK, &object),
        Deleted::Gone(object) if returns_object => object_response(StatusCode::OK, &object),
        Deleted::Gone(object) => {
            let mut details = json!({"name": object["metadata"]["name"], "kind": rt.plural, "uid": object["metadata"]["uid"]});
            if !rt.group.is_empty() {
                details["group"] = json!(rt.group);
            }
            axum::Json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}))
                .into_response()
        }
    }
}

/// How a change looks to a watcher with these filters: ADDED, MODIFIED, DELETED or nothing.
struct WatchFilter {
    storage_id: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    rt: ResourceType,
    /// `kubectl get -w` asks for Tables: each event then carries a one-row Table, with the
    /// column definitions in the first only. Metadata-only watches get PartialObjectMetadata.
    view: View,
    columns_sent: AtomicBool,
}

impl WatchFilter {
    fn admits(&self, object: &Stored) -> bool {
        ops::selects(&self.labels, &self.fields, object)
    }

    fn event(&self, change: &Change) -> Option<Bytes> {
        if change.key.resource != self.storage_id || self.namespace.as_ref().is_some_and(|ns| *ns != change.key.namespace) {
            return None;
        }
        let now = change.kind != EventType::Deleted && self.admits(&change.object);
        let before = change.previous.as_ref().is_some_and(|p| self.admits(p));
        let kind = match (before, now) {
            (false, true) => "ADDED",
            (true, true) => "MODIFIED",
            (true, false) => "DELETED",
            (false, false) => return None,
        };
        Some(self.render(kind, &change.object))
    }

    /// The event's line in the stream.
    fn render(&self, kind: &str, object: &Stored) -> Bytes {
        match self.view {
            // The stored text as it is, unparsed: the common watch.
            View::Object => Bytes::from(format!("{{\"type\":\"{kind}\",\"object\":{}}}\n", object.json())),
            View::Metadata => line(&json!({"type": kind, "object": table::metadata_only(&object.value())})),
            View::Table(include) => {
                let object = object.value();
                let first = !self.columns_sent.swap(true, std::sync::atomic::Ordering::Relaxed);
                let metadata = json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                line(&json!({"type": kind, "object": table::table(&self.rt, &[&object], metadata, include, first)}))
            }
        }
    }
}

fn line(event: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": metadata}})
}

fn watch(
    cluster: Arc<Cluster>,
    rt: ResourceType,
    namespace: Option<String>,
    query: &HashMap<String, String>,
    view: View,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or_default())?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or_default(), &rt)?;
    let bookmarks = flag(query, "allowWatchBookmarks");
    let initial_events = flag(query, "sendInitialEvents");
    if initial_events && query.get("resourceVersionMatch").map(String::as_str) != Some("NotOlderThan") {
        return Err(list_options_invalid("sendInitialEvents: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
    }
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WATCH_TIMEOUT);
    let filter = WatchFilter { storage_id: rt.storage_id(), namespace: namespace.clone(), labels, fields, rt: rt.clone(), view, columns_sent: AtomicBool::new(false) };
    let from = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?),
    };

    let mut first: Vec<Bytes> = Vec::new();
    // The version up to which this watch has looked at every change: what a bookmark may say.
    let mut seen = from.unwrap_or_default();
    let subscription: Subscription = match from {
        Some(from) if !initial_events => match cluster.store().subscribe(Some(from)) {
            Ok(sub) => sub,
            Err(oldest) => {
                let status = ApiError::expired(format!("too old resource version: {from} ({oldest})")).status();
                let body = line(&json!({"type": "ERROR", "object": status}));
                return Ok(watch_response(Body::from(body)));
            }
        },
        _ => {
            let (rv, items, sub) = cluster.store().snapshot_and_subscribe(&filter.storage_id, namespace.as_deref());
            seen = rv;
            first.extend(items.iter().filter(|o| filter.admits(o)).map(|o| filter.render("ADDED", o)));
            if initial_events {
                first.push(line(&bookmark(&rt, rv, true)));
            }
            sub
        }
    };
    first.extend(subscription.replay.iter().filter_map(|c| filter.event(c)));
    seen = subscription.replay.last().map_or(seen, |c| c.rv);

    let deadline = tokio::time::Instant::now() + timeout;
    // Bookmarks come on a clock, not after a quiet spell: a watch whose objects never change while
    // others change all the time must still learn the current version, or its next watch is too old.
    let first_mark = tokio::time::Instant::now() + BOOKMARK_EVERY;
    let live = futures::stream::unfold((subscription.live, filter, first_mark, seen), move |(mut live, filter, mut next_mark, mut seen)| {
        let rt = rt.clone();
        async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => return None,
                    _ = tokio::time::sleep_until(next_mark), if bookmarks => {
                        next_mark += BOOKMARK_EVERY;
                        return Some((line(&bookmark(&rt, seen, false)), (live, filter, next_mark, seen)));
                    }
                    received = live.recv() => match received {
                        Ok(change) => {
                            seen = change.rv;
                            if let Some(event) = filter.event(&change) {
                                return Some((event, (live, filter, next_mark, seen)));
                            }
                        }
                        // Fallen behind, or the server is stopping: end the stream; the client re-watches.
                        Err(_) => return None,
                    },
                }
            }
        }
    });
    let stream = futures::stream::iter(first).chain(live).map(Ok::<_, std::convert::Infallible>);
    Ok(watch_response(Body::from_stream(stream)))
}

fn watch_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap_or_else(|_| ApiError::internal("cannot build the watch response").into_response())
}
