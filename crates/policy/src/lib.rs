//! Pure issuance decisions: templates, name rules, challenge bindings. No crypto, no storage, no clock.
#![forbid(unsafe_code)]
