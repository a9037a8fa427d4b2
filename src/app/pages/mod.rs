//! One module per route.

mod credentials;
mod forbidden;
mod login;
mod not_found;
mod projects;
mod status_page;

pub use credentials::CredentialsPage;
pub use forbidden::ForbiddenPage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use projects::ProjectsPage;
