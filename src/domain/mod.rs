//! The rules, free of HTTP and storage.
pub mod applicant;
pub mod iin;
pub mod kato;
pub mod list;
pub mod user;
