//! The API contract, checked on every request the tests make.
//!
//! [`layer`] sits in front of the test server's router, so each request and
//! response of every test that uses [`super::spawn_app`] passes through
//! [`Contract::check`], against the OpenAPI document the server serves:
//! - the response status is documented for the operation;
//! - a documented JSON body is JSON and valid against its schema (types,
//!   enums, `required`, nullability, formats), and objects carry no field the
//!   document does not list (a field added to a domain type and not in the
//!   document fails);
//! - a documented empty response (204) is empty;
//! - a JSON request body that the document rejects is rejected by the server
//!   too (a 2xx for it means the document is narrower than the server).
//!
//! Violations are collected per test server and fail the test when the server
//! is dropped (see `TestApp`'s `Drop`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use jsonschema::Validator;
use serde_json::{Value, json};

/// What one operation accepts and answers.
struct Operation {
    method: String,
    /// The path under the server root, split on `/`; `None` is a `{param}`.
    segments: Vec<Option<String>>,
    request: Option<Arc<Validator>>,
    /// By status: what the body is.
    responses: HashMap<u16, Documented>,
}

/// A documented response body.
enum Documented {
    Empty,
    Json(Arc<Validator>),
    /// Bytes (a file): any non-JSON content.
    Bytes,
    /// A CSV export.
    Csv,
}

pub struct Contract {
    operations: Vec<Operation>,
}

/// The served document's contract, built once per test binary.
pub fn served() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let doc = serde_json::to_value(server::api::openapi::spec()).expect("document as JSON");
        Contract::new(&doc)
    })
}

impl Contract {
    /// Compiles every operation of `doc` (an OpenAPI 3.1 document).
    pub fn new(doc: &Value) -> Self {
        let mut parts = std::collections::HashSet::new();
        composed_parts(doc, &mut parts);
        let mut components = doc["components"]["schemas"].clone();
        for (name, schema) in components.as_object_mut().expect("schemas") {
            close(schema, parts.contains(name));
        }
        let mut cache: HashMap<String, Arc<Validator>> = HashMap::new();
        let mut compile = |schema: &Value| -> Arc<Validator> {
            let key = schema.to_string();
            cache
                .entry(key)
                .or_insert_with(|| {
                    let mut root = strict(schema.clone());
                    let object = root.as_object_mut().expect("a schema object");
                    object.insert("components".to_owned(), json!({ "schemas": components.clone() }));
                    Arc::new(
                        jsonschema::draft202012::options()
                            .should_validate_formats(true)
                            .build(&root)
                            .unwrap_or_else(|e| panic!("schema does not compile ({e}): {schema}")),
                    )
                })
                .clone()
        };
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let request = op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|_| compile(&op["requestBody"]["content"]["application/json"]["schema"]));
                let mut responses = HashMap::new();
                for (status, response) in op["responses"].as_object().expect("responses") {
                    let status: u16 =
                        status.parse().unwrap_or_else(|_| panic!("{method} {path}: status {status}"));
                    let response = match response["$ref"].as_str() {
                        Some(r) => {
                            let name =
                                r.strip_prefix("#/components/responses/").expect("a response reference");
                            &doc["components"]["responses"][name]
                        }
                        None => response,
                    };
                    let content = response["content"].as_object();
                    let body = match content {
                        None => Documented::Empty,
                        Some(content) => match content.get("application/json") {
                            Some(json) => Documented::Json(compile(&json["schema"])),
                            None if content.contains_key("application/octet-stream") => Documented::Bytes,
                            None if content.contains_key("text/csv") => Documented::Csv,
                            None => {
                                panic!("{method} {path} {status}: only JSON, CSV and bytes are documented")
                            }
                        },
                    };
                    responses.insert(status, body);
                }
                let segments = path
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                operations.push(Operation { method: method.to_uppercase(), segments, request, responses });
            }
        }
        Self { operations }
    }

    /// The operation serving `method path`: among the templates that match,
    /// the one with the most literal segments.
    fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let parts: Vec<&str> = path.split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method == method && op.segments.len() == parts.len())
            .filter(|op| {
                op.segments.iter().zip(&parts).all(|(segment, part)| match segment {
                    Some(literal) => literal == part,
                    None => !part.is_empty(),
                })
            })
            .max_by_key(|op| op.segments.iter().filter(|s| s.is_some()).count())
    }

    /// Whether `method path` is a documented operation.
    pub fn documents(&self, method: &str, path: &str) -> bool {
        self.operation(method, path).is_some()
    }

    /// The violations of one exchange; empty when it keeps the contract.
    /// Paths that are no documented operation (unknown routes) are not
    /// checked here: the route table test covers them.
    pub fn check(&self, exchange: &Exchange<'_>) -> Vec<String> {
        let Exchange { method, path, request, status, content_type, body } = exchange;
        let Some(op) = self.operation(method, path) else { return Vec::new() };
        let what = format!("{method} {path} → {status}");
        let mut violations = Vec::new();
        if let (Some(validator), Some(request)) = (&op.request, request)
            && (200..300).contains(status)
            && let Some(errors) = errors(validator, request)
        {
            violations
                .push(format!("{what}: the server accepted a request body the document rejects: {errors}"));
        }
        let Some(documented) = op.responses.get(status) else {
            let mut listed: Vec<_> = op.responses.keys().collect();
            listed.sort();
            violations
                .push(format!("{what}: status {status} is not documented (documented: {listed:?}): {body}"));
            return violations;
        };
        match documented {
            Documented::Empty if !body.is_empty() => {
                violations.push(format!("{what}: documented without a body, but sent {body:?}"));
            }
            Documented::Empty => {}
            Documented::Bytes => {
                if content_type.is_none_or(|t| t.starts_with("application/json")) {
                    violations.push(format!("{what}: documented as a file, sent {content_type:?}"));
                }
            }
            Documented::Csv => {
                if content_type.is_none_or(|t| !t.starts_with("text/csv")) {
                    violations.push(format!("{what}: documented as CSV, sent {content_type:?}"));
                }
            }
            Documented::Json(validator) => {
                if content_type.is_none_or(|t| !t.starts_with("application/json")) {
                    violations.push(format!("{what}: documented as JSON, sent {content_type:?}: {body}"));
                } else {
                    match serde_json::from_str::<Value>(body) {
                        Err(e) => violations.push(format!("{what}: not JSON ({e}): {body}")),
                        Ok(value) => {
                            if let Some(errors) = errors(validator, &value) {
                                violations
                                    .push(format!("{what}: the body breaks the document: {errors}\n{body}"));
                            }
                        }
                    }
                }
            }
        }
        violations
    }
}

/// One request and its response, as [`Contract::check`] reads them.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The request's body, when it was JSON.
    pub request: Option<&'a Value>,
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub body: &'a str,
}

fn errors(validator: &Validator, value: &Value) -> Option<String> {
    let errors: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// `schema` with every object that lists its properties closed to others:
/// the document is the whole contract, so an unlisted field is a violation.
/// A composition (`allOf`, serde's `flatten`) is closed as a whole with
/// `unevaluatedProperties`, which counts the properties of all its parts;
/// its parts themselves stay open, or each would refuse the others' fields.
fn strict(mut schema: Value) -> Value {
    close(&mut schema, false);
    schema
}

fn close(value: &mut Value, part_of_composition: bool) {
    match value {
        Value::Object(object) => {
            if object.contains_key("allOf") {
                object.entry("unevaluatedProperties").or_insert(Value::Bool(false));
            } else if object.contains_key("properties")
                && !object.contains_key("additionalProperties")
                && !part_of_composition
            {
                object.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            for (key, child) in object.iter_mut() {
                match (key.as_str(), child) {
                    ("allOf", Value::Array(parts)) => parts.iter_mut().for_each(|p| close(p, true)),
                    (_, child) => close(child, false),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| close(v, false)),
        _ => {}
    }
}

/// The names of the components used as parts of a composition: they stay
/// open (see [`strict`]).
fn composed_parts(value: &Value, found: &mut std::collections::HashSet<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(parts)) = object.get("allOf") {
                for part in parts {
                    if let Some(name) =
                        part["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        found.insert(name.to_owned());
                    }
                }
            }
            object.values().for_each(|v| composed_parts(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| composed_parts(v, found)),
        _ => {}
    }
}

/// Where a test server's violations go.
pub type Violations = Arc<Mutex<Vec<String>>>;

/// The middleware: buffers the request and the response of every
/// `/api/v1` call and records what breaks the contract.
pub async fn layer(State(violations): State<Violations>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().as_str().to_owned();
    if !path.starts_with("/api/v1/") || !served().documents(&method, &path) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let is_json = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let bytes = to_bytes(body, usize::MAX).await.expect("request body");
    let sent: Option<Value> = if is_json { serde_json::from_slice(&bytes).ok() } else { None };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.expect("response body");
    let text = String::from_utf8_lossy(&bytes);
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
    let found = served().check(&Exchange {
        method: &method,
        path: &path,
        request: sent.as_ref(),
        status: parts.status.as_u16(),
        content_type,
        body: &text,
    });
    if !found.is_empty() {
        for violation in &found {
            eprintln!("API contract violation: {violation}");
        }
        violations.lock().expect("violations").extend(found);
    }
    Response::from_parts(parts, Body::from(bytes))
}
