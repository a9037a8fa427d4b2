//! Project secrets (DESIGN.md §2, the MLRun-style Settings > Secrets): one Secret per project with
//! many keys. Key names are shown to everyone with a role in the project; values go in and never
//! come out. The rules for a key and value, and the `.env` import, are here so the browser checks
//! as the server does.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::credential::{FieldError, MAX_SECRET_BYTES, check_key};

/// What the Secrets tab and the API show of a project's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectSecretKeys {
    pub project: String,
    pub keys: Vec<String>,
    /// Whether the reader may add, replace and delete keys.
    pub may_change: bool,
}

/// One key and its new value. `Debug` leaves the value out, so a log line cannot hold one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct SecretEntry {
    pub key: String,
    pub value: String,
}

impl std::fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretEntry").field("key", &self.key).finish_non_exhaustive()
    }
}

impl SecretEntry {
    /// Every rule the entry breaks, naming `key` or `value`.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems: Vec<FieldError> = check_key("key", &self.key).err().into_iter().collect();
        if self.value.len() > MAX_SECRET_BYTES {
            problems.push(FieldError::new("value", "A value may hold at most 1 MiB"));
        }
        problems
    }
}

/// Reads `.env`-style text: `KEY=VALUE` lines, `export KEY=VALUE`, blank lines and `#` comments,
/// values in single quotes (taken as written) or double quotes (`\n`, `\"`, `\\` escapes), a
/// trailing ` # comment` after an unquoted value. Every line is checked before anything is
/// returned; the first bad one is named by its number, never by its text (a value pasted where a
/// key belongs would be repeated otherwise). Linear in the text: duplicates go through a set.
pub fn parse_env_file(text: &str) -> Result<Vec<SecretEntry>, FieldError> {
    let mut entries: Vec<SecretEntry> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let bad = |why: &str| FieldError::new("file", format!("Line {line_no}: {why}"));
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else { return Err(bad("expected KEY=VALUE")) };
        let key = key.trim();
        if let Err(problem) = check_key("key", key) {
            return Err(bad(&format!("the key is not valid: {}", problem.message)));
        }
        let value = unquote(value.trim()).ok_or_else(|| bad("a quote is not closed"))?;
        if !seen.insert(key) {
            return Err(bad("this key appears on an earlier line too"));
        }
        entries.push(SecretEntry { key: key.to_string(), value });
    }
    if entries.is_empty() {
        return Err(FieldError::new("file", "There is no KEY=VALUE line"));
    }
    let size: usize = entries.iter().map(|e| e.value.len()).sum();
    if size > MAX_SECRET_BYTES {
        return Err(FieldError::new("file", "The values together exceed Kubernetes' limit of 1 MiB"));
    }
    Ok(entries)
}

fn unquote(value: &str) -> Option<String> {
    if let Some(rest) = value.strip_prefix('\'') {
        return rest.strip_suffix('\'').map(str::to_string);
    }
    if let Some(rest) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return chars.as_str().trim_start().is_empty_or_comment().then_some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        return None;
    }
    Some(match value.find(" #") {
        Some(comment) => value[..comment].trim_end().to_string(),
        None => value.to_string(),
    })
}

trait CommentTail {
    fn is_empty_or_comment(&self) -> bool;
}

impl CommentTail for str {
    /// What may follow a closing quote: nothing, or a comment.
    fn is_empty_or_comment(&self) -> bool {
        self.is_empty() || self.starts_with('#')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_env_file(text).unwrap().into_iter().map(|e| (e.key, e.value)).collect()
    }

    #[test]
    fn env_lines_comments_quotes_and_export() {
        let text = "# tokens\n\nAPI_TOKEN=abc\nexport DB_URL = postgres://u@h/db # the database\nQUOTED=\"a \\\"b\\\"\\nc\" # x\nRAW='$HOME # not a comment'\nEMPTY=\n";
        assert_eq!(
            pairs(text),
            [
                ("API_TOKEN".into(), "abc".into()),
                ("DB_URL".into(), "postgres://u@h/db".into()),
                ("QUOTED".into(), "a \"b\"\nc".into()),
                ("RAW".into(), "$HOME # not a comment".into()),
                ("EMPTY".into(), String::new()),
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_by_number_and_never_quoted() {
        let message = |text: &str| parse_env_file(text).unwrap_err().message;
        assert_eq!(message("A=1\nno equals sign canary\n"), "Line 2: expected KEY=VALUE");
        assert_eq!(message("A=1\nbad key=canary\n"), "Line 2: the key is not valid: Use only letters, digits, '-', '_' and '.'");
        assert_eq!(message("A=\"canary\n"), "Line 1: a quote is not closed");
        assert_eq!(message("A=1\nA=2\n"), "Line 2: this key appears on an earlier line too");
        assert_eq!(message("=canary\n"), "Line 1: the key is not valid: Enter a key");
        assert_eq!(message("# nothing\n"), "There is no KEY=VALUE line");
    }

    /// A value pasted where a key belongs, or as a key twice, is never repeated back.
    #[test]
    fn no_message_repeats_the_text() {
        const CANARY: &str = "S3cr3tCanary";
        for text in [
            format!("postgres://app:{CANARY}@db/x=1\n"),
            format!("{CANARY}=1\n{CANARY}=2\n"),
            format!("{CANARY} {CANARY}\n"),
            format!("A=\"{CANARY}\n"),
            format!("export ..{CANARY} = x\n"),
            format!("A{}=x\n", CANARY.repeat(30)),
        ] {
            let message = parse_env_file(&text).unwrap_err().to_string();
            assert!(!message.contains(CANARY), "{message}");
        }
    }

    #[test]
    fn many_distinct_keys_are_read() {
        let text: String = (0..10_000).map(|i| format!("KEY_{i}=v\n")).collect();
        assert_eq!(parse_env_file(&text).unwrap().len(), 10_000);
    }

    #[test]
    fn entries_follow_the_key_rules_and_hide_their_value() {
        let entry = SecretEntry { key: "bad key".into(), value: "canary-41".into() };
        assert_eq!(entry.problems()[0].field, "key");
        assert!(!format!("{entry:?}").contains("canary-41"));
    }
}
