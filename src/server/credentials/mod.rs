//! Credentials on the server: the `Credential` custom resource, the service layer that every door
//! calls, and the controller that propagates and reports.

pub mod activity;
pub mod attach;
pub mod connection;
pub mod controller;
pub mod events;
pub mod notebooks;
pub mod ownership;
pub mod personal;
pub mod resource;
pub mod rollout;
pub mod roles;
pub mod service;
pub mod usage;
