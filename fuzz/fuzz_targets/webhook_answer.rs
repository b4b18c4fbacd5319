//! `cargo fuzz run webhook_answer -s none`: whatever a webhook (or something posing as one)
//! answers, reading it must never panic, and only a documented allow may vouch. The first
//! byte picks the status and content type; the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

const STATUSES: [u16; 4] = [200, 201, 302, 500];
const CONTENT_TYPES: [Option<&str>; 4] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/html"),
    None,
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(selector & 3)];
    let content_type = CONTENT_TYPES[usize::from((selector >> 2) & 3)];
    if let Ok(vouched) = webhook::read_answer("device", status, content_type, body) {
        assert_eq!(status, 200, "only a 200 vouches");
        assert!(content_type.is_some(), "only a typed answer vouches");
        assert_eq!(vouched.binding.template.as_deref(), Some("device"));
        assert!(!vouched.csr_validated, "a webhook never validates a whole CSR");
    }
});
