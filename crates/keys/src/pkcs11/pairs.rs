//! Key pairs in a token becoming [`Pkcs11Key`]s: finding one by label or generating one, then
//! checking it may serve its role and proving the pair works. Apart from the token itself, so
//! that the token (sessions, login, the role registry) does not depend on the keys made from
//! it while each key holds its token.

use std::sync::Arc;

use cryptoki::error::Error;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use der::Encode;

use super::attributes::{KeyAttributes, PRIVATE_KEY_ATTRIBUTES};
use super::key::Pkcs11Key;
use super::token::{EcCurve, Pkcs11Token};
use crate::verify::{self, PublicKeyKind, RSA_MAX_BITS, RSA_MIN_BITS};
use crate::{KeyError, KeyRole, Signer, random};

impl Pkcs11Token {
    /// Find the private key labelled `label` (exactly one), check it may serve `role`, build
    /// its public key, and prove the pair works (a sign-and-verify or encrypt-and-decrypt round
    /// trip), so a public key object that belongs to another key is caught at start.
    ///
    /// A key pair already loaded from this token for another role is refused (one key, one
    /// job), whatever label it is found under.
    ///
    /// Refused, with an error naming the label and the attribute: `CKA_SENSITIVE=false`,
    /// `CKA_EXTRACTABLE=true`, `CKA_PRIVATE=false`, no `CKA_SIGN` for a signing role, no
    /// `CKA_DECRYPT` (or not RSA) for [`KeyRole::RaDecryption`], or the other role's usage.
    pub fn load_key(self: &Arc<Self>, role: KeyRole, label: &str) -> Result<Pkcs11Key, KeyError> {
        let (handle, attrs, spki) = {
            let mut lease = self.pool.get()?;
            let fail = |what: &str, e: Error| self.error(label, what, e);
            let found = {
                let session = lease.session()?;
                let r = session.find_objects(&[
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::Label(label.as_bytes().to_vec()),
                ]);
                lease.check(r).map_err(|e| fail("C_FindObjects", e))?
            };
            let handle = match found.as_slice() {
                [one] => *one,
                [] => {
                    return Err(KeyError::Backend(format!(
                        "PKCS#11 token \"{}\": no private key labelled \"{label}\"",
                        self.label
                    )));
                }
                many => {
                    return Err(KeyError::Backend(format!(
                        "PKCS#11 token \"{}\": {} private keys labelled \"{label}\"; a key label must be unique",
                        self.label,
                        many.len()
                    )));
                }
            };
            let raw = {
                let r = lease
                    .session()?
                    .get_attributes(handle, PRIVATE_KEY_ATTRIBUTES);
                lease.check(r).map_err(|e| fail("C_GetAttributeValue", e))?
            };
            let attrs = KeyAttributes::from_attributes(label, &raw)?;
            attrs.check_for(role, label)?;
            let spki = self.public_key_spki(lease.session()?, handle, &attrs, label)?;
            (handle, attrs, spki)
        };
        let kind = verify::describe_public_key(&spki)
            .map_err(|_| KeyError::Rejected("the token's public key is not RSA, P-256 or P-384"))?;
        if let PublicKeyKind::Rsa { bits } = kind
            && !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits)
        {
            return Err(KeyError::UnsupportedKeySize(bits));
        }
        let key = Pkcs11Key::new(Arc::clone(self), role, label, handle, kind, spki, attrs);
        key.self_test()?;
        self.claim(role, label, Signer::public_key_spki_der(&key))?;
        Ok(key)
    }

    /// Generate an RSA key pair of 2048, 3072 or 4096 bits inside the token for `role`
    /// (`CKA_TOKEN`, `CKA_PRIVATE`, `CKA_SENSITIVE` true, `CKA_EXTRACTABLE` false, and
    /// `CKA_SIGN` or `CKA_DECRYPT` per role, never both), then load it.
    pub fn generate_rsa(
        self: &Arc<Self>,
        role: KeyRole,
        label: &str,
        bits: usize,
    ) -> Result<Pkcs11Key, KeyError> {
        if !matches!(bits, 2048 | 3072 | 4096) {
            return Err(KeyError::UnsupportedKeySize(bits));
        }
        let bits = u64::try_from(bits).map_err(|_| KeyError::UnsupportedKeySize(bits))?;
        let public = vec![
            Attribute::ModulusBits(bits.into()),
            Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        ];
        self.generate(role, label, &Mechanism::RsaPkcsKeyPairGen, public)
    }

    /// Generate an EC key pair on `curve` inside the token for a signing `role` (same
    /// attributes as [`Pkcs11Token::generate_rsa`]), then load it.
    pub fn generate_ec(
        self: &Arc<Self>,
        role: KeyRole,
        label: &str,
        curve: EcCurve,
    ) -> Result<Pkcs11Key, KeyError> {
        if !role.is_signing() {
            return Err(KeyError::Unsupported(
                "an EC key cannot be the RA decryption key: SCEP key transport is RSA",
            ));
        }
        let params = curve
            .oid()
            .to_der()
            .map_err(|_| KeyError::Rejected("cannot encode the EC curve"))?;
        let public = vec![Attribute::EcParams(params)];
        self.generate(role, label, &Mechanism::EccKeyPairGen, public)
    }

    fn generate(
        self: &Arc<Self>,
        role: KeyRole,
        label: &str,
        mechanism: &Mechanism<'_>,
        mut public: Vec<Attribute>,
    ) -> Result<Pkcs11Key, KeyError> {
        let fail = |what: &str, e: Error| self.error(label, what, e);
        // Key generation writes token objects: a read-write session, opened for this only.
        let session = self
            .ctx
            .open_rw_session(self.slot)
            .map_err(|e| fail("C_OpenSession", e))?;
        let existing = session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(|e| fail("C_FindObjects", e))?;
        if !existing.is_empty() {
            return Err(KeyError::Backend(format!(
                "PKCS#11 token \"{}\": an object labelled \"{label}\" already exists; choose a new label",
                self.label
            )));
        }
        // CKA_ID links the two halves (and later the certificate); random, not derived from
        // the key, so it says nothing about it.
        let id = random::bytes(16)?;
        let signing = role.is_signing();
        public.extend([
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::Verify(signing),
            Attribute::Encrypt(!signing),
            Attribute::Wrap(false),
            Attribute::Derive(false),
        ]);
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
            Attribute::Sign(signing),
            Attribute::SignRecover(false),
            Attribute::Decrypt(!signing),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ];
        session
            .generate_key_pair(mechanism, &public, &private)
            .map_err(|e| fail("C_GenerateKeyPair", e))?;
        drop(session);
        self.load_key(role, label)
    }
}
