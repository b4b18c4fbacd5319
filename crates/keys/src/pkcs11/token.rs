//! One logged-in PKCS#11 token and the keys found or generated in it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::attributes::{self, KeyAttributes};
use super::pool::Pool;
use super::{module, pin};
use crate::{KeyError, KeyRole, oids};

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
    pub(super) fn oid(self) -> der::asn1::ObjectIdentifier {
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
    pub(super) label: String,
    pub(super) ctx: Pkcs11,
    pub(super) slot: Slot,
    pub(super) pool: Pool,
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

    /// The SPKI of the private key `handle`: from the public key object with the same
    /// `CKA_ID` (or, failing that, the same label), or for RSA from the private key's own
    /// public attributes.
    pub(super) fn public_key_spki(
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
    pub(super) fn claim(&self, role: KeyRole, label: &str, spki: &[u8]) -> Result<(), KeyError> {
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

    pub(super) fn error(&self, label: &str, what: &str, e: Error) -> KeyError {
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
