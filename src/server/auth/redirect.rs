//! Where a person goes after signing in: the `next` they arrived with, only if it stays on this
//! site. Browsers drop tabs and newlines from a `Location` and some read `\` as `/`, so the test is
//! made on what a browser would see, not on the raw text.

use percent_encoding::percent_decode_str;

/// `next` when it is a path on this site (a single `/` followed by anything but `/` or `\`, once
/// percent-decoded and with tabs and newlines dropped), else `/`. The sign-in page itself is not
/// a destination, so signing in cannot loop back to it.
pub fn after_sign_in(next: &str) -> &str {
    let seen: String = percent_decode_str(next).decode_utf8_lossy().chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let mut chars = seen.chars();
    let local = chars.next() == Some('/') && chars.next().is_some_and(|c| c != '/' && c != '\\');
    // It goes out as a header as it is, so it must be printable and unspaced as well.
    let plain = next.chars().all(|c| c.is_ascii_graphic());
    let sign_in_page = seen == "/login" || seen.starts_with("/login?") || seen.starts_with("/login/");
    if local && plain && !sign_in_page { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_followed() {
        for good in ["/projects", "/projects?x=1", "/credentials/vision/db%20login", "/loginx"] {
            assert_eq!(after_sign_in(good), good);
        }
    }

    #[test]
    fn nothing_leads_off_site() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/%0a/evil.example",
            "/%0D%0A/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "%2F%2Fevil.example",
            " //evil.example",
            "/ /x",
            "",
            "/",
            "projects",
            "javascript:alert(1)",
            "/login?next=/x",
            "/login",
        ] {
            assert_eq!(after_sign_in(bad), "/", "{bad:?}");
        }
    }
}
