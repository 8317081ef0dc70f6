//! Verifying the CMS signature of a list.
//!
//! [`verify_list_signature`] accepts a DER CMS `ContentInfo` holding `SignedData` with exactly
//! one signer, and checks, in this order: the format, the algorithms (RSA PKCS#1 v1.5 with SHA-256
//! of 2048 to 4096 bits, ECDSA P-256 with SHA-256), the signature over the data (through the signed
//! attributes when present), the chain up to a root of the [`TrustStore`], the validity of every
//! certificate at the signing time, the owner (subject SERIALNUMBER `IIN<iin>`) and the extended
//! key usage (clientAuth, the AUTH key, or emailProtection, the signing key). No input makes it
//! panic: untrusted bytes are only ever decoded, compared and looked up with checked accessors.
//!
//! Revocation (CRL, OCSP) is not checked here.

use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Tag, Tagged};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::time::Time;
use x509_cert::Certificate;

use super::oid;

/// How many certificates above the leaf a chain may have (intermediates and the root).
const MAX_CHAIN_DEPTH: usize = 5;
/// The smallest RSA modulus accepted, in bits (the `rsa` crate refuses more than 4096).
const MIN_RSA_BITS: usize = 2048;

/// Why a signature is refused. `Display` gives the message shown to the user (Russian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not DER CMS `SignedData` with one signer, or a required part is missing or broken.
    #[error("Некорректный формат подписи")]
    Malformed,
    /// A digest, signature or key algorithm other than SHA-256 with RSA or ECDSA P-256.
    #[error("Алгоритм подписи не поддерживается")]
    UnsupportedAlgorithm,
    /// The signature or the message digest does not match the list's data.
    #[error("Подпись не соответствует данным списка")]
    DataMismatch,
    /// The signer's certificate is not included in the signature.
    #[error("В подписи нет сертификата подписавшего")]
    SignerCertificateMissing,
    /// The certificate does not chain to a root of the trust store.
    #[error("Сертификат не выдан доверенным удостоверяющим центром")]
    Untrusted,
    /// A certificate of the chain expired before the signing time.
    #[error("Срок действия сертификата истек")]
    Expired,
    /// A certificate of the chain was not yet valid at the signing time.
    #[error("Срок действия сертификата еще не начался")]
    NotYetValid,
    /// The certificate's subject SERIALNUMBER is not `IIN` + the user's IIN.
    #[error("Сертификат не принадлежит пользователю")]
    WrongOwner,
    /// The extended key usage has neither clientAuth nor emailProtection.
    #[error("Сертификат не предназначен для аутентификации или подписи")]
    WrongKeyUsage,
}

/// What the signer's certificate allows (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPurpose {
    /// clientAuth only: the AUTH key.
    Authentication,
    /// emailProtection only: the signing (RSA/GOST) key.
    Signing,
    /// Both.
    AuthenticationAndSigning,
}

/// The accepted signer, for display and for the record of the signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignerInfoSummary {
    /// The subject, e.g. `CN=Иванов Иван, SERIALNUMBER=IIN941109450905, C=KZ`.
    pub subject: String,
    /// The subject's common name, when present.
    pub common_name: Option<String>,
    /// The issuer, in the same form as the subject.
    pub issuer: String,
    /// The certificate's serial number, upper-case hex.
    pub serial_number: String,
    /// The signer's IIN (12 digits).
    pub iin: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The signingTime signed attribute, when present.
    pub signing_time: Option<DateTime<Utc>>,
    /// The time the certificates were checked at: the signing time, or else the given `at`.
    pub checked_at: DateTime<Utc>,
    /// `RSA` or `ECDSA P-256`.
    pub algorithm: &'static str,
    pub purpose: KeyPurpose,
}

/// The certificate authorities whose certificates are accepted (trust anchors).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    roots: Vec<Certificate>,
}

impl TrustStore {
    /// A store that trusts nothing.
    pub fn empty() -> TrustStore {
        TrustStore::default()
    }

    /// Certificates from PEM text (one or more `CERTIFICATE` blocks) or one DER certificate.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<TrustStore> {
        let mut store = TrustStore::empty();
        store.add_bytes(bytes)?;
        Ok(store)
    }

    /// Every `*.pem` and `*.crt` file of a directory (not recursive), in name order.
    pub fn from_dir(dir: &Path) -> anyhow::Result<TrustStore> {
        let mut store = TrustStore::empty();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("reading the trust store directory {}", dir.display()))?
        {
            let path = entry?.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if path.is_file() && matches!(ext.as_deref(), Some("pem" | "crt")) {
                files.push(path);
            }
        }
        files.sort();
        for path in files {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            store
                .add_bytes(&bytes)
                .with_context(|| format!("loading certificates from {}", path.display()))?;
        }
        Ok(store)
    }

    /// Adds the certificates of PEM text or of one DER certificate; returns how many.
    pub fn add_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<usize> {
        let text_start = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .and_then(|i| bytes.get(i..))
            .unwrap_or_default();
        let certs = if text_start.starts_with(b"-----BEGIN") {
            Certificate::load_pem_chain(bytes).map_err(|e| anyhow::anyhow!("bad PEM: {e}"))?
        } else {
            vec![Certificate::from_der(bytes).map_err(|e| anyhow::anyhow!("bad DER: {e}"))?]
        };
        anyhow::ensure!(!certs.is_empty(), "no certificate found");
        let n = certs.len();
        self.roots.extend(certs);
        Ok(n)
    }

    pub fn add_certificate(&mut self, cert: Certificate) {
        self.roots.push(cert);
    }

    pub fn certificates(&self) -> &[Certificate] {
        &self.roots
    }

    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

/// Verifies the CMS signature `cms_der` of `payload` by the user with IIN `expected_iin`.
///
/// The content may be attached (it must then equal `payload`) or detached. Certificates are
/// checked at the signingTime signed attribute when present, else at `at`.
pub fn verify_list_signature(
    cms_der: &[u8],
    payload: &[u8],
    trust: &TrustStore,
    expected_iin: &str,
    at: DateTime<Utc>,
) -> Result<SignerInfoSummary, SignatureError> {
    use SignatureError as E;

    // Format.
    let content_info = ContentInfo::from_der(cms_der).map_err(|_| E::Malformed)?;
    if content_info.content_type != oid::ID_SIGNED_DATA {
        return Err(E::Malformed);
    }
    let signed_data: SignedData = content_info.content.decode_as().map_err(|_| E::Malformed)?;
    if signed_data.signer_infos.0.len() != 1 {
        return Err(E::Malformed);
    }
    let signer = signed_data
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or(E::Malformed)?;
    let encap = &signed_data.encap_content_info;
    if let Some(econtent) = &encap.econtent {
        if econtent.tag() != Tag::OctetString {
            return Err(E::Malformed);
        }
        if econtent.value() != payload {
            return Err(E::DataMismatch);
        }
    }
    let embedded: Vec<&Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Some(cert),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let leaf =
        find_signer_certificate(&signer.sid, &embedded).ok_or(E::SignerCertificateMissing)?;

    // Algorithms and the signature itself.
    if signer.digest_alg.oid != oid::SHA256 {
        return Err(E::UnsupportedAlgorithm);
    }
    let key = PublicKey::from_spki(&leaf.tbs_certificate.subject_public_key_info)?;
    let sig_alg = signer.signature_algorithm.oid;
    let alg_fits = match key {
        PublicKey::Rsa(_) => sig_alg == oid::RSA_ENCRYPTION || sig_alg == oid::SHA256_WITH_RSA,
        PublicKey::P256(_) => sig_alg == oid::ECDSA_WITH_SHA256 || sig_alg == oid::EC_PUBLIC_KEY,
    };
    if !alg_fits {
        return Err(E::UnsupportedAlgorithm);
    }
    let signing_time = match &signer.signed_attrs {
        Some(attrs) => {
            let content_type = single_attribute(signer, oid::ID_CONTENT_TYPE)?
                .ok_or(E::Malformed)?
                .decode_as::<ObjectIdentifier>()
                .map_err(|_| E::Malformed)?;
            if content_type != encap.econtent_type {
                return Err(E::Malformed);
            }
            let digest = single_attribute(signer, oid::ID_MESSAGE_DIGEST)?
                .ok_or(E::Malformed)?
                .decode_as::<OctetString>()
                .map_err(|_| E::Malformed)?;
            if digest.as_bytes() != Sha256::digest(payload).as_slice() {
                return Err(E::DataMismatch);
            }
            let signing_time = match single_attribute(signer, oid::ID_SIGNING_TIME)? {
                Some(value) => Some(any_to_time(value)?),
                None => None,
            };
            let signed = attrs.to_der().map_err(|_| E::Malformed)?;
            key.verify(&signed, signer.signature.as_bytes())?;
            signing_time
        }
        None => {
            key.verify(payload, signer.signature.as_bytes())?;
            None
        }
    };

    // The chain, then the validity of each of its certificates.
    let chain = build_chain(leaf, &embedded, trust)?;
    let checked_at = signing_time.unwrap_or(at);
    for cert in &chain {
        let validity = &cert.tbs_certificate.validity;
        if checked_at < to_chrono(validity.not_before)? {
            return Err(E::NotYetValid);
        }
        if checked_at > to_chrono(validity.not_after)? {
            return Err(E::Expired);
        }
    }

    // The owner.
    let owner_matches = expected_iin.len() == 12
        && expected_iin.bytes().all(|b| b.is_ascii_digit())
        && name_values(&leaf.tbs_certificate.subject, oid::AT_SERIAL_NUMBER)
            .iter()
            .any(|v| v.strip_prefix("IIN") == Some(expected_iin));
    if !owner_matches {
        return Err(E::WrongOwner);
    }

    // The key usage.
    let purpose = key_purpose(leaf)?;

    let validity = &leaf.tbs_certificate.validity;
    Ok(SignerInfoSummary {
        subject: name_to_string(&leaf.tbs_certificate.subject),
        common_name: name_values(&leaf.tbs_certificate.subject, oid::AT_COMMON_NAME)
            .into_iter()
            .next(),
        issuer: name_to_string(&leaf.tbs_certificate.issuer),
        serial_number: serial_hex(leaf),
        iin: expected_iin.to_string(),
        not_before: to_chrono(validity.not_before)?,
        not_after: to_chrono(validity.not_after)?,
        signing_time,
        checked_at,
        algorithm: key.name(),
        purpose,
    })
}

/// A public key of a supported algorithm.
enum PublicKey {
    Rsa(rsa::pkcs1v15::VerifyingKey<Sha256>),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, SignatureError> {
        use rsa::traits::PublicKeyParts;
        use SignatureError as E;
        let key_bytes = spki.subject_public_key.as_bytes().ok_or(E::Malformed)?;
        if spki.algorithm.oid == oid::RSA_ENCRYPTION {
            let der = spki.to_der().map_err(|_| E::Malformed)?;
            let key = <rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(&der)
                .map_err(|_| E::UnsupportedAlgorithm)?;
            if key.size().saturating_mul(8) < MIN_RSA_BITS {
                return Err(E::UnsupportedAlgorithm);
            }
            Ok(PublicKey::Rsa(rsa::pkcs1v15::VerifyingKey::new(key)))
        } else if spki.algorithm.oid == oid::EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            if curve != Some(oid::SECP256R1) {
                return Err(E::UnsupportedAlgorithm);
            }
            let key =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(|_| E::Malformed)?;
            Ok(PublicKey::P256(key))
        } else {
            Err(E::UnsupportedAlgorithm)
        }
    }

    fn name(&self) -> &'static str {
        match self {
            PublicKey::Rsa(_) => "RSA",
            PublicKey::P256(_) => "ECDSA P-256",
        }
    }

    /// Verifies a SHA-256 signature of `message` (DER `Ecdsa-Sig-Value` for ECDSA).
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        use p256::ecdsa::signature::Verifier;
        let ok = match self {
            PublicKey::Rsa(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            PublicKey::P256(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureError::DataMismatch)
        }
    }
}

/// The one value of the signed attribute `id`: `None` when absent, an error when repeated or
/// multi-valued.
fn single_attribute(
    signer: &SignerInfo,
    id: ObjectIdentifier,
) -> Result<Option<&Any>, SignatureError> {
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == id);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || attr.values.len() != 1 {
        return Err(SignatureError::Malformed);
    }
    attr.values
        .iter()
        .next()
        .map(Some)
        .ok_or(SignatureError::Malformed)
}

fn any_to_time(value: &Any) -> Result<DateTime<Utc>, SignatureError> {
    let der = value.to_der().map_err(|_| SignatureError::Malformed)?;
    let time = Time::from_der(&der).map_err(|_| SignatureError::Malformed)?;
    to_chrono(time)
}

fn to_chrono(time: Time) -> Result<DateTime<Utc>, SignatureError> {
    let d = time.to_unix_duration();
    let secs = i64::try_from(d.as_secs()).map_err(|_| SignatureError::Malformed)?;
    DateTime::from_timestamp(secs, d.subsec_nanos()).ok_or(SignatureError::Malformed)
}

fn find_signer_certificate<'a>(
    sid: &SignerIdentifier,
    certs: &[&'a Certificate],
) -> Option<&'a Certificate> {
    certs.iter().copied().find(|cert| match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == cert.tbs_certificate.issuer
                && ias.serial_number == cert.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            extension::<SubjectKeyIdentifier>(cert, oid::CE_SUBJECT_KEY_ID)
                .ok()
                .flatten()
                .is_some_and(|own| own == *ski)
        }
    })
}

/// The decoded extension `id` of a certificate, `None` when absent.
fn extension<T: for<'a> Decode<'a>>(
    cert: &Certificate,
    id: ObjectIdentifier,
) -> Result<Option<T>, SignatureError> {
    let Some(ext) = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == id)
    else {
        return Ok(None);
    };
    T::from_der(ext.extn_value.as_bytes())
        .map(Some)
        .map_err(|_| SignatureError::Malformed)
}

fn is_ca(cert: &Certificate) -> bool {
    matches!(
        extension::<BasicConstraints>(cert, oid::CE_BASIC_CONSTRAINTS),
        Ok(Some(BasicConstraints { ca: true, .. }))
    )
}

/// Checks that `issuer` signed `cert`.
fn verify_issued_by(cert: &Certificate, issuer: &Certificate) -> Result<(), SignatureError> {
    use SignatureError as E;
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(E::Untrusted);
    }
    let key = PublicKey::from_spki(&issuer.tbs_certificate.subject_public_key_info)?;
    let alg = cert.signature_algorithm.oid;
    if alg != cert.tbs_certificate.signature.oid {
        return Err(E::Malformed);
    }
    if alg != oid::SHA256_WITH_RSA && alg != oid::ECDSA_WITH_SHA256 {
        return Err(E::UnsupportedAlgorithm);
    }
    match key {
        PublicKey::Rsa(_) if alg == oid::SHA256_WITH_RSA => {}
        PublicKey::P256(_) if alg == oid::ECDSA_WITH_SHA256 => {}
        // Another key type than the signature's: a namesake, not the issuer.
        _ => return Err(E::Untrusted),
    }
    let tbs = cert.tbs_certificate.to_der().map_err(|_| E::Malformed)?;
    let signature = cert.signature.as_bytes().ok_or(E::Malformed)?;
    key.verify(&tbs, signature).map_err(|_| E::Untrusted)
}

/// The chain from `leaf` up to a trusted root: intermediates come from the signature's
/// certificates (they must be CAs), the root from the trust store.
fn build_chain<'a>(
    leaf: &'a Certificate,
    embedded: &[&'a Certificate],
    trust: &'a TrustStore,
) -> Result<Vec<&'a Certificate>, SignatureError> {
    let mut chain = vec![leaf];
    let mut current = leaf;
    let mut unsupported = false;
    let mut note = |result: Result<(), SignatureError>| match result {
        Ok(()) => true,
        Err(SignatureError::UnsupportedAlgorithm) => {
            unsupported = true;
            false
        }
        Err(_) => false,
    };
    for _ in 0..MAX_CHAIN_DEPTH {
        if let Some(root) = trust
            .roots
            .iter()
            .find(|root| note(verify_issued_by(current, root)))
        {
            if root != current {
                chain.push(root);
            }
            return Ok(chain);
        }
        let next = embedded.iter().copied().find(|candidate| {
            !chain.contains(candidate)
                && is_ca(candidate)
                && note(verify_issued_by(current, candidate))
        });
        match next {
            Some(next) => {
                chain.push(next);
                current = next;
            }
            None => break,
        }
    }
    if unsupported {
        Err(SignatureError::UnsupportedAlgorithm)
    } else {
        Err(SignatureError::Untrusted)
    }
}

fn key_purpose(leaf: &Certificate) -> Result<KeyPurpose, SignatureError> {
    let eku = extension::<ExtendedKeyUsage>(leaf, oid::CE_EXT_KEY_USAGE)?
        .ok_or(SignatureError::WrongKeyUsage)?;
    let auth = eku.0.contains(&oid::KP_CLIENT_AUTH);
    let sign = eku.0.contains(&oid::KP_EMAIL_PROTECTION);
    match (auth, sign) {
        (true, true) => Ok(KeyPurpose::AuthenticationAndSigning),
        (true, false) => Ok(KeyPurpose::Authentication),
        (false, true) => Ok(KeyPurpose::Signing),
        (false, false) => Err(SignatureError::WrongKeyUsage),
    }
}

fn serial_hex(cert: &Certificate) -> String {
    let bytes = cert.tbs_certificate.serial_number.as_bytes();
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    hex::encode_upper(bytes.get(start..).unwrap_or(bytes))
}

/// The text of a directory-string value (UTF-8, Printable, IA5, Teletex, Visible, BMP).
fn any_to_string(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::TeletexString
        | Tag::VisibleString => String::from_utf8(value.value().to_vec()).ok(),
        Tag::BmpString => {
            let bytes = value.value();
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok())
                .map(u16::from_be_bytes)
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Every value of the attribute `id` in a name, in order.
fn name_values(name: &Name, id: ObjectIdentifier) -> Vec<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == id)
        .filter_map(|atv| any_to_string(&atv.value))
        .collect()
}

/// A name as `CN=…, SERIALNUMBER=…, C=…`, in its encoded order.
pub(crate) fn name_to_string(name: &Name) -> String {
    let mut parts = Vec::new();
    for atv in name.0.iter().flat_map(|rdn| rdn.0.iter()) {
        let key = match atv.oid {
            o if o == oid::AT_COMMON_NAME => "CN".to_string(),
            o if o == oid::AT_SERIAL_NUMBER => "SERIALNUMBER".to_string(),
            o if o == oid::AT_COUNTRY => "C".to_string(),
            o if o == oid::AT_ORGANIZATION => "O".to_string(),
            o if o == oid::AT_ORG_UNIT => "OU".to_string(),
            o if o == oid::AT_SURNAME => "SURNAME".to_string(),
            o if o == oid::AT_GIVEN_NAME => "G".to_string(),
            o if o == oid::AT_LOCALITY => "L".to_string(),
            o if o == oid::AT_STATE => "S".to_string(),
            o if o == oid::AT_EMAIL => "E".to_string(),
            o => o.to_string(),
        };
        let value = any_to_string(&atv.value)
            .unwrap_or_else(|| format!("#{}", hex::encode(atv.value.value())));
        parts.push(format!("{key}={value}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::pki::{sign_cms, CertifiedKey, CmsOptions, KeyKind, LeafSpec, PrivateKey};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    const IIN: &str = "941109450905";
    const NAME: &str = "Дюсенгалиев Арман Кентаевич";
    const PAYLOAD: &[u8] = b"{\"list\":\"L-1\",\"applicants\":[\"941008400880\"]}";

    struct Fixture {
        root: CertifiedKey,
        trust: TrustStore,
        rsa_user: CertifiedKey,
        ecdsa_user: CertifiedKey,
    }

    /// One trusted RSA root and two users (RSA and ECDSA), generated once: RSA keys are slow.
    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let root = CertifiedKey::generate_root("Test Root", KeyKind::Rsa).unwrap();
            let trust = TrustStore::from_bytes(root.certificate_pem().unwrap().as_bytes()).unwrap();
            let rsa_user = root.issue_user(NAME, IIN, KeyKind::Rsa).unwrap();
            let ecdsa_user = root.issue_user(NAME, IIN, KeyKind::Ecdsa).unwrap();
            Fixture {
                root,
                trust,
                rsa_user,
                ecdsa_user,
            }
        })
    }

    fn now_secs() -> DateTime<Utc> {
        DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
    }

    fn sign(user: &CertifiedKey, options: &CmsOptions) -> Vec<u8> {
        sign_cms(user, PAYLOAD, options).unwrap()
    }

    fn verify(cms: &[u8]) -> Result<SignerInfoSummary, SignatureError> {
        verify_list_signature(cms, PAYLOAD, &fixture().trust, IIN, Utc::now())
    }

    /// A user certificate with an ECDSA key issued by the trusted root.
    fn issue(spec: &LeafSpec) -> CertifiedKey {
        fixture()
            .root
            .issue(spec, PrivateKey::generate(KeyKind::Ecdsa).unwrap())
            .unwrap()
    }

    #[test]
    fn a_good_rsa_signature_is_accepted_with_the_right_summary() {
        let f = fixture();
        let signed_at = now_secs();
        let options = CmsOptions {
            signing_time: Some(signed_at),
            ..CmsOptions::default()
        };
        let summary = verify(&sign(&f.rsa_user, &options)).unwrap();
        let tbs = &f.rsa_user.certificate.tbs_certificate;
        assert_eq!(summary.iin, IIN);
        assert_eq!(summary.common_name.as_deref(), Some(NAME));
        assert_eq!(
            summary.subject,
            format!("CN={NAME}, SERIALNUMBER=IIN{IIN}, C=KZ")
        );
        assert_eq!(summary.issuer, "CN=Test Root, C=KZ");
        assert_eq!(
            summary.serial_number,
            hex::encode_upper(tbs.serial_number.as_bytes())
        );
        assert_eq!(
            summary.not_before,
            to_chrono(tbs.validity.not_before).unwrap()
        );
        assert_eq!(
            summary.not_after,
            to_chrono(tbs.validity.not_after).unwrap()
        );
        assert!(summary.not_before < signed_at && signed_at < summary.not_after);
        assert_eq!(summary.signing_time, Some(signed_at));
        assert_eq!(summary.checked_at, signed_at);
        assert_eq!(summary.algorithm, "RSA");
        assert_eq!(summary.purpose, KeyPurpose::Authentication);
    }

    #[test]
    fn a_good_ecdsa_signature_is_accepted_attached_or_detached() {
        let f = fixture();
        for detached in [false, true] {
            let options = CmsOptions {
                detached,
                ..CmsOptions::default()
            };
            let summary = verify(&sign(&f.ecdsa_user, &options)).unwrap();
            assert_eq!(summary.iin, IIN);
            assert_eq!(summary.algorithm, "ECDSA P-256");
            assert_eq!(
                summary.serial_number,
                hex::encode_upper(
                    f.ecdsa_user
                        .certificate
                        .tbs_certificate
                        .serial_number
                        .as_bytes()
                )
            );
        }
    }

    #[test]
    fn a_signature_without_signed_attributes_is_checked_directly_over_the_payload() {
        let f = fixture();
        let at = Utc::now();
        for user in [&f.rsa_user, &f.ecdsa_user] {
            let options = CmsOptions {
                signed_attributes: false,
                detached: true,
                ..CmsOptions::default()
            };
            let cms = sign(user, &options);
            let summary = verify(&cms).unwrap();
            assert_eq!(summary.signing_time, None);
            assert!(summary.checked_at >= at);
            assert_eq!(
                verify_list_signature(&cms, b"another list", &f.trust, IIN, at),
                Err(SignatureError::DataMismatch)
            );
        }
    }

    #[test]
    fn a_tampered_payload_is_refused_as_not_matching_the_list() {
        let f = fixture();
        for user in [&f.rsa_user, &f.ecdsa_user] {
            for detached in [false, true] {
                let cms = sign(
                    user,
                    &CmsOptions {
                        detached,
                        ..CmsOptions::default()
                    },
                );
                let mut tampered = PAYLOAD.to_vec();
                tampered[3] ^= 1;
                let err =
                    verify_list_signature(&cms, &tampered, &f.trust, IIN, Utc::now()).unwrap_err();
                assert_eq!(err, SignatureError::DataMismatch);
                assert_eq!(err.to_string(), "Подпись не соответствует данным списка");
            }
        }
    }

    #[test]
    fn a_changed_signature_value_is_refused_as_not_matching_the_list() {
        let f = fixture();
        for user in [&f.rsa_user, &f.ecdsa_user] {
            let mut cms = sign(user, &CmsOptions::default());
            // The SignerInfo's signature is the last field of the DER (no unsigned attributes);
            // for ECDSA the last byte is inside the integer s.
            let last = cms.len() - 1;
            cms[last] ^= 0x01;
            assert_eq!(verify(&cms), Err(SignatureError::DataMismatch));
        }
    }

    #[test]
    fn a_certificate_from_an_untrusted_root_is_refused() {
        let other_root = CertifiedKey::generate_root("Test Root", KeyKind::Ecdsa).unwrap();
        let stranger = other_root.issue_user(NAME, IIN, KeyKind::Ecdsa).unwrap();
        let err = verify(&sign(&stranger, &CmsOptions::default())).unwrap_err();
        assert_eq!(err, SignatureError::Untrusted);
        assert_eq!(
            err.to_string(),
            "Сертификат не выдан доверенным удостоверяющим центром"
        );
        // And nothing is trusted by an empty store.
        let cms = sign(&fixture().ecdsa_user, &CmsOptions::default());
        assert_eq!(
            verify_list_signature(&cms, PAYLOAD, &TrustStore::empty(), IIN, Utc::now()),
            Err(SignatureError::Untrusted)
        );
    }

    #[test]
    fn a_chain_through_an_intermediate_is_accepted_only_with_the_intermediate_included() {
        let intermediate = fixture()
            .root
            .issue_ca("Test Intermediate", KeyKind::Ecdsa)
            .unwrap();
        let user = intermediate.issue_user(NAME, IIN, KeyKind::Ecdsa).unwrap();
        let with = CmsOptions {
            extra_certificates: vec![intermediate.certificate.clone()],
            ..CmsOptions::default()
        };
        assert_eq!(
            verify(&sign(&user, &with)).unwrap().issuer,
            "CN=Test Intermediate, C=KZ"
        );
        assert_eq!(
            verify(&sign(&user, &CmsOptions::default())),
            Err(SignatureError::Untrusted)
        );
        // A non-CA certificate cannot stand in as an intermediate.
        let leaf_as_ca = fixture().rsa_user.clone();
        let forged = leaf_as_ca.issue_user(NAME, IIN, KeyKind::Ecdsa).unwrap();
        let options = CmsOptions {
            extra_certificates: vec![leaf_as_ca.certificate.clone()],
            ..CmsOptions::default()
        };
        assert_eq!(
            verify(&sign(&forged, &options)),
            Err(SignatureError::Untrusted)
        );
    }

    #[test]
    fn an_expired_certificate_is_refused_unless_signed_while_it_was_valid() {
        let now = Utc::now();
        let user = issue(&LeafSpec {
            // Within the root's validity, which starts a day ago.
            not_before: now - chrono::Duration::hours(20),
            not_after: now - chrono::Duration::hours(1),
            ..LeafSpec::user(NAME, IIN)
        });
        let unsigned_time = CmsOptions {
            signing_time: None,
            ..CmsOptions::default()
        };
        let err = verify(&sign(&user, &unsigned_time)).unwrap_err();
        assert_eq!(err, SignatureError::Expired);
        assert_eq!(err.to_string(), "Срок действия сертификата истек");
        assert_eq!(
            verify(&sign(&user, &CmsOptions::default())),
            Err(SignatureError::Expired)
        );
        // The signingTime attribute, when present, is the time the certificates are checked at.
        let back_then = CmsOptions {
            signing_time: Some(now - chrono::Duration::hours(10)),
            ..CmsOptions::default()
        };
        assert!(verify(&sign(&user, &back_then)).is_ok());
    }

    #[test]
    fn a_not_yet_valid_certificate_is_refused() {
        let now = Utc::now();
        let user = issue(&LeafSpec {
            not_before: now + chrono::Duration::days(1),
            not_after: now + chrono::Duration::days(365),
            ..LeafSpec::user(NAME, IIN)
        });
        let err = verify(&sign(&user, &CmsOptions::default())).unwrap_err();
        assert_eq!(err, SignatureError::NotYetValid);
        assert_eq!(err.to_string(), "Срок действия сертификата еще не начался");
    }

    #[test]
    fn another_persons_iin_is_refused() {
        let f = fixture();
        let cms = sign(&f.ecdsa_user, &CmsOptions::default());
        for expected in ["941008400880", "", "IIN941109450905", "94110945090"] {
            let err =
                verify_list_signature(&cms, PAYLOAD, &f.trust, expected, Utc::now()).unwrap_err();
            assert_eq!(err, SignatureError::WrongOwner, "{expected}");
            assert_eq!(err.to_string(), "Сертификат не принадлежит пользователю");
        }
        // A certificate of someone else, verified for this user.
        let other = issue(&LeafSpec::user("Базарова Балжан", "930122451117"));
        assert_eq!(
            verify(&sign(&other, &CmsOptions::default())),
            Err(SignatureError::WrongOwner)
        );
    }

    #[test]
    fn a_key_usage_other_than_client_auth_or_email_protection_is_refused() {
        for ekus in [vec![oid::KP_SERVER_AUTH], vec![]] {
            let user = issue(&LeafSpec {
                extended_key_usage: ekus,
                ..LeafSpec::user(NAME, IIN)
            });
            let err = verify(&sign(&user, &CmsOptions::default())).unwrap_err();
            assert_eq!(err, SignatureError::WrongKeyUsage);
            assert_eq!(
                err.to_string(),
                "Сертификат не предназначен для аутентификации или подписи"
            );
        }
        let signing_key = issue(&LeafSpec {
            extended_key_usage: vec![oid::KP_EMAIL_PROTECTION],
            ..LeafSpec::user(NAME, IIN)
        });
        assert_eq!(
            verify(&sign(&signing_key, &CmsOptions::default()))
                .unwrap()
                .purpose,
            KeyPurpose::Signing
        );
    }

    #[test]
    fn garbage_input_is_refused_as_malformed() {
        let f = fixture();
        let valid = sign(&f.rsa_user, &CmsOptions::default());
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x30],
            vec![0x30, 0x80, 0x00, 0x00],
            b"not a signature at all".to_vec(),
            (0..=255u8).collect(),
        ];
        for cut in [1, 2, 10, valid.len() / 2, valid.len() - 1] {
            cases.push(valid[..cut].to_vec());
        }
        let mut trailing = valid.clone();
        trailing.push(0);
        cases.push(trailing);
        for case in cases {
            let err = verify(&case).unwrap_err();
            assert_eq!(err, SignatureError::Malformed, "{}", hex::encode(&case));
            assert_eq!(err.to_string(), "Некорректный формат подписи");
        }
    }

    #[test]
    fn every_refusal_has_its_russian_message() {
        let messages = [
            (SignatureError::Malformed, "Некорректный формат подписи"),
            (
                SignatureError::UnsupportedAlgorithm,
                "Алгоритм подписи не поддерживается",
            ),
            (
                SignatureError::DataMismatch,
                "Подпись не соответствует данным списка",
            ),
            (
                SignatureError::SignerCertificateMissing,
                "В подписи нет сертификата подписавшего",
            ),
            (
                SignatureError::Untrusted,
                "Сертификат не выдан доверенным удостоверяющим центром",
            ),
            (SignatureError::Expired, "Срок действия сертификата истек"),
            (
                SignatureError::NotYetValid,
                "Срок действия сертификата еще не начался",
            ),
            (
                SignatureError::WrongOwner,
                "Сертификат не принадлежит пользователю",
            ),
            (
                SignatureError::WrongKeyUsage,
                "Сертификат не предназначен для аутентификации или подписи",
            ),
        ];
        for (error, message) in messages {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn the_trust_store_loads_pem_and_crt_files_of_a_directory_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let f = fixture();
        let other = CertifiedKey::generate_root("Other Root", KeyKind::Ecdsa).unwrap();
        std::fs::write(dir.path().join("a.pem"), f.root.certificate_pem().unwrap()).unwrap();
        std::fs::write(
            dir.path().join("b.CRT"),
            der::Encode::to_der(&other.certificate).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a certificate").unwrap();
        let store = TrustStore::from_dir(dir.path()).unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.certificates()[0], f.root.certificate);
        assert_eq!(store.certificates()[1], other.certificate);
        assert!(verify_list_signature(
            &sign(&f.ecdsa_user, &CmsOptions::default()),
            PAYLOAD,
            &store,
            IIN,
            Utc::now()
        )
        .is_ok());

        assert!(TrustStore::from_bytes(b"").is_err());
        assert!(TrustStore::from_bytes(
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )
        .is_err());
        std::fs::write(dir.path().join("c.pem"), "garbage").unwrap();
        assert!(TrustStore::from_dir(dir.path()).is_err());
        assert!(TrustStore::from_dir(&dir.path().join("missing")).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic_and_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            prop_assert!(verify(&bytes).is_err());
        }

        #[test]
        fn mutated_valid_signatures_never_panic(
            rsa in any::<bool>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let f = fixture();
            let mut cms = sign(if rsa { &f.rsa_user } else { &f.ecdsa_user }, &CmsOptions::default());
            for (index, value) in edits {
                let i = index.index(cms.len());
                cms[i] = value;
            }
            if let Some(cut) = cut {
                cms.truncate(cut.index(cms.len()));
            }
            // Edits may land on unsigned parts (versions, digestAlgorithms), so some are still
            // accepted; then the signer must still be the user.
            if let Ok(summary) = verify(&cms) {
                prop_assert_eq!(summary.iin, IIN);
            }
        }
    }
}
