//! Refusing well-known default PINs (security-catalogue ESC12 / I2).
//!
//! ESC12: a YubiHSM left on its factory credential ("password") or a SoftHSM token initialised
//! from a tutorial ("1234") gives any shell user on the host the CA key's signing power. These
//! values are refused outright; the PIN itself never appears in an error.

/// PINs that vendors ship, tutorials print, or that are empty.
pub const DEFAULT_PINS: &[&str] = &[
    "",
    "0000",
    "1111",
    "1234",
    "12345",
    "123456",
    "12345678",
    "password",
    "0001password",
    "changeme",
];

/// Whether `pin` (ignoring surrounding whitespace, which a PIN file's trailing newline adds)
/// is a well-known default.
pub fn is_default_pin(pin: &str) -> bool {
    let pin = pin.trim();
    DEFAULT_PINS.iter().any(|d| d.eq_ignore_ascii_case(pin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_vendor_and_tutorial_defaults() {
        for pin in [
            "1234",
            "123456",
            "0000",
            "password",
            "0001password",
            "",
            "  ",
            "1234\n",
        ] {
            assert!(is_default_pin(pin), "{pin:?}");
        }
        assert!(is_default_pin("PASSWORD"));
        for pin in ["k3-9vQ!x", "12345679", "0001password2"] {
            assert!(!is_default_pin(pin), "{pin:?}");
        }
    }
}
