//! Credentials on the server: the `Credential` custom resource (and, as they arrive, the service
//! layer and the controller that act on it).

pub mod resource;
pub mod roles;
pub mod service;
