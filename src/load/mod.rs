//! Loading the workspace: Promises, requests, destinations, revisions and the rules, read from
//! their source documents (`crate::source`) into the catalogue and the fleet. A document that
//! does not load is a finding; the others are still loaded.

pub mod destination;
pub mod inputs;
pub mod promise;
pub mod request;
