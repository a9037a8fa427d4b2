//! One module per route.

mod credentials;
mod login;
mod not_found;
mod projects;

pub use credentials::CredentialsPage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use projects::ProjectsPage;
