//! Label and field selectors (k8s-api-contract.md §12).

use serde_json::Value;

use super::resources::ResourceType;
use super::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Exists(String),
    NotExists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Greater(String, i64),
    Less(String, i64),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<LabelRequirement>);

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_error(found: &str) -> ApiError {
    ApiError::bad_request(format!(
        "unable to parse requirement: found '{found}', expected: in, notin, =, ==, !=, gt, lt"
    ))
}

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        split_top_level(text).into_iter().map(|part| Self::requirement(part.trim())).collect::<Result<_, _>>().map(LabelSelector)
    }

    fn requirement(part: &str) -> Result<LabelRequirement, ApiError> {
        if let Some(key) = part.strip_prefix('!') {
            let key = key.trim();
            return if is_key(key) { Ok(LabelRequirement::NotExists(key.into())) } else { Err(parse_error(key)) };
        }
        for (op, build) in [
            ("==", LabelRequirement::Equals as fn(String, String) -> LabelRequirement),
            ("!=", LabelRequirement::NotEquals),
            ("=", LabelRequirement::Equals),
        ] {
            if let Some((key, value)) = part.split_once(op) {
                let (key, value) = (key.trim(), value.trim());
                if !is_key(key) {
                    return Err(parse_error(key));
                }
                return Ok(build(key.into(), value.into()));
            }
        }
        for (op, greater) in [(">", true), ("<", false)] {
            if let Some((key, value)) = part.split_once(op) {
                let n: i64 = value.trim().parse().map_err(|_| parse_error(value.trim()))?;
                let key = key.trim().to_string();
                return Ok(if greater { LabelRequirement::Greater(key, n) } else { LabelRequirement::Less(key, n) });
            }
        }
        let mut words = part.splitn(2, char::is_whitespace);
        let key = words.next().unwrap_or_default();
        let rest = words.next().map(str::trim).unwrap_or_default();
        if rest.is_empty() {
            return if is_key(key) { Ok(LabelRequirement::Exists(key.into())) } else { Err(parse_error(key)) };
        }
        let (op, values) = rest.split_once(char::is_whitespace).map(|(o, v)| (o, v.trim())).unwrap_or((rest, ""));
        let (op, values) = match rest.find('(') {
            Some(i) if op.len() > i => (rest[..i].trim(), &rest[i..]),
            _ => (op, values),
        };
        let negate = match op {
            "in" => false,
            "notin" => true,
            other => return Err(parse_error(other)),
        };
        let inner = values
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| ApiError::bad_request(format!("unable to parse requirement: found '{values}', expected: '('")))?;
        let values = inner.split(',').map(|v| v.trim().to_string()).collect();
        Ok(if negate { LabelRequirement::NotIn(key.into(), values) } else { LabelRequirement::In(key.into(), values) })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            LabelRequirement::Exists(k) => get(k).is_some(),
            LabelRequirement::NotExists(k) => get(k).is_none(),
            LabelRequirement::Equals(k, v) => get(k) == Some(v.as_str()),
            LabelRequirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            LabelRequirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelRequirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            LabelRequirement::Greater(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x > *n),
            LabelRequirement::Less(k, n) => get(k).and_then(|x| x.parse::<i64>().ok()).is_some_and(|x| x < *n),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn is_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

/// A parsed field selector: `field=value` and `field!=value` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(text: &str, rt: &ResourceType) -> Result<Self, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        let mut terms = Vec::new();
        for term in text.split(',') {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: '{text}'; can't understand '{term}'")));
            };
            let field = field.trim();
            if !supported_fields(rt).contains(&field) {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| (field_value(object, field) == *value) == *equal)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn supported_fields(rt: &ResourceType) -> &'static [&'static str] {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => &["metadata.name", "metadata.namespace", "type"],
        ("", "namespaces") => &["metadata.name", "status.phase"],
        // As the API server's EventToSelectableFields has them (`source` is the component).
        ("", "events") => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "pods") => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        _ => &["metadata.name", "metadata.namespace"],
    }
}

fn field_value(object: &Value, path: &str) -> String {
    let path = if path == "source" { "source.component" } else { path };
    let value = path.split('.').fold(object, |v, part| &v[part]);
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(selector: &str) -> Vec<&'static str> {
        let objects = [
            ("a", json!({"metadata": {"labels": {"env": "prod"}}})),
            ("b", json!({"metadata": {"labels": {"env": "dev"}}})),
            ("c", json!({"metadata": {"labels": {"legacy": "yes"}}})),
        ];
        let selector = LabelSelector::parse(selector).unwrap();
        objects.iter().filter(|(_, o)| selector.matches(o)).map(|(n, _)| *n).collect()
    }

    #[test]
    fn label_selectors_follow_kubernetes_semantics() {
        assert_eq!(names("env=prod"), ["a"]);
        assert_eq!(names("env==prod"), ["a"]);
        assert_eq!(names("env!=prod"), ["b", "c"]);
        assert_eq!(names("env in (prod,dev)"), ["a", "b"]);
        assert_eq!(names("env notin (prod)"), ["b", "c"]);
        assert_eq!(names("env"), ["a", "b"]);
        assert_eq!(names("!env"), ["c"]);
        assert_eq!(names("env=prod,!legacy"), ["a"]);
        assert_eq!(names(""), ["a", "b", "c"]);
    }

    #[test]
    fn a_malformed_label_selector_is_a_bad_request() {
        let err = LabelSelector::parse("a b").unwrap_err();
        assert_eq!(err.code.as_u16(), 400);
        assert_eq!(err.message, "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
    }

    #[test]
    fn field_selectors_check_their_fields() {
        let types = super::super::resources::builtin_types();
        let secrets = super::super::resources::find(&types, "", "v1", "secrets").unwrap();
        let tls = FieldSelector::parse("type=kubernetes.io/tls", secrets).unwrap();
        assert!(tls.matches(&json!({"type": "kubernetes.io/tls"})));
        assert!(!tls.matches(&json!({"type": "Opaque"})));
        assert!(FieldSelector::parse("metadata.name=s2", secrets).unwrap().matches(&json!({"metadata": {"name": "s2"}})));
        let events = super::super::resources::find(&types, "", "v1", "events").unwrap();
        let event = json!({"reason": "ExpiresSoon", "source": {"component": "keyhold"}, "involvedObject": {"kind": "Credential"}});
        assert!(FieldSelector::parse("reason=ExpiresSoon,source=keyhold,involvedObject.kind=Credential", events).unwrap().matches(&event));
        assert!(!FieldSelector::parse("reason=Drifted", events).unwrap().matches(&event));
        let err = FieldSelector::parse("data.x=y", secrets).unwrap_err();
        assert_eq!(err.message, "field label not supported: data.x");
    }
}
