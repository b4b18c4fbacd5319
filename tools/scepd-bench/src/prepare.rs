//! Everything an enrollment needs before the clock starts: the signer certificate, the
//! challenge, the CSR and the whole PKIOperation message (PKCSReq, AES-256-CBC, SHA-256).
//!
//! Building the messages up front keeps the client's own RSA work (two signatures and a key
//! transport per request) out of the timed phase, so the clock measures the server.

use std::process::Command;

use scep_client::{
    CaBundle, ClientKey, ContentCipher, CsrBuilder, DigestAlgorithm, PkcsReqBuilder,
};

use crate::error::BenchError;

/// Where challenge passwords come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChallengeSource {
    /// No challengePassword attribute.
    None,
    /// One static password for every device (micromdm `scepserver -challenge`).
    Static(String),
    /// A shell command run once per device; its trimmed stdout is the challenge
    /// (e.g. `scepd challenge issue --data-dir DIR`: one-time challenges).
    Command(String),
}

impl ChallengeSource {
    fn obtain(&self) -> Result<Option<String>, BenchError> {
        match self {
            Self::None => Ok(None),
            Self::Static(s) => Ok(Some(s.clone())),
            Self::Command(cmd) => {
                let out = Command::new("sh").arg("-c").arg(cmd).output()?;
                if !out.status.success() {
                    return Err(BenchError::Challenge(format!(
                        "{cmd}: {}: {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                if text.is_empty() || text.contains(char::is_whitespace) {
                    return Err(BenchError::Challenge(format!(
                        "{cmd}: expected one challenge on stdout, got {text:?}"
                    )));
                }
                Ok(Some(text))
            }
        }
    }
}

/// One simulated device with its request ready to send.
#[derive(Debug)]
pub struct Device {
    /// Its RSA-2048 key.
    pub key: ClientKey,
    /// Its self-signed signer certificate.
    pub certificate: Vec<u8>,
    /// The DER PKIOperation to POST.
    pub message: Vec<u8>,
    /// The senderNonce the reply must echo.
    pub nonce: Vec<u8>,
    /// The transactionID the reply must echo.
    pub transaction_id: String,
}

/// Builds one device per key on `threads` threads; `run_tag` makes subjects unique across
/// runs (micromdm refuses a second certificate for a subject it has already issued).
pub fn devices(
    keys_der: &[Vec<u8>],
    bundle: &CaBundle,
    challenges: &ChallengeSource,
    run_tag: &str,
    threads: usize,
) -> Result<Vec<Device>, BenchError> {
    let threads = threads.clamp(1, keys_der.len().max(1));
    let per = keys_der.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = keys_der
            .chunks(per)
            .enumerate()
            .map(|(chunk, keys)| {
                scope.spawn(move || {
                    keys.iter()
                        .enumerate()
                        .map(|(i, der)| {
                            let subject = format!("CN=bench-{run_tag}-{}", chunk * per + i);
                            device(der, bundle, challenges, &subject)
                        })
                        .collect::<Result<Vec<_>, BenchError>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(keys_der.len());
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| BenchError::Option("a preparation thread panicked".into()))??,
            );
        }
        Ok(out)
    })
}

fn device(
    key_der: &[u8],
    bundle: &CaBundle,
    challenges: &ChallengeSource,
    subject: &str,
) -> Result<Device, BenchError> {
    let key = ClientKey::from_pkcs8_der(key_der)?;
    let certificate = scep_client::self_signed_certificate(&key, subject)?;
    let mut csr = CsrBuilder::new(subject);
    if let Some(challenge) = challenges.obtain()? {
        csr = csr.challenge(&challenge);
    }
    let csr = csr.build(&key)?;
    let builder = PkcsReqBuilder::new(&key, &certificate, &bundle.ra_encryption, csr)?
        .digest(DigestAlgorithm::Sha256)
        .cipher(ContentCipher::Aes256Cbc);
    let message = builder.build()?;
    let nonce = builder.get_sender_nonce().to_vec();
    let transaction_id = builder.get_transaction_id().to_owned();
    Ok(Device {
        key,
        certificate,
        message,
        nonce,
        transaction_id,
    })
}
