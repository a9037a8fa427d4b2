//! A credential's life after it is made (issue 19): when it expires, what a change of values
//! restarts, what happened to it (its Activity), and what a connection test found. Pure and shared.

use serde::{Deserialize, Serialize};

use super::credential::FieldError;
use super::query::CredentialRow;

/// How many days before its expiry a credential warns (an Event, the table's status).
pub const WARN_DAYS: i64 = 14;
/// How many Activity entries a credential keeps; the oldest go first.
pub const KEEP_ACTIVITY: usize = 100;

/// Checks an "Expires on" date: `YYYY-MM-DD`, a real day.
pub fn check_expires_on(date: &str) -> Result<(), FieldError> {
    if expires_at(date).is_none() {
        return Err(FieldError::new("expiresOn", "Enter a date as YYYY-MM-DD"));
    }
    Ok(())
}

/// When a credential expiring on `date` stops working (seconds since the epoch, 00:00 UTC of that
/// day), if `date` is a real day.
pub fn expires_at(date: &str) -> Option<i64> {
    let (year, rest) = date.split_once('-')?;
    let (month, day) = rest.split_once('-')?;
    let (year, month, day): (i64, u32, u32) = (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let shaped = date.len() == 10 && (1970..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month[month as usize - 1];
    shaped.then(|| super::time::unix_seconds(&format!("{date}T00:00:00Z"))).flatten()
}

/// Where a credential stands against its "Expires on" date: it stops working at 00:00 UTC of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub enum Expiry {
    #[default]
    Never,
    Later,
    /// Within `WARN_DAYS`: the whole days left, rounded up (1 for "tomorrow").
    Soon(i64),
    Expired,
}

impl Expiry {
    /// Against the time `now` (seconds since the epoch).
    pub fn of(expires_on: Option<&str>, now: i64) -> Expiry {
        let Some(at) = expires_on.and_then(expires_at) else { return Expiry::Never };
        let left = at - now;
        match left {
            ..=0 => Expiry::Expired,
            _ if left <= WARN_DAYS * 86_400 => Expiry::Soon((left + 86_399) / 86_400),
            _ => Expiry::Later,
        }
    }

    /// The status a person reads: "Expires in 3 days", "Expired"; empty when far off or never.
    pub fn label(self) -> String {
        match self {
            Expiry::Soon(1) => "Expires in 1 day".into(),
            Expiry::Soon(days) => format!("Expires in {days} days"),
            Expiry::Expired => "Expired".into(),
            Expiry::Never | Expiry::Later => String::new(),
        }
    }

    /// The value the Expires filter picks by.
    pub fn bucket(self) -> &'static str {
        match self {
            Expiry::Never => "No expiry",
            Expiry::Later => "Expires later",
            Expiry::Soon(_) => "Expires within 14 days",
            Expiry::Expired => "Expired",
        }
    }
}

/// What to do with the workloads using a credential when its values change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema, clap::ValueEnum))]
pub enum Rollout {
    /// Workloads pick the values up as Kubernetes updates mounted files; env vars keep the old.
    #[default]
    Nothing,
    /// Restart the Deployments, StatefulSets and DaemonSets using it, as `kubectl rollout restart`.
    Restart,
}

/// The kinds a rollout restarts; the other users of a credential run again on their own.
pub const RESTARTED_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

/// What a rollout restarts, leaves, and cannot restart, each as `Kind/namespace/name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct RolloutPlan {
    pub restart: Vec<String>,
    /// Jobs, CronJobs and Pods: they pick the new value up on their next run.
    pub next_run: Vec<String>,
    /// Workloads the person may not patch (`Kind/namespace/name`), so Keyhold does not either.
    pub skipped: Vec<String>,
    /// Users in projects the person may not see: counted, never named, never restarted.
    #[serde(default)]
    pub unseen: usize,
    /// Not restarted because their namespace's copy did not hold the new values in time (a pod
    /// started then would start with the old ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_updated: Vec<String>,
}

impl RolloutPlan {
    /// Sorts a credential's users (`Kind/namespace/name`) into restarted and next-run ones; a
    /// workload `may_patch` refuses is skipped instead.
    pub fn sort(users: &[String], may_patch: impl Fn(&str) -> bool) -> RolloutPlan {
        let mut plan = RolloutPlan::default();
        for user in users {
            let kind = user.split('/').next().unwrap_or_default();
            match kind {
                _ if RESTARTED_KINDS.contains(&kind) && may_patch(user) => plan.restart.push(user.clone()),
                _ if RESTARTED_KINDS.contains(&kind) => plan.skipped.push(user.clone()),
                "Job" | "CronJob" | "Pod" => plan.next_run.push(user.clone()),
                // PodDefaults hand the credential to future notebooks: nothing runs to restart.
                _ => {}
            }
        }
        plan
    }

    /// The Activity's words for what a rollout did.
    pub fn described(&self) -> String {
        let mut parts = vec![format!("restarted {}", self.restart.len())];
        if !self.skipped.is_empty() {
            parts.push(format!("skipped {} (not allowed)", self.skipped.len()));
        }
        if !self.not_updated.is_empty() {
            parts.push(format!("{} not restarted (copy not updated yet)", self.not_updated.len()));
        }
        if !self.next_run.is_empty() {
            parts.push(format!("{} pick it up on their next run", self.next_run.len()));
        }
        parts.join(", ")
    }
}

/// The answer to new values: the credential as it now is, and what its rollout did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ValuesReplaced {
    #[serde(flatten)]
    pub credential: CredentialRow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutPlan>,
}

/// One thing that happened to a credential, as its Activity tab lists it. Never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct ActivityEntry {
    /// RFC 3339.
    pub at: String,
    /// One word: Created, Renamed, ValuesReplaced, Propagated, Drifted, Tested, Expiring, …
    pub action: String,
    /// Who did it; empty for what Keyhold's controller found.
    #[serde(default)]
    pub by: String,
    pub detail: String,
}

/// The longest detail an Activity entry keeps.
pub const MAX_DETAIL: usize = 400;

/// `entries` with `entry` added last, the oldest dropped beyond `KEEP_ACTIVITY`. The detail is cut
/// to `MAX_DETAIL` characters; an entry that repeats the last one (a test run again, a copy
/// restored again) moves its time instead of pushing older history out.
pub fn appended(mut entries: Vec<ActivityEntry>, mut entry: ActivityEntry) -> Vec<ActivityEntry> {
    if entry.detail.chars().count() > MAX_DETAIL {
        entry.detail = entry.detail.chars().take(MAX_DETAIL - 1).chain(['…']).collect();
    }
    if let Some(last) = entries.last_mut()
        && (&last.action, &last.by, &last.detail) == (&entry.action, &entry.by, &entry.detail)
    {
        last.at = entry.at;
        return entries;
    }
    entries.push(entry);
    let extra = entries.len().saturating_sub(KEEP_ACTIVITY);
    entries.drain(..extra);
    entries
}

/// What a connection test found: signed in or why not, and when. Never a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct TestOutcome {
    /// RFC 3339.
    pub at: String,
    pub ok: bool,
    pub message: String,
}

impl TestOutcome {
    /// The Activity's words for it.
    pub fn described(&self) -> String {
        format!("Connection test {}: {}", if self.ok { "passed" } else { "failed" }, self.message)
    }
}

/// A connection test of values not saved yet (the wizard's "Test connection"). `bucket`, for an
/// access key, asks for that bucket rather than the list of buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct TestValues {
    pub values: super::new_credential::SecretValues,
    #[serde(default)]
    pub bucket: String,
}

/// Whether values of this type can be tested against the service they sign in to.
pub fn testable(credential_type: super::credential::CredentialType) -> bool {
    use super::credential::CredentialType;
    matches!(credential_type, CredentialType::DockerRegistry | CredentialType::NgcApiKey | CredentialType::AccessKey)
}

/// A bucket name as S3 allows it (3 to 63 lower-case letters, digits, dots and dashes).
pub fn check_bucket(bucket: &str) -> Result<(), FieldError> {
    let ok = bucket.is_empty() || ((3..=63).contains(&bucket.len()) && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
    if ok { Ok(()) } else { Err(FieldError::new("bucket", "Use 3 to 63 lower-case letters, digits, dots and dashes")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn expiry_counts_whole_days_to_midnight_utc() {
        let now = super::super::time::unix_seconds("2026-11-29T22:00:00Z").unwrap();
        assert_eq!(Expiry::of(Some("2026-11-30"), now), Expiry::Soon(1));
        assert_eq!(Expiry::of(Some("2026-11-30"), now).label(), "Expires in 1 day");
        assert_eq!(Expiry::of(Some("2026-12-13"), now), Expiry::Soon(14));
        assert_eq!(Expiry::of(Some("2026-12-14"), now), Expiry::Later);
        assert_eq!(Expiry::of(Some("2026-11-29"), now), Expiry::Expired);
        assert_eq!(Expiry::of(None, now), Expiry::Never);
        assert_eq!(Expiry::of(Some("2026-11-30"), now + DAY).bucket(), "Expired");
    }

    #[test]
    fn dates_must_be_real_days() {
        assert!(check_expires_on("2028-02-29").is_ok());
        for wrong in ["2027-02-29", "2026-13-01", "2026-1-01", "tomorrow", "", "2026-11-31", "2026-11-30T00:00:00Z"] {
            assert_eq!(check_expires_on(wrong).unwrap_err().field, "expiresOn", "{wrong}");
        }
    }

    #[test]
    fn a_rollout_restarts_long_running_workloads_only_where_allowed() {
        let users: Vec<String> = ["Deployment/vision/train", "Deployment/nlp/serve", "Job/vision/once", "Pod/vision/p", "StatefulSet/vision/db", "PodDefault/vision/x"].map(String::from).into();
        let plan = RolloutPlan::sort(&users, |w| !w.contains("/nlp/"));
        assert_eq!(plan.restart, ["Deployment/vision/train", "StatefulSet/vision/db"]);
        assert_eq!(plan.skipped, ["Deployment/nlp/serve"]);
        assert_eq!(plan.next_run, ["Job/vision/once", "Pod/vision/p"]);
    }

    #[test]
    fn activity_keeps_the_newest_hundred() {
        let entry = |n: usize| ActivityEntry { at: n.to_string(), action: "Renamed".into(), by: String::new(), detail: format!("to {n}") };
        let entries = (0..KEEP_ACTIVITY + 5).fold(Vec::new(), |all, n| appended(all, entry(n)));
        assert_eq!(entries.len(), KEEP_ACTIVITY);
        assert_eq!(entries[0].at, "5");
        // The same entry again moves the last one's time: repeats cannot push history out.
        let again = ActivityEntry { at: "later".into(), ..entries[KEEP_ACTIVITY - 1].clone() };
        let entries = appended(entries, again);
        assert_eq!((entries.len(), entries[0].at.as_str(), entries[KEEP_ACTIVITY - 1].at.as_str()), (KEEP_ACTIVITY, "5", "later"));
        let long = appended(Vec::new(), ActivityEntry { detail: "x".repeat(5_000), ..entry(0) });
        assert_eq!(long[0].detail.chars().count(), MAX_DETAIL);
    }

    #[test]
    fn buckets_follow_s3_rules() {
        assert!(check_bucket("").is_ok());
        assert!(check_bucket("models-2026").is_ok());
        assert_eq!(check_bucket("Models").unwrap_err().field, "bucket");
        assert!(check_bucket("ab").is_err());
    }
}
