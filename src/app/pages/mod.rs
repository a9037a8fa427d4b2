//! One module per route.

mod clusters;
mod credential_detail;
mod credentials;
mod forbidden;
mod login;
mod my_credentials;
mod new_credential;
mod not_found;
mod project_secrets;
mod projects;
mod status_page;

pub use clusters::ClustersPage;
pub use credential_detail::CredentialDetailPage;
pub use credentials::CredentialsPage;
pub use forbidden::ForbiddenPage;
pub use login::LoginPage;
pub use my_credentials::MyCredentialsPage;
pub use new_credential::NewCredentialPage;
pub use not_found::NotFoundPage;
pub use project_secrets::ProjectSecretsPage;
pub use projects::ProjectsPage;
