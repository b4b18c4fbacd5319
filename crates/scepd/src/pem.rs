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

/// Reads every certificate of a PEM bundle, in file order.
pub fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).context(path, "reading")?;
    let mut certificates = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let end_marker = "-----END CERTIFICATE-----";
        let end = rest[start..]
            .find(end_marker)
            .map(|e| start + e + end_marker.len())
            .ok_or_else(|| format!("{}: unterminated PEM certificate", path.display()))?;
        let (label, der) = der::pem::decode_vec(&rest.as_bytes()[start..end]).map_err(|e| {
            format!(
                "{}: certificate {}: {e}",
                path.display(),
                certificates.len() + 1
            )
        })?;
        if label != Certificate::PEM_LABEL {
            return Err(format!(
                "{}: PEM label {label:?}, expected CERTIFICATE",
                path.display()
            ));
        }
        certificates.push(der);
        rest = &rest[end..];
    }
    if certificates.is_empty() {
        return Err(format!("{}: no PEM certificate found", path.display()));
    }
    Ok(certificates)
}

/// Writes several certificates as one PEM bundle.
pub fn write_certificates(path: &Path, certificates: &[Vec<u8>]) -> Result<(), String> {
    let mut text = String::new();
    for der in certificates {
        text.push_str(
            &der::pem::encode_string(Certificate::PEM_LABEL, LineEnding::LF, der)
                .map_err(|e| format!("encoding {}: {e}", path.display()))?,
        );
    }
    std::fs::write(path, text).context(path, "writing")
}
