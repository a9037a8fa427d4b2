//! The API verbs on stored objects, independent of HTTP: create, get, list, update, patch, delete,
//! with kube-apiserver's checks in its order (k8s-api-contract.md §5–§9).

use std::sync::Arc;

use serde_json::{Value, json};

use super::{crd, managed, objects, schema};
use super::resources::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, Cause};
use super::store::{Change, Mutation, ObjectKey, Store, StoreError, Stored};
use super::validation;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooDeep => ApiError::bad_request(e.to_string()),
            _ => ApiError::internal(e),
        }
    }
}

/// Namespaces that can never be deleted.
const PROTECTED_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// Options every write takes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub manager: String,
    /// A server-side apply: ownership is recorded as `Apply`, by `managed::apply`.
    pub apply: bool,
    /// Whether the client named the manager (`?fieldManager=`), which an apply requires.
    pub manager_named: bool,
    /// `?fieldValidation=Strict`: unknown fields are an error rather than dropped.
    pub strict: bool,
}

/// A list request's selection and paging.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    /// Decoded continue token: the snapshot's resourceVersion and the key to start after.
    pub after: Option<(u64, String, String)>,
}

pub struct ListResult {
    pub rv: u64,
    pub items: Vec<Stored>,
    pub next: Option<(String, String)>,
    pub remaining: Option<usize>,
}

pub fn key(rt: &ResourceType, namespace: &str, name: &str) -> ObjectKey {
    ObjectKey::new(rt.storage_id(), if rt.namespaced { namespace } else { "" }, name)
}

fn namespaces_type() -> ResourceType {
    super::resources::builtin_types().into_iter().find(|t| t.plural == "namespaces").expect("namespaces are built in")
}

/// Checks that `body` is an object of `rt`'s kind and version.
fn check_type(rt: &ResourceType, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(format!("{} in version {:?} cannot be handled as a {}: expected an object", rt.kind, rt.version, rt.kind)));
    }
    if let Some(api_version) = body["apiVersion"].as_str()
        && api_version != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(kind) = body["kind"].as_str()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!("the kind in the data ({kind}) does not match the expected kind ({})", rt.kind)));
    }
    Ok(())
}

/// Validation shared by create and update; returns the causes of an Invalid error. Custom
/// resources are also pruned of fields their schema does not declare, or refused for them under
/// `fieldValidation=Strict` (what kubectl sends).
fn validate(rt: &ResourceType, object: &mut Value, strict: bool) -> Result<Vec<Cause>, ApiError> {
    let mut causes = validation::metadata(object);
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => {
            let data = validation::decode_data(object)
                .map_err(|e| ApiError::bad_request(format!("Secret in version \"v1\" cannot be handled as a Secret: {e}")))?;
            causes.extend(validation::secret(object, &data));
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => causes.extend(crd::validate(object)),
        _ => {}
    }
    if let Some(custom) = &rt.custom {
        let outcome = schema::validate(object, &custom.schema);
        if strict && !outcome.unknown_fields.is_empty() {
            let unknown: Vec<String> = outcome.unknown_fields.iter().map(|f| format!("unknown field {f:?}")).collect();
            return Err(ApiError::bad_request(format!(
                "{kind} in version {:?} cannot be handled as a {kind}: strict decoding error: {}",
                rt.version,
                unknown.join(", "),
                kind = rt.kind
            )));
        }
        causes.extend(outcome.causes);
    }
    Ok(causes)
}

pub fn get(store: &Store, rt: &ResourceType, namespace: &str, name: &str) -> Result<Value, ApiError> {
    store.get(&key(rt, namespace, name)).ok_or_else(|| ApiError::not_found(rt, name))
}

pub fn list(store: &Store, rt: &ResourceType, namespace: Option<&str>, opts: &ListOptions) -> ListResult {
    let after = opts.after.as_ref().map(|(_, ns, name)| (ns.as_str(), name.as_str()));
    let (rv, all) = store.list(&rt.storage_id(), namespace, after);
    let rv = opts.after.as_ref().map_or(rv, |(rv, _, _)| *rv);
    let selected: Vec<Stored> = all.into_iter().filter(|o| selects(&opts.labels, &opts.fields, o)).collect();
    match opts.limit {
        Some(limit) if limit > 0 && selected.len() > limit => {
            let last = selected[limit - 1].value();
            let next = Some((meta_str(&last, "namespace").to_string(), meta_str(&last, "name").to_string()));
            let filtered = !opts.labels.is_empty() || !opts.fields.is_empty();
            let remaining = (!filtered).then_some(selected.len() - limit);
            ListResult { rv, items: selected[..limit].to_vec(), next, remaining }
        }
        _ => ListResult { rv, items: selected, next: None, remaining: None },
    }
}

/// Whether an object passes both selectors, parsing no more of it than they read.
pub fn selects(labels: &LabelSelector, fields: &FieldSelector, object: &Stored) -> bool {
    match (labels.is_empty(), fields.is_empty()) {
        (true, true) => true,
        (false, true) => labels.matches(&object.labels()),
        _ => {
            let object = object.value();
            labels.matches(&object) && fields.matches(&object)
        }
    }
}

fn meta_str<'a>(object: &'a Value, field: &str) -> &'a str {
    object["metadata"][field].as_str().unwrap_or_default()
}

/// Creates an object. `namespace` is the URL's namespace ("" for cluster-scoped types).
pub fn create(store: &Store, rt: &ResourceType, namespace: &str, mut body: Value, opts: &WriteOptions) -> Result<Value, ApiError> {
    check_type(rt, &body)?;
    body["apiVersion"] = json!(rt.api_version());
    body["kind"] = json!(rt.kind);
    if !body["metadata"].is_object() {
        body["metadata"] = json!({});
    }
    if rt.namespaced {
        match body["metadata"]["namespace"].as_str() {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
            }
            _ => body["metadata"]["namespace"] = json!(namespace),
        }
    } else if let Some(meta) = body["metadata"].as_object_mut() {
        meta.remove("namespace");
    }
    let generate = body["metadata"]["generateName"].as_str().filter(|p| !p.is_empty()).map(str::to_string);
    let given = body["metadata"]["name"].as_str().filter(|n| !n.is_empty()).map(str::to_string);
    let name = match (&given, &generate) {
        (Some(name), _) => name.clone(),
        (None, Some(prefix)) => objects::generate_name(prefix),
        (None, None) => {
            return Err(ApiError::invalid_object(rt, "", vec![Cause::required("metadata.name", Some("name or generateName is required"))]));
        }
    };
    body["metadata"]["name"] = json!(name);

    if rt.plural == "secrets" && rt.group.is_empty() {
        objects::fold_string_data(&mut body);
    }
    objects::apply_defaults(rt, &mut body);
    let mut causes = validation::name(rt, &name);
    causes.extend(validate(rt, &mut body, opts.strict)?);
    if !causes.is_empty() {
        return Err(ApiError::invalid_object(rt, &name, causes));
    }
    if rt.namespaced {
        check_namespace_accepts(store, rt, namespace, &name)?;
    }

    let meta = body["metadata"].as_object_mut().expect("metadata is an object");
    for field in ["resourceVersion", "deletionTimestamp", "selfLink", "generation"] {
        meta.remove(field);
    }
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(objects::now_seconds()));
    if objects::tracks_generation(rt) {
        meta.insert("generation".into(), json!(1));
    }
    if opts.apply {
        managed::record_apply_create(rt, &mut body, &opts.manager);
    } else {
        managed::record_update(rt, None, &mut body, &opts.manager);
    }

    // A generated name that collides is retried, as the API server does.
    let attempts = if given.is_none() { 8 } else { 1 };
    for attempt in 0..attempts {
        if attempt > 0 {
            let name = objects::generate_name(generate.as_deref().unwrap_or_default());
            body["metadata"]["name"] = json!(name);
        }
        let name = meta_str(&body, "name").to_string();
        let key = key(rt, namespace, &name);
        if opts.dry_run {
            if store.contains(&key) {
                continue;
            }
            return Ok(body);
        }
        let result = store.mutate::<ApiError>(&key, |current, _| {
            if current.is_some() { Err(ApiError::already_exists(rt, &name)) } else { Ok(Mutation::Put(body.clone())) }
        });
        match result {
            Ok(change) => return Ok(committed(change)),
            Err(e) if e.reason == "AlreadyExists" && attempt + 1 < attempts => continue,
            Err(e) if e.reason == "AlreadyExists" && given.is_none() => {
                return Err(ApiError {
                    message: format!("{}, the server was not able to generate a unique name for the object", e.message),
                    ..e
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::already_exists(rt, meta_str(&body, "name")))
}

fn committed(change: Option<Arc<Change>>) -> Value {
    change.map(|c| c.object.value()).unwrap_or(Value::Null)
}

/// NamespaceLifecycle admission: content may only be created in a namespace that exists and is
/// not being deleted.
fn check_namespace_accepts(store: &Store, rt: &ResourceType, namespace: &str, name: &str) -> Result<(), ApiError> {
    let ns = store.get(&key(&namespaces_type(), "", namespace)).ok_or_else(|| ApiError::namespace_not_found(namespace))?;
    if ns["status"]["phase"] == "Terminating" {
        let mut err = ApiError::forbidden(
            rt,
            name,
            &format!("unable to create new content in namespace {namespace} because it is being terminated"),
        );
        if let Some(details) = err.details.as_mut() {
            details["causes"] = json!([{
                "reason": "NamespaceTerminating",
                "message": format!("namespace {namespace} is being terminated"),
                "field": "metadata.namespace"
            }]);
        }
        return Err(err);
    }
    Ok(())
}

/// Which part of an object a write replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything but status (which has its own subresource).
    Main,
    /// The `status` subresource: only status changes.
    Status,
}

/// Replaces an object (PUT).
pub fn update(store: &Store, rt: &ResourceType, namespace: &str, name: &str, body: Value, part: Part, opts: &WriteOptions) -> Result<Value, ApiError> {
    check_type(rt, &body)?;
    if let Some(body_name) = body["metadata"]["name"].as_str()
        && body_name != name
    {
        return Err(ApiError::bad_request(format!("the name of the object ({body_name}) does not match the name on the URL ({name})")));
    }
    commit_update(store, rt, namespace, name, part, opts, |_| Ok(body))
}

/// Commits the object that `next_of` derives from the current one, under the store's lock, so a
/// patch applies to exactly the state it replaces.
fn commit_update(
    store: &Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    part: Part,
    opts: &WriteOptions,
    next_of: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let key = key(rt, namespace, name);
    let mut result = None;
    let change = store.mutate::<ApiError>(&key, |current, _| {
        let current = current.ok_or_else(|| ApiError::not_found(rt, name))?;
        let mut body = next_of(current)?;
        body["apiVersion"] = json!(rt.api_version());
        body["kind"] = json!(rt.kind);
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        body["metadata"]["name"] = json!(name);
        if rt.plural == "secrets" && rt.group.is_empty() {
            objects::fold_string_data(&mut body);
        }
        let next = match part {
            Part::Main => prepare_update(rt, current, body, opts)?,
            Part::Status => prepare_status_update(rt, current, &body)?,
        };
        if !objects::differs(current, &next) {
            result = Some(current.clone());
            return Ok(Mutation::Unchanged);
        }
        if opts.dry_run {
            result = Some(next);
            return Ok(Mutation::Unchanged);
        }
        // The last finalizer removed from an object being deleted completes its deletion.
        if next["metadata"]["deletionTimestamp"].is_string() && next["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty) {
            return Ok(Mutation::Delete);
        }
        Ok(Mutation::Put(next))
    })?;
    Ok(result.unwrap_or_else(|| committed(change)))
}

fn check_resource_version(rt: &ResourceType, current: &Value, next: &Value) -> Result<(), ApiError> {
    let name = meta_str(current, "name");
    match next["metadata"]["resourceVersion"].as_str().filter(|s| !s.is_empty()) {
        Some(rv) if rv != meta_str(current, "resourceVersion") => Err(ApiError::modified(rt, name)),
        Some(_) => Ok(()),
        None if rt.plural == "leases" => Err(ApiError::invalid_object(
            rt,
            name,
            vec![Cause::invalid_raw("metadata.resourceVersion", "0", "must be specified for an update")],
        )),
        None => Ok(()),
    }
}

/// A status update replaces status and nothing else.
fn prepare_status_update(rt: &ResourceType, current: &Value, body: &Value) -> Result<Value, ApiError> {
    check_resource_version(rt, current, body)?;
    let mut next = current.clone();
    next["status"] = body["status"].clone();
    if next["status"].is_null()
        && let Some(obj) = next.as_object_mut()
    {
        obj.remove("status");
    }
    Ok(next)
}

const PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";

/// Applies a PATCH. Returns 201 when an apply created the object.
#[allow(clippy::too_many_arguments)]
pub fn patch(
    store: &Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    content_type: &str,
    patch: &[u8],
    part: Part,
    opts: &WriteOptions,
    force: bool,
) -> Result<(axum::http::StatusCode, Value), ApiError> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let apply = media == "application/apply-patch+yaml";
    if force && !apply {
        return Err(ApiError::invalid("PatchOptions.meta.k8s.io", "", "", vec![Cause::forbidden("force", "may not be specified for non-apply patch")]));
    }
    let ok = axum::http::StatusCode::OK;
    match media {
        "application/json-patch+json" => {
            let ops: json_patch::Patch =
                serde_json::from_slice(patch).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if ops.0.len() > 10_000 {
                return Err(ApiError::too_large("The allowed maximum operations in a JSON patch is 10000, got more"));
            }
            let object = commit_update(store, rt, namespace, name, part, opts, |current| {
                let mut next = current.clone();
                json_patch::patch(&mut next, &null_tests_of_missing_paths_removed(current, &ops)).map_err(|_| rejected(rt, name))?;
                Ok(next)
            })?;
            Ok((ok, object))
        }
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            let doc: Value = serde_json::from_slice(patch).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            let strategic = media == "application/strategic-merge-patch+json";
            let object = commit_update(store, rt, namespace, name, part, opts, |current| {
                let mut next = current.clone();
                let doc = if strategic { strategic_finalizers(current, doc.clone()) } else { doc.clone() };
                json_patch::merge(&mut next, &doc);
                Ok(next)
            })?;
            Ok((ok, object))
        }
        "application/apply-patch+yaml" => {
            if !opts.manager_named {
                return Err(ApiError::invalid(
                    "PatchOptions.meta.k8s.io",
                    "",
                    "",
                    vec![Cause::required("fieldManager", Some("is required for apply patch"))],
                ));
            }
            let doc = super::api::parse_document(patch)?;
            let opts = WriteOptions { apply: true, ..opts.clone() };
            if !store.contains(&key(rt, namespace, name)) {
                let mut doc = doc;
                doc["metadata"]["name"] = json!(name);
                return Ok((axum::http::StatusCode::CREATED, create(store, rt, namespace, doc, &opts)?));
            }
            let object =
                commit_update(store, rt, namespace, name, part, &opts, |current| managed::apply(rt, current, &doc, &opts.manager, force))?;
            Ok((ok, object))
        }
        _ => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: {PATCH_TYPES}"
        ))),
    }
}

/// Strategic merge of `metadata.finalizers`, whose patch strategy is `merge`: the patch's entries
/// are added to the current ones, and `$deleteFromPrimitiveList/finalizers` removes entries. Every
/// other field of the kinds served here merges as in a JSON merge patch, or is atomic.
fn strategic_finalizers(current: &Value, mut patch: Value) -> Value {
    let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) else { return patch };
    let removed: Vec<Value> = meta.remove("$deleteFromPrimitiveList/finalizers").and_then(|v| v.as_array().cloned()).unwrap_or_default();
    let added = meta.get("finalizers").and_then(Value::as_array).cloned();
    if added.is_none() && removed.is_empty() {
        return patch;
    }
    let mut finalizers: Vec<Value> = current["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    for f in added.into_iter().flatten() {
        if !finalizers.contains(&f) {
            finalizers.push(f);
        }
    }
    finalizers.retain(|f| !removed.contains(f));
    meta.insert("finalizers".into(), Value::Array(finalizers));
    patch
}

/// Kubernetes' JSON patch (evanphx/json-patch) lets `{"op":"test","value":null}` pass on a path
/// that does not exist; kube-rs's finalizer helper relies on it. The json-patch crate fails such a
/// test, so those operations are dropped before applying.
fn null_tests_of_missing_paths_removed(current: &Value, ops: &json_patch::Patch) -> json_patch::Patch {
    let kept = ops
        .0
        .iter()
        .filter(|op| match op {
            json_patch::PatchOperation::Test(test) => !(test.value.is_null() && current.pointer(test.path.as_str()).is_none_or(Value::is_null)),
            _ => true,
        })
        .cloned()
        .collect();
    json_patch::Patch(kept)
}

fn rejected(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::invalid_object(rt, name, Vec::new()).with_message("the server rejected our request due to an error in our request")
}

/// Checks an update against the current state and carries over what the client cannot change.
fn prepare_update(rt: &ResourceType, current: &Value, mut next: Value, opts: &WriteOptions) -> Result<Value, ApiError> {
    let name = meta_str(current, "name");
    check_resource_version(rt, current, &next)?;
    let mut causes = Vec::new();
    for field in ["uid", "creationTimestamp"] {
        match next["metadata"][field].as_str() {
            Some(v) if v != meta_str(current, field) => causes.push(Cause::invalid(format!("metadata.{field}"), v, "field is immutable")),
            _ => next["metadata"][field] = current["metadata"][field].clone(),
        }
    }
    if rt.namespaced {
        next["metadata"]["namespace"] = current["metadata"]["namespace"].clone();
    }
    // Deletion is the server's; so is status where it has its own subresource.
    next["metadata"]["deletionTimestamp"] = current["metadata"]["deletionTimestamp"].clone();
    if rt.has_status {
        next["status"] = current["status"].clone();
    }
    if next["metadata"]["managedFields"].is_null() {
        next["metadata"]["managedFields"] = current["metadata"]["managedFields"].clone();
    }
    strip_nulls(&mut next["metadata"]);
    if let Some(obj) = next.as_object_mut() {
        obj.retain(|_, v| !v.is_null());
    }
    if rt.plural == "secrets" && rt.group.is_empty() {
        objects::apply_defaults(rt, &mut next);
        if next["type"] != current["type"] {
            causes.push(Cause::invalid("type", next["type"].as_str().unwrap_or_default(), "field is immutable"));
        }
        if current["immutable"] == json!(true) {
            if next["immutable"] != json!(true) {
                causes.push(Cause::forbidden("immutable", "field is immutable when `immutable` is set"));
            }
            if next["data"] != current["data"] {
                causes.push(Cause::forbidden("data", "field is immutable when `immutable` is set"));
            }
        }
    }
    causes.extend(validate(rt, &mut next, opts.strict)?);
    if !causes.is_empty() {
        return Err(ApiError::invalid_object(rt, name, causes));
    }
    if objects::tracks_generation(rt) {
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
        let bumped = if objects::desired_state_differs(current, &next) { generation + 1 } else { generation };
        next["metadata"]["generation"] = json!(bumped);
    }
    if !opts.apply {
        managed::record_update(rt, Some(current), &mut next, &opts.manager);
    }
    Ok(next)
}

fn strip_nulls(meta: &mut Value) {
    if let Some(meta) = meta.as_object_mut() {
        meta.retain(|_, v| !v.is_null());
    }
}

/// What a delete returns: the object (still present, being finalized) or its last state.
pub enum Deleted {
    Pending(Value),
    Gone(Value),
}

/// What a delete may require of the object (`DeleteOptions.preconditions`), and whether its body
/// asked for a dry run.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

/// Checks a `DeleteOptions` body: the propagation policy and its exclusive alternatives.
pub fn delete_preconditions(options: &Value, query_policy: Option<&str>) -> Result<Preconditions, ApiError> {
    let policy = options["propagationPolicy"].as_str().or(query_policy);
    let invalid = |cause: Cause| ApiError::invalid("DeleteOptions.meta.k8s.io", "", "", vec![cause]);
    if let Some(policy) = policy
        && !matches!(policy, "Foreground" | "Background" | "Orphan")
    {
        return Err(invalid(Cause::not_supported("propagationPolicy", policy, &["Foreground", "Background", "Orphan", "nil"])));
    }
    if policy.is_some() && !options["orphanDependents"].is_null() {
        return Err(invalid(Cause::invalid("propagationPolicy", policy.unwrap_or_default(), "orphanDependents and deletionPropagation cannot be both set")));
    }
    let dry_run = match options["dryRun"].as_array().map(Vec::as_slice) {
        None | Some([]) => false,
        Some([all]) if all == "All" => true,
        Some(other) => {
            let given = Value::Array(other.to_vec()).to_string();
            return Err(invalid(Cause::not_supported("dryRun", &given, &["All"])));
        }
    };
    let text = |k: &str| options["preconditions"][k].as_str().map(str::to_string);
    Ok(Preconditions { uid: text("uid"), resource_version: text("resourceVersion"), dry_run })
}

pub fn delete(
    store: &Store,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    opts: &WriteOptions,
    preconditions: &Preconditions,
) -> Result<Deleted, ApiError> {
    let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
    if is_namespace && PROTECTED_NAMESPACES.contains(&name) {
        return Err(ApiError::forbidden(rt, name, "this namespace may not be deleted"));
    }
    let key = key(rt, namespace, name);
    let mut outcome = None;
    let change = store.mutate::<ApiError>(&key, |current, _| {
        let current = current.ok_or_else(|| ApiError::not_found(rt, name))?;
        for (label, wanted, field) in [("UID", &preconditions.uid, "uid"), ("ResourceVersion", &preconditions.resource_version, "resourceVersion")] {
            if let Some(wanted) = wanted
                && wanted != meta_str(current, field)
            {
                let why = format!("Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {}", meta_str(current, field));
                return Err(ApiError::conflict(rt, name, &why));
            }
        }
        let has_finalizers = current["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty())
            || (is_namespace && current["spec"]["finalizers"].as_array().is_some_and(|f| !f.is_empty()));
        if !has_finalizers {
            if opts.dry_run {
                outcome = Some(Deleted::Gone(current.clone()));
                return Ok(Mutation::Unchanged);
            }
            return Ok(Mutation::Delete);
        }
        if current["metadata"]["deletionTimestamp"].is_string() {
            if is_namespace {
                return Err(ApiError::conflict(rt, name, "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."));
            }
            outcome = Some(Deleted::Pending(current.clone()));
            return Ok(Mutation::Unchanged);
        }
        let mut marked = current.clone();
        marked["metadata"]["deletionTimestamp"] = json!(objects::now_seconds());
        if is_namespace {
            marked["status"]["phase"] = json!("Terminating");
        }
        if opts.dry_run {
            outcome = Some(Deleted::Pending(marked));
            return Ok(Mutation::Unchanged);
        }
        Ok(Mutation::Put(marked))
    })?;
    if let Some(outcome) = outcome {
        return Ok(outcome);
    }
    let change = change.expect("a delete that is not dry-run commits a change");
    Ok(match change.kind {
        super::store::EventType::Deleted => Deleted::Gone(change.object.value()),
        _ => Deleted::Pending(change.object.value()),
    })
}

/// Removes the content of a terminating namespace, then the namespace itself, as the namespace
/// controller does. Objects with finalizers stay until their controllers release them.
pub fn finish_namespace(store: &Store, types: &[ResourceType], namespace: &str) -> Result<bool, ApiError> {
    let opts = WriteOptions { manager: "namespace-controller".into(), ..Default::default() };
    let mut remaining = 0;
    for rt in types.iter().filter(|t| t.namespaced) {
        let (_, items) = store.list(&rt.storage_id(), Some(namespace), None);
        for item in items {
            if let Deleted::Pending(_) = delete(store, rt, namespace, meta_str(&item.value(), "name"), &opts, &Preconditions::default())? {
                remaining += 1;
            }
        }
    }
    if remaining > 0 {
        return Ok(false);
    }
    let ns_type = namespaces_type();
    let key = key(&ns_type, "", namespace);
    store.mutate::<ApiError>(&key, |current, _| {
        let Some(current) = current else { return Ok(Mutation::Unchanged) };
        if current["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty()) {
            // Someone else's finalizer: drop ours and wait for theirs.
            let mut next = current.clone();
            next["spec"]["finalizers"] = json!([]);
            return Ok(if next == *current { Mutation::Unchanged } else { Mutation::Put(next) });
        }
        Ok(Mutation::Delete)
    })?;
    Ok(!store.contains(&key))
}

/// Removes every object of the types a deleted CRD defined.
pub fn delete_custom_resources(store: &Store, crd: &Value) -> Result<(), ApiError> {
    let storage_id = format!("{}/{}", crd["spec"]["group"].as_str().unwrap_or_default(), crd["spec"]["names"]["plural"].as_str().unwrap_or_default());
    let (_, objects) = store.list(&storage_id, None, None);
    for object in objects.iter().map(Stored::value) {
        let key = ObjectKey::new(storage_id.clone(), meta_str(&object, "namespace"), meta_str(&object, "name"));
        store.mutate::<ApiError>(&key, |_, _| Ok(Mutation::Delete))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategic_patches_merge_and_remove_finalizers() {
        let current = json!({"metadata": {"finalizers": ["a", "b"]}});
        let added = strategic_finalizers(&current, json!({"metadata": {"finalizers": ["c"]}}));
        assert_eq!(added["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let removed = strategic_finalizers(&current, json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}));
        assert_eq!(removed["metadata"], json!({"finalizers": ["b"]}));
        let untouched = json!({"metadata": {"labels": {"x": "y"}}});
        assert_eq!(strategic_finalizers(&current, untouched.clone()), untouched);
    }

    #[test]
    fn a_null_test_of_a_missing_path_passes_as_in_kubernetes() {
        let current = json!({"metadata": {"name": "x"}});
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
        ]))
        .unwrap();
        let mut next = current.clone();
        json_patch::patch(&mut next, &null_tests_of_missing_paths_removed(&current, &patch)).unwrap();
        assert_eq!(next["metadata"]["finalizers"], json!(["f"]));
    }
}
