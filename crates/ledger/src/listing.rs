//! Certificates as operators see them, with revocation and delivery state.

use crate::{CertificateRecord, RevocationRecord};

/// Which certificates [`Store::list_certificates`] returns: every `Some` filter must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFilter {
    /// Only this template's certificates.
    pub template: Option<String>,
    /// `Some(true)`: only revoked ones; `Some(false)`: only unrevoked ones.
    pub revoked: Option<bool>,
    /// `Some(true)`: only those never marked delivered; `Some(false)`: only delivered ones.
    pub uncollected: Option<bool>,
    /// At most this many rows (a page).
    pub limit: u32,
    /// Only serials sorting after this canonical serial: pass the last serial of the
    /// previous page to get the next one.
    pub after_serial: Option<String>,
}

impl Default for CertificateFilter {
    fn default() -> Self {
        CertificateFilter {
            template: None,
            revoked: None,
            uncollected: None,
            limit: 100,
            after_serial: None,
        }
    }
}

/// A certificate with its revocation and delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateEntry {
    pub certificate: CertificateRecord,
    pub revocation: Option<RevocationRecord>,
    /// When a SUCCESS reply carrying it was first produced for the client; `None`:
    /// uncollected.
    pub delivered_at: Option<i64>,
}
