//! Decoding of Kubernetes' protobuf request bodies into JSON objects.
//!
//! kubectl's typed clients (`kubectl create namespace|secret|configmap|role…`, `kubectl auth can-i`)
//! send `application/vnd.kubernetes.protobuf` and do not retry with JSON. The body is the magic
//! `k8s\0` and a `runtime.Unknown` envelope whose `raw` field holds the object. Each kind kubectl
//! creates this way is described below by its field numbers (from k8s.io/api's generated.proto);
//! unknown fields are skipped. Responses are always JSON, which kubectl also accepts.

use base64::Engine;
use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

/// How one protobuf field maps to JSON.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Int,
    Msg(&'static [F]),
    RepeatedStr,
    RepeatedMsg(&'static [F]),
    MapStr,
    MapBytes,
    /// map<string, ExtraValue{repeated string items = 1}> (SubjectAccessReview extra).
    MapStrList,
    /// meta.v1.MicroTime: {int64 seconds = 1, int32 nanos = 2}, six fractional digits in JSON.
    MicroTime,
}

type F = (u32, &'static str, Kind);

const OWNER_REFERENCE: &[F] = &[
    (1, "kind", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "controller", Kind::Bool),
    (7, "blockOwnerDeletion", Kind::Bool),
];
const OBJECT_META: &[F] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (11, "labels", Kind::MapStr),
    (12, "annotations", Kind::MapStr),
    (13, "ownerReferences", Kind::RepeatedMsg(OWNER_REFERENCE)),
    (14, "finalizers", Kind::RepeatedStr),
];
const META: F = (1, "metadata", Kind::Msg(OBJECT_META));
const NAMESPACE: &[F] = &[META, (2, "spec", Kind::Msg(&[(1, "finalizers", Kind::RepeatedStr)]))];
const SECRET: &[F] =
    &[META, (2, "data", Kind::MapBytes), (3, "type", Kind::Str), (4, "stringData", Kind::MapStr), (5, "immutable", Kind::Bool)];
const CONFIG_MAP: &[F] = &[META, (2, "data", Kind::MapStr), (3, "binaryData", Kind::MapBytes), (4, "immutable", Kind::Bool)];
const LOCAL_REFERENCE: &[F] = &[(1, "name", Kind::Str)];
const SERVICE_ACCOUNT: &[F] = &[
    META,
    (3, "imagePullSecrets", Kind::RepeatedMsg(LOCAL_REFERENCE)),
    (4, "automountServiceAccountToken", Kind::Bool),
];
const POLICY_RULE: &[F] = &[
    (1, "verbs", Kind::RepeatedStr),
    (2, "apiGroups", Kind::RepeatedStr),
    (3, "resources", Kind::RepeatedStr),
    (4, "resourceNames", Kind::RepeatedStr),
    (5, "nonResourceURLs", Kind::RepeatedStr),
];
const ROLE: &[F] = &[META, (2, "rules", Kind::RepeatedMsg(POLICY_RULE))];
const SUBJECT: &[F] = &[(1, "kind", Kind::Str), (2, "apiGroup", Kind::Str), (3, "name", Kind::Str), (4, "namespace", Kind::Str)];
const ROLE_REF: &[F] = &[(1, "apiGroup", Kind::Str), (2, "kind", Kind::Str), (3, "name", Kind::Str)];
const BINDING: &[F] = &[META, (2, "subjects", Kind::RepeatedMsg(SUBJECT)), (3, "roleRef", Kind::Msg(ROLE_REF))];
const RESOURCE_ATTRIBUTES: &[F] = &[
    (1, "namespace", Kind::Str),
    (2, "verb", Kind::Str),
    (3, "group", Kind::Str),
    (4, "version", Kind::Str),
    (5, "resource", Kind::Str),
    (6, "subresource", Kind::Str),
    (7, "name", Kind::Str),
];
const NON_RESOURCE_ATTRIBUTES: &[F] = &[(1, "path", Kind::Str), (2, "verb", Kind::Str)];
const SELF_SAR: &[F] = &[
    META,
    (
        2,
        "spec",
        Kind::Msg(&[(1, "resourceAttributes", Kind::Msg(RESOURCE_ATTRIBUTES)), (2, "nonResourceAttributes", Kind::Msg(NON_RESOURCE_ATTRIBUTES))]),
    ),
];
const SAR: &[F] = &[
    META,
    (
        2,
        "spec",
        Kind::Msg(&[
            (1, "resourceAttributes", Kind::Msg(RESOURCE_ATTRIBUTES)),
            (2, "nonResourceAttributes", Kind::Msg(NON_RESOURCE_ATTRIBUTES)),
            (3, "user", Kind::Str),
            (4, "groups", Kind::RepeatedStr),
            (5, "extra", Kind::MapStrList),
            (6, "uid", Kind::Str),
        ]),
    ),
];
const TOKEN_REVIEW: &[F] = &[META, (2, "spec", Kind::Msg(&[(1, "token", Kind::Str), (2, "audiences", Kind::RepeatedStr)]))];
const LEASE: &[F] = &[
    META,
    (
        2,
        "spec",
        Kind::Msg(&[
            (1, "holderIdentity", Kind::Str),
            (2, "leaseDurationSeconds", Kind::Int),
            (3, "acquireTime", Kind::MicroTime),
            (4, "renewTime", Kind::MicroTime),
            (5, "leaseTransitions", Kind::Int),
        ]),
    ),
];
const DELETE_OPTIONS: &[F] = &[(1, "gracePeriodSeconds", Kind::Int), (4, "propagationPolicy", Kind::Str), (5, "dryRun", Kind::RepeatedStr)];

fn schema(kind: &str) -> Option<&'static [F]> {
    Some(match kind {
        "Namespace" => NAMESPACE,
        "Secret" => SECRET,
        "ConfigMap" => CONFIG_MAP,
        "ServiceAccount" => SERVICE_ACCOUNT,
        "Role" | "ClusterRole" => ROLE,
        "RoleBinding" | "ClusterRoleBinding" => BINDING,
        "SelfSubjectAccessReview" => SELF_SAR,
        "SubjectAccessReview" | "LocalSubjectAccessReview" => SAR,
        "TokenReview" => TOKEN_REVIEW,
        "SelfSubjectReview" => &[META],
        "Lease" => LEASE,
        "DeleteOptions" => DELETE_OPTIONS,
        _ => return None,
    })
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtobufError {
    #[error("not a Kubernetes protobuf body")]
    NoMagic,
    #[error("truncated or malformed protobuf")]
    Malformed,
    #[error("the protobuf encoding of {0} is not supported; send JSON")]
    Unsupported(String),
}

/// A protobuf reader over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
}

enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skipped,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.buf.split_first().ok_or(ProtobufError::Malformed)?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::Malformed)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        if n > self.buf.len() {
            return Err(ProtobufError::Malformed);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next field: its number and value.
    fn field(&mut self) -> Result<Option<(u32, Wire<'a>)>, ProtobufError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| ProtobufError::Malformed)?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Skipped
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Malformed)?;
                Wire::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Wire::Skipped
            }
            _ => return Err(ProtobufError::Malformed),
        };
        Ok(Some((number, wire)))
    }
}

fn text(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ProtobufError::Malformed)
}

/// A map entry: key = 1, value = 2.
fn entry(bytes: &[u8]) -> Result<(String, &[u8]), ProtobufError> {
    let mut reader = Reader { buf: bytes };
    let (mut key, mut value) = (String::new(), &[][..]);
    while let Some((number, wire)) = reader.field()? {
        match (number, wire) {
            (1, Wire::Bytes(b)) => key = text(b)?,
            (2, Wire::Bytes(b)) => value = b,
            _ => {}
        }
    }
    Ok((key, value))
}

fn micro_time(bytes: &[u8]) -> Result<Value, ProtobufError> {
    let mut reader = Reader { buf: bytes };
    let (mut seconds, mut nanos) = (0i64, 0i32);
    while let Some((number, wire)) = reader.field()? {
        match (number, wire) {
            (1, Wire::Varint(v)) => seconds = v as i64,
            (2, Wire::Varint(v)) => nanos = v as i32,
            _ => {}
        }
    }
    let ts = jiff::Timestamp::new(seconds, nanos).map_err(|_| ProtobufError::Malformed)?;
    Ok(json!(ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()))
}

fn message(bytes: &[u8], fields: &[F]) -> Result<Value, ProtobufError> {
    let mut out = Map::new();
    let mut reader = Reader { buf: bytes };
    while let Some((number, wire)) = reader.field()? {
        let Some(&(_, name, kind)) = fields.iter().find(|f| f.0 == number) else { continue };
        let name = name.to_string();
        match (kind, wire) {
            // Go writes empty strings on the wire; JSON omits them, as the API server does.
            (Kind::Str, Wire::Bytes(b)) => {
                if !b.is_empty() {
                    out.insert(name, json!(text(b)?));
                }
            }
            (Kind::Bool, Wire::Varint(v)) => {
                out.insert(name, json!(v != 0));
            }
            // Likewise zero numbers (an unset generation, say).
            (Kind::Int, Wire::Varint(v)) => {
                if v != 0 {
                    out.insert(name, json!(v as i64));
                }
            }
            (Kind::Msg(schema), Wire::Bytes(b)) => {
                out.insert(name, message(b, schema)?);
            }
            (Kind::MicroTime, Wire::Bytes(b)) => {
                out.insert(name, micro_time(b)?);
            }
            (Kind::RepeatedStr, Wire::Bytes(b)) => push(&mut out, name, json!(text(b)?)),
            (Kind::RepeatedMsg(schema), Wire::Bytes(b)) => push(&mut out, name, message(b, schema)?),
            (Kind::MapStr, Wire::Bytes(b)) => {
                let (k, v) = entry(b)?;
                insert(&mut out, name, k, json!(text(v)?));
            }
            (Kind::MapBytes, Wire::Bytes(b)) => {
                let (k, v) = entry(b)?;
                insert(&mut out, name, k, json!(base64::engine::general_purpose::STANDARD.encode(v)));
            }
            (Kind::MapStrList, Wire::Bytes(b)) => {
                let (k, v) = entry(b)?;
                let items = message(v, &[(1, "items", Kind::RepeatedStr)])?;
                insert(&mut out, name, k, items.get("items").cloned().unwrap_or(json!([])));
            }
            _ => return Err(ProtobufError::Malformed),
        }
    }
    Ok(Value::Object(out))
}

fn push(out: &mut Map<String, Value>, name: String, value: Value) {
    if let Value::Array(items) = out.entry(name).or_insert_with(|| json!([])) {
        items.push(value);
    }
}

fn insert(out: &mut Map<String, Value>, name: String, key: String, value: Value) {
    if let Value::Object(map) = out.entry(name).or_insert_with(|| json!({})) {
        map.insert(key, value);
    }
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into the JSON object it encodes.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
    let mut reader = Reader { buf: envelope };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    while let Some((number, wire)) = reader.field()? {
        match (number, wire) {
            (1, Wire::Bytes(type_meta)) => {
                let meta = message(type_meta, &[(1, "apiVersion", Kind::Str), (2, "kind", Kind::Str)])?;
                api_version = meta["apiVersion"].as_str().unwrap_or_default().to_string();
                kind = meta["kind"].as_str().unwrap_or_default().to_string();
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let fields = schema(&kind).ok_or_else(|| ProtobufError::Unsupported(kind.clone()))?;
    let mut object = message(raw, fields)?;
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a length-delimited field.
    fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, api_version.as_bytes()), field(2, kind.as_bytes())].concat();
        [MAGIC.to_vec(), field(1, &type_meta), field(2, raw)].concat()
    }

    #[test]
    fn a_secret_is_decoded_to_its_json_form() {
        let labels = field(11, &[field(1, b"app"), field(2, b"web")].concat());
        let meta = [field(1, b"s1"), field(3, b"t1"), labels].concat();
        let data = field(2, &[field(1, b"token"), field(2, b"\x00\xffsecret")].concat());
        let raw = [field(1, &meta), data, field(3, b"Opaque")].concat();
        let object = decode(&envelope("v1", "Secret", &raw)).unwrap();
        assert_eq!(
            object,
            json!({
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "s1", "namespace": "t1", "labels": {"app": "web"}},
                "data": {"token": base64::engine::general_purpose::STANDARD.encode(b"\x00\xffsecret")},
            })
        );
    }

    #[test]
    fn unsupported_kinds_and_garbage_are_refused() {
        assert_eq!(decode(b"{}"), Err(ProtobufError::NoMagic));
        assert_eq!(decode(&envelope("apps/v1", "Deployment", &[])), Err(ProtobufError::Unsupported("Deployment".into())));
        assert_eq!(decode(&[MAGIC, &[0x0a, 0x05, 0x01]].concat()), Err(ProtobufError::Malformed));
    }
}
