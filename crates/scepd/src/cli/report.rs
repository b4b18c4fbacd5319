//! What the ceremonies print for the operator.

/// The SHA-256 fingerprints devices and MDMs pin (never MD5, unlike NDES's policy module).
pub fn print_fingerprints(fingerprints: &[(&'static str, String, String)]) {
    println!("SHA-256 fingerprints to pin:");
    for (what, fingerprint, subject) in fingerprints {
        println!("  {what:<19} {fingerprint}  {subject}");
    }
}
