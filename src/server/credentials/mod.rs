//! Credentials on the server: the `Credential` custom resource, the service layer that every door
//! calls, and the controller that propagates and reports.

pub mod attach;
pub mod controller;
pub mod events;
pub mod notebooks;
pub mod ownership;
pub mod personal;
pub mod resource;
pub mod roles;
pub mod service;
pub mod usage;
