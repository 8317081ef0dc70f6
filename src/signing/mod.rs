//! ЭЦП: verifying CMS (PKCS#7) signatures of lists against a trust store of certificate
//! authorities, and a demo PKI (a root, user keys in `.p12` files) for local use and tests.
//!
//! Everything here is pure Rust (RustCrypto): RSA PKCS#1 v1.5 with SHA-256 and ECDSA P-256 with
//! SHA-256. Nothing demo is trusted unless its root is put into the configured trust store.

/// The demo PKI: a root, user certificates, `.p12` files and CMS signing for tests.
pub mod pki;
/// Verifying a CMS signature of a list: signature, chain, validity, owner, key usage.
pub mod verify;

pub use verify::{verify_list_signature, SignatureError, SignerInfoSummary, TrustStore};

use der::asn1::ObjectIdentifier as Oid;

/// Object identifiers used by verification and the demo PKI.
pub mod oid {
    use super::Oid;

    pub const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    pub const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub const ID_ENCRYPTED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.6");
    pub const ID_CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const ID_MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const ID_SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    pub const FRIENDLY_NAME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.20");
    pub const LOCAL_KEY_ID: Oid = Oid::new_unwrap("1.2.840.113549.1.9.21");
    pub const X509_CERTIFICATE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.22.1");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const AT_COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
    pub const AT_SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
    pub const AT_COUNTRY: Oid = Oid::new_unwrap("2.5.4.6");
    pub const AT_ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");
    pub const AT_ORG_UNIT: Oid = Oid::new_unwrap("2.5.4.11");
    pub const AT_SURNAME: Oid = Oid::new_unwrap("2.5.4.4");
    pub const AT_GIVEN_NAME: Oid = Oid::new_unwrap("2.5.4.42");
    pub const AT_LOCALITY: Oid = Oid::new_unwrap("2.5.4.7");
    pub const AT_STATE: Oid = Oid::new_unwrap("2.5.4.8");
    pub const AT_EMAIL: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");
    pub const CE_SUBJECT_KEY_ID: Oid = Oid::new_unwrap("2.5.29.14");
    pub const CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    pub const CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
    pub const KP_SERVER_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.1");
    pub const KP_CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");
    pub const KP_EMAIL_PROTECTION: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.4");
}
