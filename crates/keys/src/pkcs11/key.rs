//! A key object inside a token, used through [`Signer`] / [`Decrypter`].

use std::fmt;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use der::Encode;
use der::asn1::UintRef;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::attributes::KeyAttributes;
use super::token::Pkcs11Token;
use crate::verify::{self, PublicKeyKind};
use crate::{Decrypter, DigestAlgorithm, KeyError, KeyRole, SignatureAlgorithm, Signer, random};

/// A private key in a PKCS#11 token, loaded for one [`KeyRole`].
///
/// Holds an object handle and the public key; the private value never leaves the token. Every
/// [`Signer::sign`] and [`Decrypter::decrypt_rsa_pkcs1v15`] call **blocks** on the token: from
/// async code call it inside `tokio::task::spawn_blocking`.
pub struct Pkcs11Key {
    token: Arc<Pkcs11Token>,
    role: KeyRole,
    label: String,
    handle: ObjectHandle,
    kind: PublicKeyKind,
    spki_der: Vec<u8>,
    attributes: KeyAttributes,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token.label())
            .field("label", &self.label)
            .field("role", &self.role)
            .field("type", &self.key_type())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    pub(super) fn new(
        token: Arc<Pkcs11Token>,
        role: KeyRole,
        label: &str,
        handle: ObjectHandle,
        kind: PublicKeyKind,
        spki_der: Vec<u8>,
        attributes: KeyAttributes,
    ) -> Self {
        Self {
            token,
            role,
            label: label.to_owned(),
            handle,
            kind,
            spki_der,
            attributes,
        }
    }

    /// The one job this key was loaded for.
    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// The key's `CKA_LABEL`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token the key lives in.
    pub fn token(&self) -> &Arc<Pkcs11Token> {
        &self.token
    }

    /// The attributes checked at load (e.g. to warn at start when `always_sensitive` or
    /// `never_extractable` is false: an imported key that may exist elsewhere).
    pub fn attributes(&self) -> &KeyAttributes {
        &self.attributes
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// "RSA-3072", "P-256", ... for logs and `scepd doctor`.
    pub fn key_type(&self) -> String {
        match self.kind {
            PublicKeyKind::Rsa { bits } => format!("RSA-{bits}"),
            PublicKeyKind::EcP384 => "P-384".to_owned(),
            PublicKeyKind::EcP256 => "P-256".to_owned(),
        }
    }

    /// Fail unless this key was loaded for `expected` (wiring check at start-up).
    pub fn require_role(&self, expected: KeyRole) -> Result<(), KeyError> {
        self.role.require(expected)
    }

    /// This key as a shared [`Signer`] for `expected` (a signing role).
    pub fn into_signer(self, expected: KeyRole) -> Result<Arc<dyn Signer>, KeyError> {
        self.role.require_signer(expected)?;
        Ok(Arc::new(self))
    }

    /// This key as a shared [`Decrypter`]; it must have been loaded for
    /// [`KeyRole::RaDecryption`].
    pub fn into_decrypter(self) -> Result<Arc<dyn Decrypter>, KeyError> {
        self.role.require(KeyRole::RaDecryption)?;
        Ok(Arc::new(self))
    }

    /// Prove that the private key and the public key we built belong together, with one
    /// operation of the key's own role (a wrong public key object would otherwise only show
    /// when relying parties reject what we sign).
    pub(super) fn self_test(&self) -> Result<(), KeyError> {
        let mismatch = || {
            KeyError::Backend(format!(
                "PKCS#11 key \"{}\": the private key does not match its public key object (self-test failed)",
                self.label
            ))
        };
        if self.role.is_signing() {
            let alg = self.default_algorithm();
            let msg = b"scepd PKCS#11 key self-test";
            let sig = self.sign(alg, msg)?;
            verify::verify_signature(&self.spki_der, alg, msg, &sig).map_err(|_| mismatch())
        } else {
            let secret = Zeroizing::new(random::bytes(32)?);
            let ct =
                crate::encrypt_rsa_pkcs1v15(&self.spki_der, &secret).map_err(|_| mismatch())?;
            let pt = self.decrypt_rsa_pkcs1v15(&ct).map_err(|_| mismatch())?;
            if bool::from(pt.as_slice().ct_eq(secret.as_slice())) {
                Ok(())
            } else {
                Err(mismatch())
            }
        }
    }

    fn sign_error(&self, e: cryptoki::error::Error) -> KeyError {
        KeyError::Backend(format!(
            "PKCS#11 token \"{}\", key \"{}\": C_Sign: {e}",
            self.token.label(),
            self.label
        ))
    }
}

impl Signer for Pkcs11Key {
    fn role(&self) -> KeyRole {
        self.role
    }

    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    fn default_algorithm(&self) -> SignatureAlgorithm {
        match self.kind {
            PublicKeyKind::EcP384 => SignatureAlgorithm::EcdsaP384Sha384,
            PublicKeyKind::EcP256 => SignatureAlgorithm::EcdsaP256Sha256,
            PublicKeyKind::Rsa { .. } => SignatureAlgorithm::RsaPkcs1Sha256,
        }
    }

    /// RSA: `CKM_RSA_PKCS` over a DigestInfo hashed here (every token has that mechanism,
    /// whatever hash it lacks). ECDSA: `CKM_ECDSA` over the digest, the token's `r || s`
    /// turned into DER `Ecdsa-Sig-Value`. SHA-1 is refused, as in the software backend.
    fn sign(&self, alg: SignatureAlgorithm, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        if !self.role.is_signing() {
            return Err(KeyError::NotPermitted {
                operation: "sign",
                role: self.role,
            });
        }
        if !self.kind.can_sign(alg) {
            return Err(KeyError::AlgorithmMismatch { algorithm: alg });
        }
        if !self.supports(alg) {
            return Err(KeyError::UnsupportedAlgorithm(alg));
        }
        let digest = alg.digest().digest(msg);
        match self.kind {
            PublicKeyKind::Rsa { .. } => {
                let prefix =
                    digest_info_prefix(alg.digest()).ok_or(KeyError::UnsupportedAlgorithm(alg))?;
                let mut data = Vec::with_capacity(prefix.len() + digest.len());
                data.extend_from_slice(prefix);
                data.extend_from_slice(&digest);
                self.token
                    .run(|s| s.sign(&Mechanism::RsaPkcs, self.handle, &data))?
                    .map_err(|e| self.sign_error(e))
            }
            PublicKeyKind::EcP256 | PublicKeyKind::EcP384 => {
                let raw = self
                    .token
                    .run(|s| s.sign(&Mechanism::Ecdsa, self.handle, &digest))?
                    .map_err(|e| self.sign_error(e))?;
                let field = if self.kind == PublicKeyKind::EcP384 {
                    48
                } else {
                    32
                };
                ecdsa_raw_to_der(&raw, field)
            }
        }
    }

    fn supports(&self, alg: SignatureAlgorithm) -> bool {
        if !self.role.is_signing() {
            return false;
        }
        match self.kind {
            PublicKeyKind::Rsa { .. } => alg.is_rsa() && alg != SignatureAlgorithm::RsaPkcs1Sha1,
            PublicKeyKind::EcP256 => alg == SignatureAlgorithm::EcdsaP256Sha256,
            PublicKeyKind::EcP384 => alg == SignatureAlgorithm::EcdsaP384Sha384,
        }
    }
}

impl Decrypter for Pkcs11Key {
    fn role(&self) -> KeyRole {
        self.role
    }

    fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// `CKM_RSA_PKCS` decryption in the token. Every failure is the bare
    /// [`KeyError::Decrypt`]: no token error code may tell a padding failure from another.
    fn decrypt_rsa_pkcs1v15(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if self.role != KeyRole::RaDecryption || !matches!(self.kind, PublicKeyKind::Rsa { .. }) {
            return Err(KeyError::NotPermitted {
                operation: "decrypt",
                role: self.role,
            });
        }
        match self
            .token
            .run(|s| s.decrypt(&Mechanism::RsaPkcs, self.handle, ciphertext))
        {
            Ok(Ok(plaintext)) => Ok(Zeroizing::new(plaintext)),
            _ => Err(KeyError::Decrypt),
        }
    }
}

/// The DER prefix of `DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest
/// OCTET STRING }` for each hash, up to the digest bytes: RFC 8017 §9.2, Note 1.
fn digest_info_prefix(digest: DigestAlgorithm) -> Option<&'static [u8]> {
    match digest {
        DigestAlgorithm::Sha256 => Some(&[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ]),
        DigestAlgorithm::Sha384 => Some(&[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ]),
        DigestAlgorithm::Sha512 => Some(&[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ]),
        _ => None,
    }
}

/// ```asn1
/// Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
/// ```
/// RFC 5480 §2.2 / RFC 3279 §2.2.3: what X.509 and CMS carry.
#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// A `CKM_ECDSA` signature (PKCS#11 v2.40 §2.3.1: `r || s`, each the length of the curve's
/// order) as DER `Ecdsa-Sig-Value`.
fn ecdsa_raw_to_der(raw: &[u8], field_len: usize) -> Result<Vec<u8>, KeyError> {
    if raw.len() != field_len.saturating_mul(2) {
        return Err(KeyError::Backend(format!(
            "PKCS#11 CKM_ECDSA returned {} bytes, expected {}",
            raw.len(),
            field_len.saturating_mul(2)
        )));
    }
    let (r, s) = raw.split_at(field_len);
    let bad = |_| KeyError::Rejected("cannot encode the ECDSA signature");
    EcdsaSigValue {
        r: UintRef::new(r).map_err(bad)?,
        s: UintRef::new(s).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn digest_info_prefixes_match_the_der_encoder() {
        use der::asn1::{Null, OctetString};
        use spki::AlgorithmIdentifierOwned;

        #[derive(der::Sequence)]
        struct DigestInfo {
            alg: AlgorithmIdentifierOwned,
            digest: OctetString,
        }
        for d in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let digest = d.digest(b"abc");
            let der = DigestInfo {
                alg: AlgorithmIdentifierOwned {
                    oid: d.oid(),
                    parameters: Some(der::Any::from(Null)),
                },
                digest: OctetString::new(digest.clone()).unwrap(),
            }
            .to_der()
            .unwrap();
            let mut ours = digest_info_prefix(d).unwrap().to_vec();
            ours.extend_from_slice(&digest);
            assert_eq!(ours, der, "{d:?}");
        }
        assert!(digest_info_prefix(DigestAlgorithm::Sha1).is_none());
    }

    #[test]
    fn raw_ecdsa_becomes_der_with_minimal_integers() {
        let mut raw = vec![0u8; 64];
        raw[1] = 0x7f; // r with a leading zero byte: encoded without it
        raw[32] = 0x80; // s with the high bit set: encoded with a 0x00 pad
        raw[63] = 1;
        let der = ecdsa_raw_to_der(&raw, 32).unwrap();
        let parsed = EcdsaSigValue::from_der(&der).unwrap();
        assert_eq!(parsed.r.as_bytes().len(), 31);
        assert_eq!(parsed.s.as_bytes(), &raw[32..]);
        assert!(ecdsa_raw_to_der(&raw[..63], 32).is_err());
        assert!(ecdsa_raw_to_der(&raw, 48).is_err());
    }
}
