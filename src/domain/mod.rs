//! The credential model and its rules: pure data and validation, no I/O, compiled for the browser
//! and the server alike so both apply the same rules.

pub mod attach;
pub mod base64;
pub mod cluster;
pub mod credential;
pub mod csv;
pub mod error;
pub mod identity;
pub mod lifecycle;
pub mod new_credential;
pub mod notebooks;
pub mod project;
pub mod project_secrets;
pub mod query;
pub mod scope_tree;
pub mod secret_file;
pub mod session;
pub mod snippets;
pub mod time;
pub mod tls;
pub mod url;
pub mod usage;

pub use error::AppError;
