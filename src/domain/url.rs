//! Percent-encoding for the addresses the console builds (sign-in redirects, the table's query),
//! and the one rule for plain HTTP.

/// Percent-encodes everything but unreserved characters and '/', which is safe in a path and in a
/// query value alike.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether a URL's host (as `Url::host_str` gives it) is this machine: the only place plain
/// `http://` may carry a token or a provider's keys.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts_are_this_machine_only() {
        for host in ["localhost", "127.0.0.1", "127.9.9.9", "[::1]"] {
            assert!(super::is_loopback(host), "{host}");
        }
        for host in ["keyhold.example.com", "10.0.0.1", "[2001:db8::1]", "localhost.example.com"] {
            assert!(!super::is_loopback(host), "{host}");
        }
    }

    #[test]
    fn reserved_and_non_ascii_characters_are_encoded() {
        assert_eq!(super::encode("a b&c=d/é"), "a%20b%26c%3Dd/%C3%A9");
    }
}
