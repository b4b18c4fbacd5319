//! The mscep_admin page as NDES renders it, for the MDM connectors that scrape it (Fleet,
//! Zentral, ManageEngine, SCEP proxies): same sentences, same `<B> … </B>` around the values,
//! UTF-16 like NDES, so a scraper using `(?i)The enrollment challenge password is: <B> (\S*)`
//! gets a one-time challenge. Served only to accounts that authenticated with HTTP Basic
//! (`basic.rs`); a person's session still gets `page.rs`'s page.
//!
//! NDES answers its two refusals a scraper recognises — "The password cache is full." and
//! "You do not have sufficient permission to enroll with SCEP." — with HTTP 200 and that
//! text, and connectors only look at the text after a 200 (an error status becomes "wrong URL
//! or credentials"), so scepd does the same. The CA thumbprint is SHA-256, not NDES's MD5,
//! grouped like NDES's.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use edge::listener::Peer as Connection;
use serde::Deserialize;

use super::basic::{self, plain_text};
use super::error::AdminError;
use super::state::AdminState;

/// The page for connectors that send credentials only after a 401 (go-ntlmssp, .NET's
/// HttpClient): an anonymous request here is answered with the Basic challenge, where the
/// person's page shows its login form.
pub const BASIC_PAGE_PATH: &str = "/certsrv/mscep_admin/basic/";

/// NDES's refusal when the administrator's unused challenges reached the limit.
pub const PASSWORD_CACHE_FULL: &str = "The password cache is full.";

/// NDES's refusal when the administrator may not enroll for the template.
pub const NO_PERMISSION: &str = "You do not have sufficient permission to enroll with SCEP.";

/// What the page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdesPage<'a> {
    Challenge {
        /// Uppercase hex of the CA certificate's SHA-256.
        ca_thumbprint: &'a str,
        challenge: &'a str,
        valid_minutes: u64,
    },
    PasswordCacheFull,
    NoPermission,
}

/// Uppercase hex in groups of eight, as NDES shows a thumbprint.
pub fn thumbprint(hex: &str) -> String {
    let upper: Vec<char> = hex
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    upper
        .chunks(8)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

impl NdesPage<'_> {
    /// The HTML. The values are hex and the challenge alphabet, but are escaped all the same.
    pub fn html(&self) -> String {
        let mut body = String::from(
            "<P ID=locPageTitle> Network Device Enrollment Service allows you to obtain \
certificates for routers or other network devices using the Simple Certificate Enrollment \
Protocol (SCEP). </P>\r\n",
        );
        match self {
            NdesPage::Challenge {
                ca_thumbprint,
                challenge,
                valid_minutes,
            } => {
                let _ = write!(
                    body,
                    "<P> To complete certificate enrollment for your network device you will \
need the following information:\r\n\
<P> The thumbprint (hash value) for the CA certificate is: <B> {} </B>\r\n\
<P> The enrollment challenge password is: <B> {} </B>\r\n\
<P> This password can be used only once and will expire within {valid_minutes} minutes.\r\n\
<P> Each enrollment requires a new challenge password. You can refresh this web page to \
obtain a new challenge password.\r\n",
                    super::html::escape(ca_thumbprint),
                    super::html::escape(challenge),
                );
            }
            NdesPage::PasswordCacheFull => {
                let _ = write!(
                    body,
                    "<P> {PASSWORD_CACHE_FULL} <P> Network Device Enrollment Service keeps \
unused passwords until they are used or expire. Use or let expire the passwords already \
obtained, then refresh this web page.\r\n"
                );
            }
            NdesPage::NoPermission => {
                let _ = write!(
                    body,
                    "<P> {NO_PERMISSION} Please contact your system administrator.\r\n"
                );
            }
        }
        format!(
            "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; charset=UTF-16\">\
<Title>Network Device Enrollment Service</Title></Head>\r\n\
<Body BgColor=#FFFFFF><Font ID=locPageFont Face=\"Arial\">\r\n{body}</Font></Body></HTML>\r\n"
        )
    }

    /// 200 with the page in UTF-16LE after a byte-order mark, which every connector's decoder
    /// reads (Go's BOM override, Python's and Java's "utf-16").
    pub fn response(&self) -> Response {
        let html = self.html();
        let mut bytes = Vec::with_capacity(2 + html.len() * 2);
        bytes.extend_from_slice(&[0xFF, 0xFE]);
        for unit in html.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-16")],
            bytes,
        )
            .into_response()
    }
}

#[derive(Deserialize)]
pub struct TemplateQuery {
    pub template: Option<String>,
}

/// The NDES page for an account authenticated with HTTP Basic: a fresh one-time challenge for
/// `template` (default: the account's only template), or NDES's refusal.
pub async fn answer(
    state: &AdminState,
    connection: &Connection,
    headers: &HeaderMap,
    template: Option<String>,
) -> Response {
    let principal = match basic::authenticate(state, connection, headers).await {
        Ok(principal) => principal,
        Err(refusal) => return refusal.response(),
    };
    let issued = state.issue_unbound_challenge(&principal, template).await;
    match issued {
        Ok(issued) => {
            let left = issued
                .expires_at
                .saturating_sub(crate::clock::unix_now())
                .max(0);
            let ca_thumbprint = thumbprint(&state.fingerprints.ca);
            NdesPage::Challenge {
                ca_thumbprint: &ca_thumbprint,
                challenge: &issued.secret,
                valid_minutes: u64::try_from(left).unwrap_or(0).div_ceil(60),
            }
            .response()
        }
        Err(AdminError::Forbidden(_)) => NdesPage::NoPermission.response(),
        Err(AdminError::TooManyChallenges(_)) => NdesPage::PasswordCacheFull.response(),
        Err(e) => {
            if let AdminError::Internal(detail) = &e {
                tracing::error!(error = %detail, "mscep_admin for HTTP Basic");
            }
            let mut response = plain_text(e.status(), &e.to_string());
            e.decorate(&mut response);
            response
        }
    }
}

type Shared = State<Arc<AdminState>>;

/// [`BASIC_PAGE_PATH`]: HTTP Basic only; anonymous requests get the Basic challenge.
pub async fn show(
    State(state): Shared,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    Query(query): Query<TemplateQuery>,
) -> Response {
    answer(&state, &connection, &headers, query.template).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// The expression connectors scrape with (Fleet's, and the issue's), by hand: the first
    /// non-space run after the label and one space.
    fn scrape(page: &str) -> Option<&str> {
        let lower = page.to_ascii_lowercase();
        let label = "the enrollment challenge password is: <b> ";
        let start = lower.find(label)? + label.len();
        let rest = &page[start..];
        Some(rest.split(char::is_whitespace).next().unwrap_or_default())
    }

    #[test]
    fn the_challenge_page_reads_like_ndes() {
        let page = NdesPage::Challenge {
            ca_thumbprint: "0A1B2C3D 4E5F6071",
            challenge: "Ab3dEf",
            valid_minutes: 60,
        }
        .html();
        assert_eq!(scrape(&page), Some("Ab3dEf"));
        assert!(page.contains(
            "The thumbprint (hash value) for the CA certificate is: <B> 0A1B2C3D 4E5F6071 </B>"
        ));
        assert!(page.contains("The enrollment challenge password is: <B> Ab3dEf </B>"));
        assert!(page.contains("will expire within 60 minutes."));
        assert!(!page.contains(PASSWORD_CACHE_FULL) && !page.contains(NO_PERMISSION));
    }

    #[test]
    fn the_refusals_carry_ndes_sentences_and_no_challenge() {
        let full = NdesPage::PasswordCacheFull.html();
        assert!(full.contains(PASSWORD_CACHE_FULL));
        assert_eq!(scrape(&full), None);
        let denied = NdesPage::NoPermission.html();
        assert!(denied.contains(NO_PERMISSION));
        assert_eq!(scrape(&denied), None);
    }

    #[test]
    fn the_answer_is_utf16le_after_a_byte_order_mark() {
        let response = NdesPage::NoPermission.response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-16"
        );
        let bytes = futures_body(response);
        assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        let text = String::from_utf16(&units).unwrap();
        assert_eq!(text, NdesPage::NoPermission.html());
    }

    fn futures_body(response: Response) -> Vec<u8> {
        let body = response.into_body();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(body, usize::MAX))
            .unwrap()
            .to_vec()
    }

    #[test]
    fn thumbprints_are_grouped_uppercase_hex() {
        assert_eq!(
            thumbprint("a656fa66ab12b433a2da5cf7cc153d9a"),
            "A656FA66 AB12B433 A2DA5CF7 CC153D9A"
        );
        assert_eq!(thumbprint("ab:cd"), "ABCD");
    }
}
