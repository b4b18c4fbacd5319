//! The client's one error enum.

/// Why the client could not build a request or read a reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("key: {0}")]
    Key(#[from] keys::KeyError),
    #[error("cipher: {0}")]
    Cipher(#[from] keys::CipherError),
    #[error("signature verification: {0}")]
    Verify(#[from] keys::VerifyError),
    #[error("SCEP codec: {0}")]
    Codec(#[from] scep::CodecError),
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("openssl: {0}")]
    Openssl(String),
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    #[error("reply recipientNonce does not echo our senderNonce")]
    NonceMismatch,
    #[error("reply is not signed by the certificate it names")]
    BadReplySignature,
}
