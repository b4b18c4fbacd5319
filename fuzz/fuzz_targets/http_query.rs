//! `cargo fuzz run http_query -s none`: the SCEP GET query parser (percent-decoding of the raw
//! query, repeated and unknown parameters) must never panic, and what it accepts names one of
//! the four operations.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        let _ = scep::http_query::parse(raw);
    }
});
