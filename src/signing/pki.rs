//! A demo PKI for local use and tests: a root CA, user certificates shaped like those of НУЦ РК
//! (CN=<name>, SERIALNUMBER=IIN<iin>, C=KZ, extended key usage clientAuth), password-protected
//! `.p12` files, and CMS signing standing in for the browser signer.
//!
//! The `.p12` files use what browser-side PKCS#12 readers (forge, pkijs) understand: the key in a
//! `pkcs8ShroudedKeyBag` and the certificate in `encryptedData`, both PBES2 (PBKDF2-HMAC-SHA256,
//! AES-256-CBC), and a SHA-256 HMAC over the whole (the PKCS#12 key derivation).
//!
//! Nothing here is trusted by the server unless the demo root is put into its trust store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::encrypted_data::EncryptedData;
use cms::enveloped_data::EncryptedContentInfo;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{
    BmpString, GeneralizedTime, ObjectIdentifier, OctetString, PrintableStringRef, SetOfVec,
    UtcTime, Utf8StringRef,
};
use der::{Any, AnyRef, Decode, Encode, Tag, Tagged};
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::{Keypair, Signer};
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::attr::{Attribute, AttributeTypeAndValue};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use super::oid;

/// PBKDF2 and PKCS#12 MAC iterations in the `.p12` files.
const P12_ITERATIONS: u32 = 10_000;

/// The key algorithm of a generated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA-2048, signatures RSA PKCS#1 v1.5 with SHA-256.
    Rsa,
    /// ECDSA on P-256 with SHA-256.
    Ecdsa,
}

/// A private key of a supported algorithm.
#[derive(Clone)]
pub enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrivateKey::Rsa(_) => "PrivateKey::Rsa(..)",
            PrivateKey::Ecdsa(_) => "PrivateKey::Ecdsa(..)",
        })
    }
}

impl PrivateKey {
    /// A fresh key from the operating system's random generator.
    pub fn generate(kind: KeyKind) -> anyhow::Result<PrivateKey> {
        Ok(match kind {
            KeyKind::Rsa => PrivateKey::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut OsRng, 2048).context("generating an RSA key")?,
            )),
            KeyKind::Ecdsa => PrivateKey::Ecdsa(p256::ecdsa::SigningKey::random(&mut OsRng)),
        })
    }

    pub fn kind(&self) -> KeyKind {
        match self {
            PrivateKey::Rsa(_) => KeyKind::Rsa,
            PrivateKey::Ecdsa(_) => KeyKind::Ecdsa,
        }
    }

    /// The public key as a SubjectPublicKeyInfo.
    pub fn public_key_info(&self) -> anyhow::Result<SubjectPublicKeyInfoOwned> {
        let der = match self {
            PrivateKey::Rsa(key) => key.to_public_key().to_public_key_der()?,
            PrivateKey::Ecdsa(key) => key.verifying_key().to_public_key_der()?,
        };
        Ok(SubjectPublicKeyInfoOwned::from_der(der.as_bytes())?)
    }

    /// The key as unencrypted PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> anyhow::Result<pkcs8::SecretDocument> {
        Ok(match self {
            PrivateKey::Rsa(key) => key.to_pkcs8_der()?,
            PrivateKey::Ecdsa(key) => key.to_pkcs8_der()?,
        })
    }

    /// A key from unencrypted PKCS#8 DER (RSA or P-256).
    pub fn from_pkcs8_der(der: &[u8]) -> anyhow::Result<PrivateKey> {
        let info = pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| anyhow!("PKCS#8: {e}"))?;
        if info.algorithm.oid == oid::RSA_ENCRYPTION {
            Ok(PrivateKey::Rsa(Box::new(
                rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|e| anyhow!("RSA key: {e}"))?,
            )))
        } else if info.algorithm.oid == oid::EC_PUBLIC_KEY {
            Ok(PrivateKey::Ecdsa(
                p256::ecdsa::SigningKey::from_pkcs8_der(der)
                    .map_err(|e| anyhow!("P-256 key: {e}"))?,
            ))
        } else {
            bail!("unsupported key algorithm {}", info.algorithm.oid)
        }
    }

    /// A SHA-256 signature of `message` as CMS carries it (DER `Ecdsa-Sig-Value` for ECDSA).
    pub fn sign_sha256(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            PrivateKey::Rsa(key) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**key).clone());
                let sig: rsa::pkcs1v15::Signature = signer.try_sign(message)?;
                Box::<[u8]>::from(sig).into_vec()
            }
            PrivateKey::Ecdsa(key) => {
                let sig: p256::ecdsa::Signature = key.try_sign(message)?;
                sig.to_der().as_bytes().to_vec()
            }
        })
    }

    /// The CMS SignerInfo signatureAlgorithm for this key.
    fn cms_signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self {
            PrivateKey::Rsa(_) => AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            PrivateKey::Ecdsa(_) => AlgorithmIdentifierOwned {
                oid: oid::ECDSA_WITH_SHA256,
                parameters: None,
            },
        }
    }
}

/// A certificate and its private key.
#[derive(Debug, Clone)]
pub struct CertifiedKey {
    pub certificate: Certificate,
    pub key: PrivateKey,
}

/// What a user certificate says and when it is valid.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// The subject's CN: the full name.
    pub name: String,
    /// The IIN; the subject's SERIALNUMBER is `IIN` + this.
    pub iin: String,
    /// Extended key usage purposes (e.g. [`oid::KP_CLIENT_AUTH`]).
    pub extended_key_usage: Vec<ObjectIdentifier>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl LeafSpec {
    /// An AUTH certificate (clientAuth), valid from a day ago for a year.
    pub fn user(name: &str, iin: &str) -> LeafSpec {
        let now = Utc::now();
        LeafSpec {
            name: name.to_string(),
            iin: iin.to_string(),
            extended_key_usage: vec![oid::KP_CLIENT_AUTH],
            not_before: now - chrono::Duration::days(1),
            not_after: now + chrono::Duration::days(365),
        }
    }
}

impl CertifiedKey {
    /// A self-signed root CA, valid from a day ago for ten years.
    pub fn generate_root(common_name: &str, kind: KeyKind) -> anyhow::Result<CertifiedKey> {
        let key = PrivateKey::generate(kind)?;
        let now = Utc::now();
        let subject = make_name(&[
            (oid::AT_COMMON_NAME, common_name, Tag::Utf8String),
            (oid::AT_COUNTRY, "KZ", Tag::PrintableString),
        ])?;
        let certificate = build_certificate(
            Profile::Root,
            validity(
                now - chrono::Duration::days(1),
                now + chrono::Duration::days(3650),
            )?,
            subject,
            key.public_key_info()?,
            &key,
            &[],
        )?;
        Ok(CertifiedKey { certificate, key })
    }

    /// An intermediate CA issued by this one, with a fresh key.
    pub fn issue_ca(&self, common_name: &str, kind: KeyKind) -> anyhow::Result<CertifiedKey> {
        let key = PrivateKey::generate(kind)?;
        let now = Utc::now();
        let subject = make_name(&[
            (oid::AT_COMMON_NAME, common_name, Tag::Utf8String),
            (oid::AT_COUNTRY, "KZ", Tag::PrintableString),
        ])?;
        let certificate = build_certificate(
            Profile::SubCA {
                issuer: self.certificate.tbs_certificate.subject.clone(),
                path_len_constraint: Some(0),
            },
            validity(
                now - chrono::Duration::days(1),
                now + chrono::Duration::days(1825),
            )?,
            subject,
            key.public_key_info()?,
            &self.key,
            &[],
        )?;
        Ok(CertifiedKey { certificate, key })
    }

    /// A user certificate for `key`, issued by this CA.
    pub fn issue(&self, spec: &LeafSpec, key: PrivateKey) -> anyhow::Result<CertifiedKey> {
        let subject = make_name(&[
            (oid::AT_COMMON_NAME, &spec.name, Tag::Utf8String),
            (
                oid::AT_SERIAL_NUMBER,
                &format!("IIN{}", spec.iin),
                Tag::PrintableString,
            ),
            (oid::AT_COUNTRY, "KZ", Tag::PrintableString),
        ])?;
        let certificate = build_certificate(
            Profile::Leaf {
                issuer: self.certificate.tbs_certificate.subject.clone(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            validity(spec.not_before, spec.not_after)?,
            subject,
            key.public_key_info()?,
            &self.key,
            &spec.extended_key_usage,
        )?;
        Ok(CertifiedKey { certificate, key })
    }

    /// An AUTH certificate for a user with a fresh key (see [`LeafSpec::user`]).
    pub fn issue_user(&self, name: &str, iin: &str, kind: KeyKind) -> anyhow::Result<CertifiedKey> {
        self.issue(&LeafSpec::user(name, iin), PrivateKey::generate(kind)?)
    }

    /// The certificate as PEM text.
    pub fn certificate_pem(&self) -> anyhow::Result<String> {
        use der::EncodePem;
        Ok(self.certificate.to_pem(der::pem::LineEnding::LF)?)
    }
}

fn validity(not_before: DateTime<Utc>, not_after: DateTime<Utc>) -> anyhow::Result<Validity> {
    Ok(Validity {
        not_before: to_time(not_before)?,
        not_after: to_time(not_after)?,
    })
}

/// An X.509 time: UTCTime up to 2049, GeneralizedTime after (RFC 5280).
fn to_time(t: DateTime<Utc>) -> anyhow::Result<Time> {
    let secs = u64::try_from(t.timestamp()).context("a time before 1970")?;
    let d = Duration::from_secs(secs);
    // 2050-01-01T00:00:00Z
    Ok(if secs < 2_524_608_000 {
        Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

fn make_name(parts: &[(ObjectIdentifier, &str, Tag)]) -> anyhow::Result<Name> {
    let mut rdns = Vec::new();
    for (id, value, tag) in parts {
        let value = match tag {
            Tag::PrintableString => Any::encode_from(&PrintableStringRef::new(value)?)?,
            _ => Any::encode_from(&Utf8StringRef::new(value)?)?,
        };
        let atv = AttributeTypeAndValue { oid: *id, value };
        rdns.push(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?));
    }
    Ok(RdnSequence(rdns))
}

fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x10; // positive, no leading zero
    Ok(SerialNumber::new(&bytes)?)
}

fn build_certificate(
    profile: Profile,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    issuer_key: &PrivateKey,
    extended_key_usage: &[ObjectIdentifier],
) -> anyhow::Result<Certificate> {
    match issuer_key {
        PrivateKey::Rsa(key) => {
            let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**key).clone());
            build_with::<_, rsa::pkcs1v15::Signature>(
                profile,
                validity,
                subject,
                spki,
                &signer,
                extended_key_usage,
            )
        }
        PrivateKey::Ecdsa(key) => build_with::<_, p256::ecdsa::DerSignature>(
            profile,
            validity,
            subject,
            spki,
            key,
            extended_key_usage,
        ),
    }
}

fn build_with<S, Sig>(
    profile: Profile,
    validity: Validity,
    subject: Name,
    spki: SubjectPublicKeyInfoOwned,
    signer: &S,
    extended_key_usage: &[ObjectIdentifier],
) -> anyhow::Result<Certificate>
where
    S: Keypair + DynSignatureAlgorithmIdentifier + Signer<Sig>,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let mut builder =
        CertificateBuilder::new(profile, random_serial()?, validity, subject, spki, signer)?;
    if !extended_key_usage.is_empty() {
        builder.add_extension(&ExtendedKeyUsage(extended_key_usage.to_vec()))?;
    }
    Ok(builder.build::<Sig>()?)
}

/// How [`sign_cms`] shapes the SignedData.
#[derive(Debug, Clone)]
pub struct CmsOptions {
    /// Leave the content out (detached signature).
    pub detached: bool,
    /// Sign through signed attributes (contentType, messageDigest, signingTime); otherwise the
    /// signature is directly over the payload.
    pub signed_attributes: bool,
    /// The signingTime attribute (with signed attributes only).
    pub signing_time: Option<DateTime<Utc>>,
    /// Certificates added besides the signer's (intermediates).
    pub extra_certificates: Vec<Certificate>,
}

impl Default for CmsOptions {
    fn default() -> CmsOptions {
        CmsOptions {
            detached: false,
            signed_attributes: true,
            signing_time: Some(Utc::now()),
            extra_certificates: Vec::new(),
        }
    }
}

fn any_of<T: Encode>(value: &T) -> anyhow::Result<Any> {
    Ok(Any::from_der(&value.to_der()?)?)
}

fn attribute(id: ObjectIdentifier, value: Any) -> anyhow::Result<Attribute> {
    Ok(Attribute {
        oid: id,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// Signs `payload` into a DER CMS ContentInfo with SignedData, as a browser signer would.
pub fn sign_cms(
    signer: &CertifiedKey,
    payload: &[u8],
    options: &CmsOptions,
) -> anyhow::Result<Vec<u8>> {
    let (signed_attrs, signature) = if options.signed_attributes {
        let mut attrs = vec![
            attribute(oid::ID_CONTENT_TYPE, any_of(&oid::ID_DATA)?)?,
            attribute(
                oid::ID_MESSAGE_DIGEST,
                any_of(&OctetString::new(Sha256::digest(payload).to_vec())?)?,
            )?,
        ];
        if let Some(t) = options.signing_time {
            attrs.push(attribute(oid::ID_SIGNING_TIME, any_of(&to_time(t)?)?)?);
        }
        let attrs = SetOfVec::try_from(attrs)?;
        let signature = signer.key.sign_sha256(&attrs.to_der()?)?;
        (Some(attrs), signature)
    } else {
        (None, signer.key.sign_sha256(payload)?)
    };
    let tbs = &signer.certificate.tbs_certificate;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: AlgorithmIdentifierOwned {
            oid: oid::SHA256,
            parameters: None,
        },
        signed_attrs,
        signature_algorithm: signer.key.cms_signature_algorithm(),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let mut certificates = vec![CertificateChoices::Certificate(signer.certificate.clone())];
    certificates.extend(
        options
            .extra_certificates
            .iter()
            .cloned()
            .map(CertificateChoices::Certificate),
    );
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![AlgorithmIdentifierOwned {
            oid: oid::SHA256,
            parameters: None,
        }])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::ID_DATA,
            econtent: if options.detached {
                None
            } else {
                Some(Any::new(Tag::OctetString, payload.to_vec())?)
            },
        },
        certificates: Some(CertificateSet(SetOfVec::try_from(certificates)?)),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let content_info = ContentInfo {
        content_type: oid::ID_SIGNED_DATA,
        content: any_of(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}

fn pbes2_params<'a>(
    salt: &'a [u8],
    iv: &'a [u8; 16],
) -> anyhow::Result<pkcs5::pbes2::Parameters<'a>> {
    pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(P12_ITERATIONS, salt, iv)
        .map_err(|e| anyhow!("PBES2 parameters: {e}"))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn mac_key(password: &str, salt: &[u8], iterations: i32) -> anyhow::Result<Vec<u8>> {
    pkcs12::kdf::derive_key_utf8::<Sha256>(
        password,
        salt,
        pkcs12::kdf::Pkcs12KeyType::Mac,
        iterations,
        32,
    )
    .map_err(|e| anyhow!("PKCS#12 key derivation: {e}"))
}

/// The `.p12` (PKCS#12) file of a certified key, protected by `password`.
pub fn to_pkcs12(
    certified: &CertifiedKey,
    password: &str,
    friendly_name: &str,
) -> anyhow::Result<Vec<u8>> {
    let cert_der = certified.certificate.to_der()?;
    let local_key_id = Sha256::digest(&cert_der).to_vec();
    let bag_attributes = SetOfVec::try_from(vec![
        attribute(
            oid::FRIENDLY_NAME,
            any_of(&BmpString::from_utf8(friendly_name)?)?,
        )?,
        attribute(oid::LOCAL_KEY_ID, any_of(&OctetString::new(local_key_id)?)?)?,
    ])?;

    // The key: a pkcs8ShroudedKeyBag in a plain data safe.
    let key_salt = random_bytes::<16>();
    let key_iv = random_bytes::<16>();
    let plain_key = certified.key.to_pkcs8_der()?;
    let shrouded = pkcs8::PrivateKeyInfo::try_from(plain_key.as_bytes())
        .map_err(|e| anyhow!("PKCS#8: {e}"))?
        .encrypt_with_params(pbes2_params(&key_salt, &key_iv)?, password)
        .map_err(|e| anyhow!("encrypting the key: {e}"))?;
    let key_bags = vec![pkcs12::safe_bag::SafeBag {
        bag_id: pkcs12::PKCS_12_PKCS8_KEY_BAG_OID,
        bag_value: shrouded.as_bytes().to_vec(),
        bag_attributes: Some(bag_attributes.clone()),
    }];
    let key_safe = ContentInfo {
        content_type: oid::ID_DATA,
        content: Any::new(Tag::OctetString, key_bags.to_der()?)?,
    };

    // The certificate: a certBag in an encryptedData safe.
    let cert_bag = pkcs12::cert_type::CertBag {
        cert_id: oid::X509_CERTIFICATE,
        cert_value: OctetString::new(cert_der)?,
    };
    let cert_bags = vec![pkcs12::safe_bag::SafeBag {
        bag_id: pkcs12::PKCS_12_CERT_BAG_OID,
        bag_value: cert_bag.to_der()?,
        bag_attributes: Some(bag_attributes),
    }];
    let cert_salt = random_bytes::<16>();
    let cert_iv = random_bytes::<16>();
    let params = pbes2_params(&cert_salt, &cert_iv)?;
    let encrypted = params
        .encrypt(password, &cert_bags.to_der()?)
        .map_err(|e| anyhow!("encrypting the certificate: {e}"))?;
    let scheme = pkcs5::EncryptionScheme::from(params);
    let cert_safe = ContentInfo {
        content_type: oid::ID_ENCRYPTED_DATA,
        content: any_of(&EncryptedData {
            version: CmsVersion::V0,
            enc_content_info: EncryptedContentInfo {
                content_type: oid::ID_DATA,
                content_enc_alg: AlgorithmIdentifierOwned::from_der(&scheme.to_der()?)?,
                encrypted_content: Some(OctetString::new(encrypted)?),
            },
            unprotected_attrs: None,
        })?,
    };

    let auth_safe = vec![cert_safe, key_safe].to_der()?;
    let mac_salt = random_bytes::<16>();
    let iterations = i32::try_from(P12_ITERATIONS)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&mac_key(password, &mac_salt, iterations)?)
        .map_err(|e| anyhow!("HMAC: {e}"))?;
    mac.update(&auth_safe);
    let pfx = pkcs12::pfx::Pfx {
        version: pkcs12::pfx::Version::V3,
        auth_safe: ContentInfo {
            content_type: oid::ID_DATA,
            content: Any::new(Tag::OctetString, auth_safe)?,
        },
        mac_data: Some(pkcs12::mac_data::MacData {
            mac: pkcs12::digest_info::DigestInfo {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oid::SHA256,
                    parameters: Some(Any::null()),
                },
                digest: OctetString::new(mac.finalize().into_bytes().to_vec())?,
            },
            mac_salt: OctetString::new(mac_salt.to_vec())?,
            iterations,
        }),
    };
    Ok(pfx.to_der()?)
}

/// The value of a decoded SafeBag: pkcs12 0.1 keeps the `[0] EXPLICIT` wrapper when decoding.
fn bag_value(bag: &pkcs12::safe_bag::SafeBag) -> anyhow::Result<&[u8]> {
    let any = AnyRef::from_der(&bag.bag_value)?;
    if any.tag().is_context_specific() {
        Ok(any.value())
    } else {
        Ok(&bag.bag_value)
    }
}

/// Reads a `.p12` file written by [`to_pkcs12`] (or any PBES2 / SHA-256-MAC PKCS#12 with one
/// key): checks the MAC with `password`, decrypts the key and finds its certificate.
pub fn read_pkcs12(bytes: &[u8], password: &str) -> anyhow::Result<CertifiedKey> {
    let pfx = pkcs12::pfx::Pfx::from_der(bytes).map_err(|e| anyhow!("not a PKCS#12 file: {e}"))?;
    if pfx.auth_safe.content_type != oid::ID_DATA || pfx.auth_safe.content.tag() != Tag::OctetString
    {
        bail!("unsupported PKCS#12 content");
    }
    let auth_safe = pfx.auth_safe.content.value();
    let mac_data = pfx.mac_data.context("the PKCS#12 file has no MAC")?;
    if mac_data.mac.algorithm.oid != oid::SHA256 {
        bail!(
            "unsupported PKCS#12 MAC algorithm {}",
            mac_data.mac.algorithm.oid
        );
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&mac_key(
        password,
        mac_data.mac_salt.as_bytes(),
        mac_data.iterations,
    )?)
    .map_err(|e| anyhow!("HMAC: {e}"))?;
    mac.update(auth_safe);
    mac.verify_slice(mac_data.mac.digest.as_bytes())
        .map_err(|_| anyhow!("wrong password or damaged PKCS#12 file"))?;

    let mut bags = Vec::new();
    for safe in Vec::<ContentInfo>::from_der(auth_safe)? {
        let contents = if safe.content_type == oid::ID_DATA {
            if safe.content.tag() != Tag::OctetString {
                bail!("unsupported PKCS#12 safe");
            }
            safe.content.value().to_vec()
        } else if safe.content_type == oid::ID_ENCRYPTED_DATA {
            let data: EncryptedData = safe.content.decode_as()?;
            let scheme = pkcs5::EncryptionScheme::try_from(
                data.enc_content_info.content_enc_alg.to_der()?.as_slice(),
            )
            .map_err(|e| anyhow!("PKCS#12 encryption: {e}"))?
            .decrypt(
                password,
                data.enc_content_info
                    .encrypted_content
                    .as_ref()
                    .context("empty encrypted safe")?
                    .as_bytes(),
            )
            .map_err(|e| anyhow!("decrypting the PKCS#12 safe: {e}"))?;
            scheme
        } else {
            bail!("unsupported PKCS#12 safe {}", safe.content_type);
        };
        bags.extend(Vec::<pkcs12::safe_bag::SafeBag>::from_der(&contents)?);
    }

    let mut key = None;
    let mut certificates = Vec::new();
    for bag in &bags {
        let value = bag_value(bag)?;
        if bag.bag_id == pkcs12::PKCS_12_PKCS8_KEY_BAG_OID {
            let plain = pkcs8::EncryptedPrivateKeyInfo::try_from(value)
                .map_err(|e| anyhow!("PKCS#8: {e}"))?
                .decrypt(password)
                .map_err(|e| anyhow!("decrypting the key: {e}"))?;
            key = Some(PrivateKey::from_pkcs8_der(plain.as_bytes())?);
        } else if bag.bag_id == pkcs12::PKCS_12_CERT_BAG_OID {
            let cert_bag = pkcs12::cert_type::CertBag::from_der(value)?;
            if cert_bag.cert_id == oid::X509_CERTIFICATE {
                certificates.push(Certificate::from_der(cert_bag.cert_value.as_bytes())?);
            }
        }
    }
    let key = key.context("the PKCS#12 file has no key")?;
    let spki = key.public_key_info()?;
    let certificate = certificates
        .into_iter()
        .find(|c| c.tbs_certificate.subject_public_key_info == spki)
        .context("the PKCS#12 file has no certificate for its key")?;
    Ok(CertifiedKey { certificate, key })
}

/// What [`write_demo_pki`] wrote.
#[derive(Debug, Clone)]
pub struct DemoPki {
    /// `trust/demo-root.pem`.
    pub root_pem: PathBuf,
    /// The `.p12` files, two per user.
    pub key_files: Vec<PathBuf>,
}

/// The password of the demo `.p12` files written on a fresh demo database.
pub const DEMO_P12_PASSWORD: &str = "demo1234";

/// The demo root's common name.
pub const DEMO_ROOT_NAME: &str = "Talapker DEMO Root CA (не для эксплуатации)";

/// Writes a fresh demo PKI under `dir`: the root certificate `trust/demo-root.pem` and, for each
/// `(login, full name, IIN)`, `keys/AUTH_RSA256_<login>.p12` and `keys/AUTH_ECDSA_<login>.p12`
/// protected by `password`. Existing files are replaced; the root key is not kept.
pub fn write_demo_pki(
    dir: &Path,
    users: &[(&str, &str, &str)],
    password: &str,
) -> anyhow::Result<DemoPki> {
    let trust_dir = dir.join("trust");
    let keys_dir = dir.join("keys");
    for d in [&trust_dir, &keys_dir] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let root = CertifiedKey::generate_root(DEMO_ROOT_NAME, KeyKind::Rsa)?;
    let root_pem = trust_dir.join("demo-root.pem");
    std::fs::write(&root_pem, root.certificate_pem()?)
        .with_context(|| format!("writing {}", root_pem.display()))?;
    let mut key_files = Vec::new();
    for (login, name, iin) in users {
        for (kind, prefix) in [
            (KeyKind::Rsa, "AUTH_RSA256"),
            (KeyKind::Ecdsa, "AUTH_ECDSA"),
        ] {
            let user = root.issue_user(name, iin, kind)?;
            let path = keys_dir.join(format!("{prefix}_{login}.p12"));
            std::fs::write(&path, to_pkcs12(&user, password, name)?)
                .with_context(|| format!("writing {}", path.display()))?;
            key_files.push(path);
        }
    }
    Ok(DemoPki {
        root_pem,
        key_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::verify::{verify_list_signature, TrustStore};

    #[test]
    fn a_demo_p12_is_read_back_with_its_password_and_refused_with_a_wrong_one() {
        let root = CertifiedKey::generate_root("Test Root", KeyKind::Ecdsa).unwrap();
        for kind in [KeyKind::Ecdsa, KeyKind::Rsa] {
            let user = root
                .issue_user("Асанова Жазира", "860929400441", kind)
                .unwrap();
            let p12 = to_pkcs12(&user, "demo1234", "Асанова Жазира").unwrap();
            let back = read_pkcs12(&p12, "demo1234").unwrap();
            assert_eq!(back.certificate, user.certificate);
            assert_eq!(back.key.kind(), kind);
            assert_eq!(
                back.key.public_key_info().unwrap(),
                user.key.public_key_info().unwrap()
            );
            let err = read_pkcs12(&p12, "demo12345").unwrap_err();
            assert!(err.to_string().contains("wrong password"), "{err}");
            assert!(read_pkcs12(&p12, "").is_err());
            assert!(read_pkcs12(&p12[..p12.len() / 2], "demo1234").is_err());
            assert!(read_pkcs12(b"", "demo1234").is_err());
        }
    }

    #[test]
    fn a_demo_p12_uses_pbes2_with_pbkdf2_sha256_and_aes256_cbc_and_a_sha256_mac() {
        let root = CertifiedKey::generate_root("Test Root", KeyKind::Ecdsa).unwrap();
        let user = root
            .issue_user("Асанова Жазира", "860929400441", KeyKind::Ecdsa)
            .unwrap();
        let p12 = to_pkcs12(&user, "demo1234", "x").unwrap();
        let pfx = pkcs12::pfx::Pfx::from_der(&p12).unwrap();
        let mac = pfx.mac_data.unwrap();
        assert_eq!(mac.mac.algorithm.oid, oid::SHA256);
        assert_eq!(mac.iterations, 10_000);
        let safes = Vec::<ContentInfo>::from_der(pfx.auth_safe.content.value()).unwrap();
        assert_eq!(safes.len(), 2);
        let encrypted: EncryptedData = safes[0].content.decode_as().unwrap();
        let alg = encrypted.enc_content_info.content_enc_alg.to_der().unwrap();
        let keys = Vec::<pkcs12::safe_bag::SafeBag>::from_der(safes[1].content.value()).unwrap();
        let shrouded = pkcs8::EncryptedPrivateKeyInfo::try_from(bag_value(&keys[0]).unwrap())
            .unwrap()
            .encryption_algorithm;
        for scheme in [
            pkcs5::EncryptionScheme::try_from(alg.as_slice()).unwrap(),
            shrouded,
        ] {
            let pbes2 = scheme.pbes2().unwrap();
            assert!(matches!(
                pbes2.encryption,
                pkcs5::pbes2::EncryptionScheme::Aes256Cbc { .. }
            ));
            let pbkdf2 = pbes2.kdf.pbkdf2().unwrap();
            assert_eq!(pbkdf2.prf, pkcs5::pbes2::Pbkdf2Prf::HmacWithSha256);
            assert_eq!(pbkdf2.iteration_count, 10_000);
        }
    }

    #[test]
    fn the_demo_pki_writes_a_root_and_keys_whose_signatures_verify_against_it() {
        let dir = tempfile::tempdir().unwrap();
        let users = [("mg_field", "Дюсенгалиев Арман Кентаевич", "941109450905")];
        let pki = write_demo_pki(dir.path(), &users, "demo1234").unwrap();
        assert_eq!(pki.root_pem, dir.path().join("trust/demo-root.pem"));
        assert_eq!(
            pki.key_files,
            vec![
                dir.path().join("keys/AUTH_RSA256_mg_field.p12"),
                dir.path().join("keys/AUTH_ECDSA_mg_field.p12"),
            ]
        );
        let trust = TrustStore::from_dir(&dir.path().join("trust")).unwrap();
        assert_eq!(trust.len(), 1);
        for (path, algorithm) in pki.key_files.iter().zip(["RSA", "ECDSA P-256"]) {
            let user = read_pkcs12(&std::fs::read(path).unwrap(), "demo1234").unwrap();
            let cms = sign_cms(&user, b"list", &CmsOptions::default()).unwrap();
            let summary =
                verify_list_signature(&cms, b"list", &trust, "941109450905", Utc::now()).unwrap();
            assert_eq!(summary.algorithm, algorithm);
            assert_eq!(
                summary.subject,
                "CN=Дюсенгалиев Арман Кентаевич, SERIALNUMBER=IIN941109450905, C=KZ"
            );
            assert_eq!(summary.issuer, format!("CN={DEMO_ROOT_NAME}, C=KZ"));
            let validity = summary.not_after - summary.not_before;
            assert_eq!(validity.num_days(), 366);
        }
    }
}
