//! `cargo fuzz run envelope -s none`: the EnvelopedData parser (BER constructed `[0]`,
//! several RecipientInfos) must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = scep::parse_envelope(data) {
        for recipient in &envelope.recipients {
            if let scep::RecipientInfoKind::KeyTransport(ktri) = &recipient.kind {
                let _ = envelope.recipients_for(&ktri.rid).count();
            }
        }
    }
});
