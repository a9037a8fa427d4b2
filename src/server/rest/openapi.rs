//! The REST API's operations, each written once: the router is built from them and so is the
//! OpenAPI 3 document at `/api/v1/openapi.json`, whose schemas come from the Rust types (schemars).
//! A route cannot exist without being documented, nor be documented without existing.

use axum::http::Method;
use axum::routing::MethodRouter;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use crate::server::AppState;

type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

/// One method on one path, with what the document says of it.
pub struct Operation {
    pub method: Method,
    /// axum's path syntax, which is OpenAPI's: `/credentials/{namespace}/{name}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub route: MethodRouter<AppState>,
    body: Option<SchemaOf>,
    answer: (u16, Option<SchemaOf>),
    /// What the success answer is: JSON unless said otherwise.
    media_type: &'static str,
    query: Vec<(&'static str, &'static str)>,
}

impl Operation {
    pub fn new(method: Method, path: &'static str, summary: &'static str, route: MethodRouter<AppState>) -> Self {
        Operation { method, path, summary, route, body: None, answer: (204, None), media_type: "application/json", query: Vec::new() }
    }

    /// The JSON body it takes.
    pub fn takes<T: JsonSchema>(mut self) -> Self {
        self.body = Some(|generator| generator.subschema_for::<T>());
        self
    }

    /// Its success status and the JSON it answers with.
    pub fn answers<T: JsonSchema>(mut self, status: u16) -> Self {
        self.answer = (status, Some(|generator| generator.subschema_for::<T>()));
        self
    }

    /// Its success status and the text, not JSON, it answers with.
    pub fn answers_text(mut self, status: u16, media_type: &'static str) -> Self {
        self.answer = (status, Some(|generator| generator.subschema_for::<String>()));
        self.media_type = media_type;
        self
    }

    /// Query parameters it takes, with what each means; more with each call.
    pub fn query(mut self, parameters: &[(&'static str, &'static str)]) -> Self {
        self.query.extend_from_slice(parameters);
        self
    }

    fn document(&self, generator: &mut SchemaGenerator, error: &Value) -> Value {
        let mut parameters: Vec<Value> = path_parameters(self.path).map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})).collect();
        parameters.extend(self.query.iter().map(|(name, about)| json!({"name": name, "in": "query", "description": about, "schema": {"type": "string"}})));
        let mut responses = Map::new();
        let (status, schema) = self.answer;
        let success = match schema {
            Some(schema) => json!({"description": "OK", "content": {self.media_type: {"schema": schema(generator)}}}),
            None => json!({"description": "Done"}),
        };
        responses.insert(status.to_string(), success);
        responses.insert("default".into(), json!({"description": "An error: 401, 403, 404, 409, 422 (naming the field) or 503", "content": {"application/json": {"schema": error}}}));
        let mut operation = json!({"summary": self.summary, "parameters": parameters, "responses": responses, "security": [{"bearer": []}]});
        if let Some(body) = self.body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body(generator)}}});
        }
        operation
    }
}

/// The `{name}` parameters of a path.
pub fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.split_once('}').map(|(name, _)| name))
}

/// The OpenAPI 3 document of `operations`.
pub fn document(operations: &[Operation]) -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let error = json!({"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "integer", "description": "the HTTP status"},
        "message": {"type": "string"},
        "field": {"type": "string", "description": "the request field at fault, for 422"},
    }});
    let mut paths = Map::new();
    for operation in operations {
        let entry = paths.entry(operation.path).or_insert_with(|| json!({}));
        entry[operation.method.as_str().to_lowercase()] = operation.document(&mut generator, &error);
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Keyhold", "version": env!("CARGO_PKG_VERSION"),
            "description": "Credentials and project secrets. No response carries a secret value."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an API token (`keyhold user token`) or a Kubernetes token"}},
        },
    })
}
