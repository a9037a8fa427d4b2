//! What `keyhold login` keeps: a token per server and which server is current, in
//! `$XDG_CONFIG_HOME/keyhold/config` (else `~/.config/keyhold/config`), a file its owner alone may
//! read. KEYHOLD_SERVER and KEYHOLD_TOKEN override it, for CI.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::CliError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// The server commands talk to when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Tokens by server URL.
    #[serde(default)]
    pub tokens: BTreeMap<String, String>,
}

/// The server's address as it is kept: no trailing slash, so `https://k/` and `https://k` are one.
pub fn normalise(server: &str) -> String {
    server.trim().trim_end_matches('/').to_string()
}

fn path() -> Result<PathBuf, CliError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .ok_or_else(|| CliError::Local("cannot find a configuration directory: set HOME or XDG_CONFIG_HOME".into()))?;
    Ok(base.join("keyhold").join("config"))
}

impl Config {
    pub fn load() -> Result<Config, CliError> {
        let path = path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|_| CliError::Local(format!("{} is not a keyhold configuration; remove it and log in again", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(CliError::Local(format!("cannot read {}: {e}", path.display()))),
        }
    }

    pub fn save(&self) -> Result<(), CliError> {
        let path = path()?;
        let text = serde_json::to_string_pretty(self).expect("a configuration serialises");
        crate::private_files::write_private(&path, text.as_bytes()).map_err(|e| CliError::Local(format!("cannot write {}: {e}", path.display())))
    }

    /// The server a command talks to: the one named (flag or KEYHOLD_SERVER), else the current.
    pub fn server(&self, named: Option<&str>) -> Result<String, CliError> {
        named.map(normalise).or_else(|| self.current.clone()).ok_or(CliError::NotLoggedIn)
    }

    /// The token for `server`: KEYHOLD_TOKEN when `server` is KEYHOLD_SERVER's (a CI token never
    /// goes to a server named some other way), else the one kept for it.
    pub fn token(&self, server: &str) -> Result<String, CliError> {
        let for_this_server = std::env::var("KEYHOLD_SERVER").is_ok_and(|named| normalise(&named) == server);
        let from_env = std::env::var("KEYHOLD_TOKEN").ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty() && for_this_server);
        from_env.or_else(|| self.tokens.get(server).cloned()).ok_or(CliError::NotLoggedIn)
    }
}
