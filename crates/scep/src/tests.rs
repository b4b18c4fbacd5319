#![allow(clippy::unwrap_used)]
use crate::test_support::fixture;

#[test]
fn dump() {
    let mut names: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n.ends_with(".der")).collect();
    names.sort();
    for n in names {
        let d = fixture(&n);
        match crate::parse_pki_message(&d) {
            Ok(m) => {
                println!("{n}: type={:?} reply={:?} txid={:?} sn={:?} rn={:?} st={:?} fi={:?} fit={:?} dig={:?} certs={} content={:?} ct={:?} md_ok={} sid={:?}",
                    m.message_type(), m.reply_message_type(), m.transaction_id, m.sender_nonce.as_ref().map(|x| x.len()), m.recipient_nonce.as_ref().map(|x| x.len()), m.pki_status, m.fail_info, m.fail_info_text, m.signer.digest(), m.certificates.len(), m.content.as_ref().map(|c| c.len()), m.signer.content_type_is_data(), m.message_digest_matches(),
                    match &m.signer.sid { crate::KeyId::IssuerAndSerial(i) => i.serial.len(), _ => 0 });
                if let Some(c) = &m.content {
                    match crate::parse_envelope(c) {
                        Ok(e) => println!("   env: cipher={:?} recips={} ivlen={} ct={}", e.cipher, e.recipients.len(), e.iv.len(), e.ciphertext.len()),
                        Err(e) => println!("   env err {e}"),
                    }
                }
            }
            Err(e) => {
                println!("{n}: ERR {e}; certs-only: {:?}", crate::parse_certs_only(&d).map(|c| c.len()));
            }
        }
    }
}
