//! `cargo fuzz run intune_answers -s none`: every answer scepd reads from Entra ID, Graph and
//! Intune (tokens, discovery, verdicts, revocation requests, upload acknowledgements) must be
//! read without a panic, whatever its bytes. The first byte picks the kind and the status.
#![no_main]

use intune::answers::{AnswerKind, read};
use libfuzzer_sys::fuzz_target;

const KINDS: [AnswerKind; 5] = [
    AnswerKind::Token,
    AnswerKind::Discovery,
    AnswerKind::Verdict,
    AnswerKind::RevocationRequests,
    AnswerKind::UploadAcknowledgement,
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(selector % 5)];
    let status = if selector & 0x80 == 0 { 200 } else { 503 };
    let answer = read(kind, status, body);
    if status != 200 {
        assert!(answer.is_err(), "an error status is never an answer");
    }
});
