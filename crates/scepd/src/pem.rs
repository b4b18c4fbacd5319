//! Certificates on disk are PEM; in memory and on the wire, DER.

use std::path::Path;

use der::pem::{LineEnding, PemLabel};
use x509_cert::Certificate;

use crate::io_context::Context;

pub fn write_certificate(path: &Path, der: &[u8]) -> Result<(), String> {
    let text = der::pem::encode_string(Certificate::PEM_LABEL, LineEnding::LF, der)
        .map_err(|e| format!("encoding {}: {e}", path.display()))?;
    std::fs::write(path, text).context(path, "writing")
}

/// Reads one certificate (PEM or DER).
pub fn read_certificate(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).context(path, "reading")?;
    if bytes.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(&bytes)
            .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
        if label != Certificate::PEM_LABEL {
            return Err(format!(
                "{}: PEM label {label:?}, expected CERTIFICATE",
                path.display()
            ));
        }
        Ok(der)
    } else {
        Ok(bytes)
    }
}
