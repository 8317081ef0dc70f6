//! Talapker: the mobile-group cabinet for registering applicants for state-funded ТиПО training.

/// The exchange with АИС «Рынок труда»: payload, outbox delivery, the simulator.
pub mod ais;
/// Settings from defaults, environment and flags.
pub mod config;
/// The rules: IIN, applicants and their statuses, КАТО places, roles.
pub mod domain;
/// One error type and how it becomes a response.
pub mod error;
/// Excel export in constant memory.
pub mod export;
/// The translation catalogue (Russian, Kazakh).
pub mod i18n;
/// ЭЦП: verifying CMS signatures of lists, and the demo PKI.
pub mod signing;
/// Building and running the application: the one place that wires everything.
pub mod startup;
/// Every SurrealQL query.
pub mod store;
/// The minijinja environment.
pub mod views;
/// HTTP handlers, one module per area.
pub mod web;
