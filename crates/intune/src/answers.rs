//! Every answer scepd reads from Entra ID, Graph and Intune, by one entry point: for the fuzz
//! target (`fuzz/fuzz_targets/intune_answers.rs`). An answer comes over TLS from a
//! Microsoft host, but a TLS-inspecting proxy or a mistake sits between: no answer may panic
//! the reader, whatever its bytes.

/// Which answer `body` is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    Token,
    Discovery,
    Verdict,
    RevocationRequests,
    UploadAcknowledgement,
}

/// Reads `body` (with HTTP `status`) as the answer `kind`; `Err` with the reason when it is
/// not one. Only what the client itself does with such an answer.
pub fn read(kind: AnswerKind, status: u16, body: &[u8]) -> Result<(), String> {
    let json = crate::http::json_answer(status, body).map_err(|e| e.to_string())?;
    match kind {
        AnswerKind::Token => crate::token::read_token(&json, std::time::Instant::now()).map(drop),
        AnswerKind::Discovery => crate::discovery::read_services(&json).map(drop),
        AnswerKind::Verdict => crate::scep_actions::read_verdict(&json).map(drop),
        AnswerKind::RevocationRequests => crate::revocation::read_requests(&json).map(drop),
        AnswerKind::UploadAcknowledgement => crate::revocation::read_upload_answer(&json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_its_answer_and_refuses_others() {
        assert!(read(AnswerKind::Verdict, 200, br#"{"code":"Success"}"#).is_ok());
        assert!(read(AnswerKind::UploadAcknowledgement, 200, br#"{"value":true}"#).is_ok());
        assert!(read(AnswerKind::RevocationRequests, 200, br#"{"value":[]}"#).is_ok());
        assert!(read(AnswerKind::Verdict, 500, br#"{"code":"Success"}"#).is_err());
        assert!(read(AnswerKind::Token, 200, b"not json").is_err());
        assert!(read(AnswerKind::Discovery, 200, br#"{"value":7}"#).is_err());
    }
}
