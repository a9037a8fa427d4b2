//! Times as the console shows them: "3 minutes ago", measured from the moment the server read its
//! data, so the server-rendered page and the hydrated one agree.

/// Seconds since the Unix epoch of an RFC 3339 UTC time (`2026-11-24T10:00:00Z`, fractions
/// allowed), as Kubernetes writes them.
pub fn unix_seconds(rfc3339: &str) -> Option<i64> {
    let b = rfc3339.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| rfc3339.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let zone = rfc3339[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if !(zone == "Z" || zone == "+00:00") || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// How long before `now` the time `then` was, in words; the date itself beyond a month.
pub fn ago(then: &str, now: &str) -> String {
    let (Some(t), Some(n)) = (unix_seconds(then), unix_seconds(now)) else { return then.to_string() };
    let seconds = (n - t).max(0);
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds {
        0..60 => "just now".to_string(),
        60..3_600 => plural(seconds / 60, "minute"),
        3_600..86_400 => plural(seconds / 3_600, "hour"),
        86_400..2_592_000 => plural(seconds / 86_400, "day"),
        _ => then.get(..10).unwrap_or(then).to_string(),
    }
}

/// The time of day of an RFC 3339 time, `HH:MM:SS` (UTC).
pub fn time_of_day(rfc3339: &str) -> &str {
    rfc3339.get(11..19).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_times_are_read() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2026-11-24T10:00:00.123456Z"), Some(1_795_514_400));
        assert_eq!(unix_seconds("2000-02-29T00:00:01+00:00"), Some(951_782_401));
        assert_eq!(unix_seconds("2026-11-24 10:00"), None);
    }

    #[test]
    fn ages_read_like_people_say_them() {
        let now = "2026-11-24T10:00:00Z";
        assert_eq!(ago("2026-11-24T09:59:30Z", now), "just now");
        assert_eq!(ago("2026-11-24T09:59:00Z", now), "1 minute ago");
        assert_eq!(ago("2026-11-24T07:00:00Z", now), "3 hours ago");
        assert_eq!(ago("2026-11-20T10:00:00Z", now), "4 days ago");
        assert_eq!(ago("2026-01-02T10:00:00Z", now), "2026-01-02");
        assert_eq!(time_of_day(now), "10:00:00");
    }
}
