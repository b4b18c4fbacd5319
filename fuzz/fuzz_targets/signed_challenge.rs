//! `cargo fuzz run signed_challenge -s none`: the signed-challenge verifier must never panic on
//! any challenge password a device sends. The first byte picks what the rest is: a whole
//! token (header, base64url, key lookup, signature), or claims JSON that is minted with the
//! test key and verified back, to reach the claims' checks behind a valid signature.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use signed_challenge::{Claims, Settings, SignedChallengeVerifier, TrustedKey, mint};

const PRIVATE: &[u8] =
    include_bytes!("../../crates/signed-challenge/tests/fixtures/openssl-ed25519.pk8.der");
const PUBLIC: &[u8] =
    include_bytes!("../../crates/signed-challenge/tests/fixtures/openssl-ed25519.pub.pem");

fn verifier() -> &'static SignedChallengeVerifier {
    static VERIFIER: OnceLock<SignedChallengeVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key = TrustedKey::from_spki_pem("fuzz", PUBLIC).expect("fixture key");
        SignedChallengeVerifier::new(Settings::new(vec![key])).expect("one key")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        if let Ok(token) = std::str::from_utf8(rest) {
            let _ = verifier().check(token, "mdm", "device", 1_767_225_600);
        }
    } else if let Ok(claims) = Claims::from_json(rest) {
        let token = mint(PRIVATE, "fuzz", &claims).expect("claims that parse can be minted");
        let checked = verifier().check(&token, &claims.aud, &claims.tpl, claims.iat);
        let in_lifetime = claims
            .exp
            .checked_sub(claims.iat)
            .is_some_and(|lifetime| lifetime <= 7 * 24 * 3600);
        let valid_at_iat = claims.nbf.is_none_or(|nbf| nbf <= claims.iat);
        if token.len() <= signed_challenge::MAX_TOKEN_LEN && in_lifetime && valid_at_iat {
            let accepted = checked.expect("a challenge minted for its own scope and time");
            assert_eq!(accepted.claims, claims);
        }
    }
});
