//! Certificates on disk are PEM; in memory and on the wire, DER.

use std::path::{Path, PathBuf};

use der::pem::{LineEnding, PemLabel};
use x509_cert::Certificate;

use crate::io_context::{Context, FileError};

/// A certificate file that could not be read or written; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("encoding {}: {source}", path.display())]
    Encoding {
        path: PathBuf,
        source: der::pem::Error,
    },
    #[error("{}: not a PEM certificate: {source}", path.display())]
    NotPem {
        path: PathBuf,
        source: der::pem::Error,
    },
    #[error("{}: PEM label {label:?}, expected CERTIFICATE", path.display())]
    Label { path: PathBuf, label: String },
    #[error("{}: unterminated PEM certificate", path.display())]
    Unterminated { path: PathBuf },
    /// The `index`th certificate (from 1) of a bundle.
    #[error("{}: certificate {index}: {source}", path.display())]
    InBundle {
        path: PathBuf,
        index: usize,
        source: der::pem::Error,
    },
    #[error("{}: no PEM certificate found", path.display())]
    Empty { path: PathBuf },
}

fn encode(path: &Path, der: &[u8]) -> Result<String, PemError> {
    der::pem::encode_string(Certificate::PEM_LABEL, LineEnding::LF, der).map_err(|e| {
        PemError::Encoding {
            path: path.to_owned(),
            source: e,
        }
    })
}

pub fn write_certificate(path: &Path, der: &[u8]) -> Result<(), PemError> {
    let text = encode(path, der)?;
    std::fs::write(path, text).context(path, "writing")?;
    Ok(())
}

/// Reads one certificate (PEM or DER).
pub fn read_certificate(path: &Path) -> Result<Vec<u8>, PemError> {
    let bytes = std::fs::read(path).context(path, "reading")?;
    if bytes.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(&bytes).map_err(|e| PemError::NotPem {
            path: path.to_owned(),
            source: e,
        })?;
        if label != Certificate::PEM_LABEL {
            return Err(PemError::Label {
                path: path.to_owned(),
                label: label.to_owned(),
            });
        }
        Ok(der)
    } else {
        Ok(bytes)
    }
}

/// Reads every certificate of a PEM bundle, in file order.
pub fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>, PemError> {
    let text = std::fs::read_to_string(path).context(path, "reading")?;
    let mut certificates = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let end_marker = "-----END CERTIFICATE-----";
        let end = rest[start..]
            .find(end_marker)
            .map(|e| start + e + end_marker.len())
            .ok_or_else(|| PemError::Unterminated {
                path: path.to_owned(),
            })?;
        let (label, der) =
            der::pem::decode_vec(&rest.as_bytes()[start..end]).map_err(|e| PemError::InBundle {
                path: path.to_owned(),
                index: certificates.len() + 1,
                source: e,
            })?;
        if label != Certificate::PEM_LABEL {
            return Err(PemError::Label {
                path: path.to_owned(),
                label: label.to_owned(),
            });
        }
        certificates.push(der);
        rest = &rest[end..];
    }
    if certificates.is_empty() {
        return Err(PemError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(certificates)
}

/// Writes several certificates as one PEM bundle.
pub fn write_certificates(path: &Path, certificates: &[Vec<u8>]) -> Result<(), PemError> {
    let mut text = String::new();
    for der in certificates {
        text.push_str(&encode(path, der)?);
    }
    std::fs::write(path, text).context(path, "writing")?;
    Ok(())
}
