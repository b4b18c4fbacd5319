//! The signature on every delivery, and the check a receiver runs on it.
//!
//! `x-scepd-signature: v1=HEX(HMAC-SHA256(secret, TIMESTAMP "." BODY))`, with TIMESTAMP the
//! decimal Unix seconds sent as `x-scepd-timestamp` and BODY the exact bytes received. The
//! timestamp is under the MAC, so a captured delivery cannot be re-dated; a receiver refuses
//! one older than its tolerance, and within the tolerance refuses a `x-scepd-delivery` id it
//! has already seen.

use std::time::{Duration, SystemTime};

use aws_lc_rs::hmac;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-scepd-signature";
/// The header carrying the signed timestamp, decimal Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-scepd-timestamp";
/// The header carrying the delivery's id (also `delivery_id` in the body).
pub const DELIVERY_HEADER: &str = "x-scepd-delivery";
/// How far a delivery's timestamp may be from the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The signature scheme's version prefix.
const SCHEME: &str = "v1=";

/// Why a receiver must refuse a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the timestamp is not decimal Unix seconds")]
    Timestamp,
    #[error("the signature header is not v1= and 64 hex digits")]
    Header,
    #[error("the delivery is {age_secs} s old, past the tolerance (replayed or delayed)")]
    Stale { age_secs: u64 },
    #[error("the delivery is dated {ahead_secs} s in the future, past the tolerance")]
    FromTheFuture { ahead_secs: u64 },
    #[error("the signature does not match (wrong secret, or the body or timestamp changed)")]
    Mismatch,
}

/// The `x-scepd-signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.as_bytes());
    context.update(b".");
    context.update(body);
    format!("{SCHEME}{}", hex::encode(context.sign().as_ref()))
}

/// The receiver's check of a delivery: `timestamp` and `header` as received in
/// `x-scepd-timestamp` and `x-scepd-signature`, `body` the raw bytes (before any JSON
/// parsing), `now` the receiver's clock. The MAC is compared in constant time; a timestamp
/// more than `tolerance` away from `now` is refused whatever the MAC, so a captured delivery
/// replayed later is refused. (Within the tolerance, remember `x-scepd-delivery` ids.)
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use webhook::{DEFAULT_TOLERANCE, SignatureError, sign, verify_signature};
///
/// let secret = b"the secret from scepd's webhook secret file, 32+ bytes";
/// let body = br#"{"version":1,"event":"scep.challenge.verify"}"#;
/// let header = sign(secret, "1767225600", body); // what scepd sends
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_630);
/// assert_eq!(verify_signature(secret, "1767225600", body, &header, now, DEFAULT_TOLERANCE), Ok(()));
///
/// let replayed_later = now + Duration::from_secs(600);
/// assert!(matches!(
///     verify_signature(secret, "1767225600", body, &header, replayed_later, DEFAULT_TOLERANCE),
///     Err(SignatureError::Stale { .. })
/// ));
/// ```
pub fn verify_signature(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    if timestamp.is_empty()
        || timestamp.len() > 19
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::Timestamp);
    }
    let sent = timestamp
        .parse::<u64>()
        .map_err(|_| SignatureError::Timestamp)?;
    let tag = header
        .strip_prefix(SCHEME)
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(SignatureError::Header)?;
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if now > sent && now - sent > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            age_secs: now - sent,
        });
    }
    if sent > now && sent - now > tolerance.as_secs() {
        return Err(SignatureError::FromTheFuture {
            ahead_secs: sent - now,
        });
    }
    let mut signed = Vec::with_capacity(timestamp.len() + 1 + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, &signed, &tag).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_known_vector() {
        // `printf 1700000000.{} | openssl dgst -sha256 -hmac KEY`: receivers in other languages
        // can check their implementation against it.
        assert_eq!(
            sign(SECRET, "1700000000", b"{}"),
            "v1=417adf36b901772f658597a76d329694e335e65fc0849d7715c3ca33406309b5"
        );
    }

    #[test]
    fn a_fresh_delivery_verifies() {
        let header = sign(SECRET, "1700000000", b"{\"a\":1}");
        let ok = verify_signature(
            SECRET,
            "1700000000",
            b"{\"a\":1}",
            &header,
            at(1_700_000_100),
            DEFAULT_TOLERANCE,
        );
        assert_eq!(ok, Ok(()));
    }

    #[test]
    fn a_changed_body_timestamp_or_secret_does_not() {
        let header = sign(SECRET, "1700000000", b"{\"a\":1}");
        let now = at(1_700_000_000);
        let tol = DEFAULT_TOLERANCE;
        assert_eq!(
            verify_signature(SECRET, "1700000000", b"{\"a\":2}", &header, now, tol),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, "1700000001", b"{\"a\":1}", &header, now, tol),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(
                b"another secret",
                "1700000000",
                b"{\"a\":1}",
                &header,
                now,
                tol
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_or_future_delivery_is_refused_whatever_its_mac() {
        let header = sign(SECRET, "1700000000", b"{}");
        assert_eq!(
            verify_signature(
                SECRET,
                "1700000000",
                b"{}",
                &header,
                at(1_700_000_301),
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::Stale { age_secs: 301 })
        );
        assert_eq!(
            verify_signature(
                SECRET,
                "1700000000",
                b"{}",
                &header,
                at(1_699_999_000),
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::FromTheFuture { ahead_secs: 1000 })
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let now = at(1_700_000_000);
        let good = sign(SECRET, "1700000000", b"{}");
        for header in [
            "",
            "v1=",
            "v0=00",
            &good.replace("v1=", "v2="),
            &good[..good.len() - 1],
            &good.replace("v1=", "v1=zz")[..67],
        ] {
            assert_eq!(
                verify_signature(SECRET, "1700000000", b"{}", header, now, DEFAULT_TOLERANCE),
                Err(SignatureError::Header),
                "{header}"
            );
        }
        for timestamp in ["", "-1", "1.5", " 1700000000", "99999999999999999999"] {
            assert_eq!(
                verify_signature(SECRET, timestamp, b"{}", &good, now, DEFAULT_TOLERANCE),
                Err(SignatureError::Timestamp),
                "{timestamp}"
            );
        }
    }
}
