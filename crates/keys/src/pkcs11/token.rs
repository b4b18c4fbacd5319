//! One logged-in PKCS#11 token and the keys found or generated in it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Encode;
use zeroize::Zeroizing;

use super::attributes::{self, KeyAttributes, PRIVATE_KEY_ATTRIBUTES};
use super::key::Pkcs11Key;
use super::pool::Pool;
use super::{module, pin};
use crate::verify::{self, PublicKeyKind, RSA_MAX_BITS, RSA_MIN_BITS};
use crate::{KeyError, KeyRole, Signer, oids, random};

/// A named curve the token can generate a key on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EcCurve {
    /// NIST P-256 (secp256r1), signs with ECDSA-SHA256.
    P256,
    /// NIST P-384 (secp384r1), signs with ECDSA-SHA384.
    P384,
}

impl EcCurve {
    fn oid(self) -> der::asn1::ObjectIdentifier {
        match self {
            Self::P256 => oids::SECP256R1,
            Self::P384 => oids::SECP384R1,
        }
    }
}

/// A PKCS#11 token, logged in as the user, with a bounded session pool.
///
/// Open each token once per process and share the `Arc` between the keys loaded from it: a
/// second [`Pkcs11Token::open`] of a token this process is logged in to is refused (PKCS#11
/// login state is per application). The PIN is used for `C_Login` and dropped (zeroized); it
/// is not kept, so a token that loses its login (HSM restart) needs the service restarted.
pub struct Pkcs11Token {
    module: PathBuf,
    label: String,
    ctx: Pkcs11,
    slot: Slot,
    pool: Pool,
    /// Keeps the application's login alive while the pool opens and closes sessions.
    login: Mutex<Session>,
    /// Public keys loaded so far, with their role and label: one key, one job.
    loaded: Mutex<Vec<(Vec<u8>, KeyRole, String)>>,
}

impl fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("module", &self.module)
            .field("label", &self.label)
            .field("slot", &self.slot.id())
            .finish_non_exhaustive()
    }
}

impl Drop for Pkcs11Token {
    fn drop(&mut self) {
        self.pool.close_idle();
        if let Ok(session) = self.login.lock() {
            // Nothing useful to do with a failure while shutting down.
            let _ = session.logout();
        }
    }
}

impl Pkcs11Token {
    /// Sessions open at most at once on one token; further callers wait for one.
    pub const MAX_SESSIONS: usize = 8;

    /// Load the module at `module_path`, find the token labelled `token_label` and log in
    /// with the user `pin`.
    ///
    /// Refused before touching the token: a well-known default PIN (catalogue ESC12). Errors
    /// name the module and the token, never the PIN.
    pub fn open(
        module_path: &Path,
        token_label: &str,
        pin: Zeroizing<String>,
    ) -> Result<Arc<Self>, KeyError> {
        if pin::is_default_pin(&pin) {
            return Err(KeyError::Backend(format!(
                "PKCS#11 token \"{token_label}\": the PIN is empty or a well-known default \
                 (1234, 123456, 0000, password, 0001password, ...); set a unique user PIN \
                 (security-catalogue ESC12)"
            )));
        }
        let ctx = module::context(module_path)?;
        let slot = find_slot(&ctx, module_path, token_label)?;
        let fail = |what: &str, e: Error| {
            KeyError::Backend(format!("PKCS#11 token \"{token_label}\": {what}: {e}"))
        };
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| fail("C_OpenSession", e))?;
        let auth = AuthPin::from(pin.trim());
        drop(pin);
        session
            .login(UserType::User, Some(&auth))
            .map_err(|e| login_error(token_label, e))?;
        drop(auth);
        Ok(Arc::new(Self {
            module: module_path.to_path_buf(),
            label: token_label.to_owned(),
            pool: Pool::new(ctx.clone(), slot, Self::MAX_SESSIONS),
            ctx,
            slot,
            login: Mutex::new(session),
            loaded: Mutex::new(Vec::new()),
        }))
    }

    /// The token label.
    pub fn label(&self) -> &str {
        &self.label
    }

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

    /// Destroy every object labelled `label` (the private and public halves of a key pair a
    /// rollover replaced), so a retired enrollment-agent or CA key cannot be used again.
    /// Returns how many objects were destroyed; a label without a private key is refused.
    pub fn destroy_key_pair(self: &Arc<Self>, label: &str) -> Result<usize, KeyError> {
        let fail = |what: &str, e: Error| self.error(label, what, e);
        let session = self
            .ctx
            .open_rw_session(self.slot)
            .map_err(|e| fail("C_OpenSession", e))?;
        let private = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(|e| fail("C_FindObjects", e))?;
        if private.is_empty() {
            return Err(KeyError::Backend(format!(
                "PKCS#11 token \"{}\": no private key labelled \"{label}\" to destroy",
                self.label
            )));
        }
        let objects = session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(|e| fail("C_FindObjects", e))?;
        for object in &objects {
            session
                .destroy_object(*object)
                .map_err(|e| fail("C_DestroyObject", e))?;
        }
        Ok(objects.len())
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

    /// The SPKI of the private key `handle`: from the public key object with the same
    /// `CKA_ID` (or, failing that, the same label), or for RSA from the private key's own
    /// public attributes.
    fn public_key_spki(
        &self,
        session: &Session,
        handle: ObjectHandle,
        attrs: &KeyAttributes,
        label: &str,
    ) -> Result<Vec<u8>, KeyError> {
        let fail = |what: &str, e: Error| self.error(label, what, e);
        let find = |by: Attribute| {
            session
                .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), by])
                .map_err(|e| fail("C_FindObjects", e))
        };
        let mut public = if attrs.id.is_empty() {
            Vec::new()
        } else {
            find(Attribute::Id(attrs.id.clone()))?
        };
        if public.len() != 1 {
            public = find(Attribute::Label(label.as_bytes().to_vec()))?;
        }
        let source = match public.as_slice() {
            [one] => *one,
            // RSA private key objects carry the modulus and public exponent (PKCS#11 v2.40
            // §2.1.3); EC ones have no point.
            _ if attrs.rsa => handle,
            _ => {
                return Err(KeyError::Backend(format!(
                    "PKCS#11 token \"{}\": no single public key object with the CKA_ID or label of \"{label}\"",
                    self.label
                )));
            }
        };
        let wanted: &[AttributeType] = if attrs.rsa {
            &[AttributeType::Modulus, AttributeType::PublicExponent]
        } else {
            &[AttributeType::EcParams, AttributeType::EcPoint]
        };
        let values = session
            .get_attributes(source, wanted)
            .map_err(|e| fail("C_GetAttributeValue", e))?;
        let bytes = |t: AttributeType| {
            values
                .iter()
                .find_map(|a| match (t, a) {
                    (AttributeType::Modulus, Attribute::Modulus(v))
                    | (AttributeType::PublicExponent, Attribute::PublicExponent(v))
                    | (AttributeType::EcParams, Attribute::EcParams(v))
                    | (AttributeType::EcPoint, Attribute::EcPoint(v)) => Some(v.as_slice()),
                    _ => None,
                })
                .ok_or_else(|| {
                    KeyError::Backend(format!(
                        "PKCS#11 key \"{label}\": the public key has no {t}"
                    ))
                })
        };
        if attrs.rsa {
            attributes::rsa_spki(
                bytes(AttributeType::Modulus)?,
                bytes(AttributeType::PublicExponent)?,
            )
        } else {
            let curve = attributes::ec_curve(bytes(AttributeType::EcParams)?)?;
            attributes::ec_spki(curve, bytes(AttributeType::EcPoint)?)
        }
    }

    /// Record that the key with public key `spki` serves `role`; refuse it if it was loaded
    /// for another role before (two labels, or two objects, for the same key pair included).
    fn claim(&self, role: KeyRole, label: &str, spki: &[u8]) -> Result<(), KeyError> {
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| KeyError::Backend("PKCS#11 key registry poisoned".into()))?;
        if let Some((_, other, other_label)) =
            loaded.iter().find(|(k, r, _)| k == spki && *r != role)
        {
            return Err(KeyError::Backend(format!(
                "PKCS#11 key \"{label}\" for the {role} role is the same key pair as \"{other_label}\" \
                 already loaded for the {other} role: one key, one job"
            )));
        }
        if !loaded.iter().any(|(k, r, _)| k == spki && *r == role) {
            loaded.push((spki.to_vec(), role, label.to_owned()));
        }
        Ok(())
    }

    /// Run `op` on a pooled session.
    pub(super) fn run<T>(
        &self,
        op: impl FnOnce(&Session) -> Result<T, Error>,
    ) -> Result<Result<T, Error>, KeyError> {
        let mut lease = self.pool.get()?;
        let result = op(lease.session()?);
        Ok(lease.check(result))
    }

    fn error(&self, label: &str, what: &str, e: Error) -> KeyError {
        KeyError::Backend(format!(
            "PKCS#11 token \"{}\", key \"{label}\": {what}: {e}",
            self.label
        ))
    }
}

fn find_slot(ctx: &Pkcs11, module: &Path, token_label: &str) -> Result<Slot, KeyError> {
    let fail = |what: &str, e: Error| {
        KeyError::Backend(format!("PKCS#11 module {}: {what}: {e}", module.display()))
    };
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| fail("C_GetSlotList", e))?;
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| fail("C_GetTokenInfo", e))?;
        // Labels are blank-padded to 32 bytes on the wire.
        let label = info.label().trim_end_matches([' ', '\0']);
        if label == token_label {
            if info.user_pin_locked() {
                return Err(KeyError::Backend(format!(
                    "PKCS#11 token \"{token_label}\": the user PIN is locked"
                )));
            }
            found.push(slot);
        } else {
            seen.push(format!("\"{label}\""));
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(KeyError::Backend(format!(
            "PKCS#11 module {}: no token labelled \"{token_label}\" (tokens present: {})",
            module.display(),
            if seen.is_empty() {
                "none".to_owned()
            } else {
                seen.join(", ")
            }
        ))),
        many => Err(KeyError::Backend(format!(
            "PKCS#11 module {}: {} tokens labelled \"{token_label}\"; token labels must be unique",
            module.display(),
            many.len()
        ))),
    }
}

fn login_error(token_label: &str, e: Error) -> KeyError {
    let why = match &e {
        Error::Pkcs11(RvError::PinIncorrect, _) => "wrong PIN (CKR_PIN_INCORRECT)".to_owned(),
        Error::Pkcs11(RvError::PinLocked, _) => "the user PIN is locked (CKR_PIN_LOCKED)".to_owned(),
        Error::Pkcs11(RvError::PinExpired, _) => "the user PIN has expired".to_owned(),
        Error::Pkcs11(RvError::UserPinNotInitialized, _) => {
            "the token has no user PIN (initialise it with softhsm2-util --init-token or the vendor tool)"
                .to_owned()
        }
        Error::Pkcs11(RvError::UserAlreadyLoggedIn, _) => {
            "this process is already logged in to the token: open it once and share the Arc<Pkcs11Token>"
                .to_owned()
        }
        // The error is an RV code from the module: it carries no PIN.
        other => format!("C_Login: {other}"),
    };
    KeyError::Backend(format!("PKCS#11 token \"{token_label}\": {why}"))
}
