//! Which requests a browser was made to send from another site (login CSRF and its kin).
//!
//! A browser attaches ambient credentials to a request another site makes it send: the page's
//! session cookie (SameSite=Strict keeps it off cross-site requests, but a login needs no
//! cookie: a forged login form would open a session as the attacker's account) and the client
//! certificate the API accepts. What the browser cannot forge are the `Sec-Fetch-Site` and
//! `Origin` headers it adds itself, so every request other than GET, HEAD and OPTIONS is
//! refused when either names another site. Clients that send neither (curl, scripts, an MDM's
//! API client) are not browsers acting for someone else, and pass.

use axum::http::{HeaderMap, Method, header};

/// Why a request was refused as cross-site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrossSite {
    /// `Sec-Fetch-Site` is present and neither `same-origin` nor `none`.
    #[error(
        "cross-site request refused: Sec-Fetch-Site is {0:?}; the admin listener accepts changes only from its own pages"
    )]
    FetchSite(String),
    /// `Origin` is present and is not `https://` followed by the request's `Host`.
    #[error(
        "cross-site request refused: Origin {origin:?} is not this listener's origin {expected:?}"
    )]
    Origin { origin: String, expected: String },
}

fn safe(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD || *method == Method::OPTIONS
}

/// The decision, on the method and headers alone. A header whose value is not visible ASCII
/// is treated as naming another site: no browser sends one.
pub fn check(method: &Method, headers: &HeaderMap) -> Result<(), CrossSite> {
    if safe(method) {
        return Ok(());
    }
    for value in headers.get_all("sec-fetch-site") {
        let site = value.to_str().unwrap_or("");
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            return Err(CrossSite::FetchSite(
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    }
    let origins = headers.get_all(header::ORIGIN);
    if origins.iter().next().is_none() {
        return Ok(());
    }
    // Without a Host there is no origin of ours to match: `Origin: https://` would otherwise.
    let expected = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .map(|h| format!("https://{h}"));
    for value in origins {
        let origin = value.to_str().ok();
        let matches = match (origin, &expected) {
            (Some(origin), Some(expected)) => origin.eq_ignore_ascii_case(expected),
            _ => false,
        };
        if !matches {
            return Err(CrossSite::Origin {
                origin: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                expected: expected.unwrap_or_else(|| "https://<no Host header>".to_owned()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use axum::http::HeaderValue;

    use super::*;

    const HOST: &str = "scepd.example.net:8443";

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn post(pairs: &[(&'static str, &[u8])]) -> Result<(), CrossSite> {
        check(&Method::POST, &headers(pairs))
    }

    #[test]
    fn safe_methods_pass_whatever_they_carry() {
        let hostile = headers(&[
            ("host", HOST.as_bytes()),
            ("origin", b"https://evil.example"),
            ("sec-fetch-site", b"cross-site"),
        ]);
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(check(&method, &hostile), Ok(()), "{method}");
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(check(&method, &hostile).is_err(), "{method}");
        }
    }

    #[test]
    fn a_request_without_either_header_passes() {
        assert_eq!(post(&[("host", HOST.as_bytes())]), Ok(()));
        assert_eq!(post(&[]), Ok(()));
    }

    #[test]
    fn sec_fetch_site_passes_only_same_origin_and_none() {
        for site in ["same-origin", "none", "Same-Origin"] {
            assert_eq!(
                post(&[("sec-fetch-site", site.as_bytes())]),
                Ok(()),
                "{site}"
            );
        }
        for site in ["cross-site", "same-site", "", "bogus"] {
            assert_eq!(
                post(&[("sec-fetch-site", site.as_bytes())]),
                Err(CrossSite::FetchSite(site.to_owned())),
                "{site}"
            );
        }
        // One refused value among several is enough.
        assert!(
            post(&[
                ("sec-fetch-site", b"same-origin"),
                ("sec-fetch-site", b"cross-site")
            ])
            .is_err()
        );
        assert!(post(&[("sec-fetch-site", b"same-origin\xff")]).is_err());
    }

    #[test]
    fn origin_must_be_https_and_the_host_exactly() {
        let origin = |o: &[u8]| post(&[("host", HOST.as_bytes()), ("origin", o)]);
        assert_eq!(origin(b"https://scepd.example.net:8443"), Ok(()));
        assert_eq!(origin(b"HTTPS://SCEPD.Example.NET:8443"), Ok(()));
        for refused in [
            &b"https://evil.example"[..],
            b"null",
            b"",
            b"http://scepd.example.net:8443",
            b"https://scepd.example.net",
            b"https://scepd.example.net:8444",
            b"https://scepd.example.net:8443/",
            b"https://scepd.example.net:8443.evil.example",
            b"https://sub.scepd.example.net:8443",
            b"https://scepd.example.net:8443\xff",
        ] {
            let refused_with = origin(refused);
            assert!(
                matches!(
                    &refused_with,
                    Err(CrossSite::Origin { expected, .. })
                        if expected == "https://scepd.example.net:8443"
                ),
                "{:?}: {refused_with:?}",
                String::from_utf8_lossy(refused)
            );
        }
        // Every Origin value must match.
        assert!(
            post(&[
                ("host", HOST.as_bytes()),
                ("origin", b"https://scepd.example.net:8443"),
                ("origin", b"https://evil.example"),
            ])
            .is_err()
        );
    }

    #[test]
    fn an_origin_without_a_host_matches_nothing() {
        assert!(post(&[("origin", b"https://")]).is_err());
        assert!(post(&[("host", b""), ("origin", b"https://")]).is_err());
        assert!(post(&[("origin", b"https://scepd.example.net:8443")]).is_err());
    }

    #[test]
    fn both_headers_must_pass() {
        let same_origin = b"https://scepd.example.net:8443";
        assert_eq!(
            post(&[
                ("host", HOST.as_bytes()),
                ("origin", same_origin),
                ("sec-fetch-site", b"same-origin"),
            ]),
            Ok(())
        );
        assert!(
            post(&[
                ("host", HOST.as_bytes()),
                ("origin", same_origin),
                ("sec-fetch-site", b"cross-site"),
            ])
            .is_err()
        );
        assert!(
            post(&[
                ("host", HOST.as_bytes()),
                ("origin", b"https://evil.example"),
                ("sec-fetch-site", b"same-origin"),
            ])
            .is_err()
        );
    }

    #[test]
    fn the_message_says_a_cross_site_request_was_refused() {
        let refused = post(&[("sec-fetch-site", b"cross-site")]).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("cross-site request refused"),
            "{refused}"
        );
        let refused = post(&[("host", HOST.as_bytes()), ("origin", b"null")]).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("cross-site request refused"),
            "{refused}"
        );
    }
}
