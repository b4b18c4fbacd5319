//! `cargo fuzz run pki_message -s none` (stable toolchain): the outer SignedData parser, and
//! everything reachable from a successful parse, must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = scep::parse_pki_message(data) {
        let _ = message.message_type.known();
        let _ = message.signer_certificate();
        let _ = message.reply_message_type();
        let _ = message.message_digest_matches();
        let _ = scep::validate_nonce(message.sender_nonce.as_deref());
        for cert in &message.certificates {
            let _ = scep::parse_certificate_lenient(cert);
        }
        if let Some(content) = &message.content {
            let _ = scep::parse_envelope(content);
        }
    }
    let _ = scep::parse_certs_only(data);
    for t in [
        scep::MessageType::PkcsReq,
        scep::MessageType::CertPoll,
        scep::MessageType::GetCert,
    ] {
        let _ = scep::parse_message_data(t, data);
    }
});
