//! Loading and initialising a PKCS#11 module once per process.
//!
//! `C_Initialize` may be called once per process: a second call fails with
//! `CKR_CRYPTOKI_ALREADY_INITIALIZED`, and `C_Finalize` would pull the module from under every
//! other token opened from it. So the initialised context of each module path is kept for the
//! life of the process and shared by every [`super::Pkcs11Token`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

use crate::KeyError;

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The initialised context for the module at `path`.
pub(super) fn context(path: &Path) -> Result<Pkcs11, KeyError> {
    let canonical = path
        .canonicalize()
        .map_err(|e| KeyError::Backend(format!("PKCS#11 module {}: {e}", path.display())))?;
    let modules = MODULES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut modules = modules
        .lock()
        .map_err(|_| KeyError::Backend("PKCS#11 module registry poisoned".into()))?;
    if let Some(ctx) = modules.get(&canonical) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&canonical).map_err(|e| {
        KeyError::Backend(format!(
            "PKCS#11 module {}: cannot load: {e}",
            path.display()
        ))
    })?;
    // OS locking: sessions are used from several threads (one at a time each).
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(KeyError::Backend(format!(
                "PKCS#11 module {}: C_Initialize: {e}",
                path.display()
            )));
        }
    }
    modules.insert(canonical, ctx.clone());
    Ok(ctx)
}
