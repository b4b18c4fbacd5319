//! What can go wrong talking to Intune, named by the step (token, discovery, which call) and
//! the URL. No message ever carries the client secret, the client assertion or a token: they
//! are never put into an error in the first place.

use std::fmt;

/// The Intune (and Graph) calls a client makes after it has a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    ValidateRequest,
    SuccessNotification,
    FailureNotification,
    DownloadRevocationRequests,
    UploadRevocationResults,
}

impl Call {
    /// The name Intune's reference libraries use, for logs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidateRequest => "validateRequest",
            Self::SuccessNotification => "successNotification",
            Self::FailureNotification => "failureNotification",
            Self::DownloadRevocationRequests => "downloadRevocationRequests",
            Self::UploadRevocationResults => "uploadRevocationResults",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Microsoft Graph, for service discovery.
    Graph,
    /// Intune, for the calls to its services.
    Intune,
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Graph => "Microsoft Graph",
            Self::Intune => "Intune",
        })
    }
}

/// The step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Getting a token from Entra ID.
    Token(Audience),
    /// Asking Graph where Intune's services are.
    Discovery,
    /// A call to a discovered Intune service.
    Call(Call),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(audience) => write!(f, "token for {audience}"),
            Self::Discovery => f.write_str("service discovery"),
            Self::Call(call) => call.fmt(f),
        }
    }
}

/// Why an answer could not be had or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// No answer: connecting, TLS, HTTP, the timeout, an answer over its size bound.
    #[error(transparent)]
    Transport(#[from] edge::https_client::ClientError),
    /// An HTTP status outside 2xx (a redirect included: none is followed). `detail` is what
    /// the server said about it, cleaned of control characters and cut short.
    #[error("HTTP {status}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Status { status: u16, detail: String },
    /// A 2xx answer that is not JSON.
    #[error("the answer is not JSON")]
    NotJson,
    /// JSON, but not what the contract says.
    #[error("the answer is not what the contract says: {0}")]
    Malformed(String),
}

impl Failure {
    /// Whether asking again may help (a network failure or a server error), as opposed to an
    /// answer that will not change (a 4xx, an answer that breaks the contract).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::NotJson | Self::Malformed(_) => false,
        }
    }
}

/// Every error of the Intune client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntuneError {
    /// The settings cannot work (caught when the client is made).
    #[error("Intune settings: {0}")]
    Settings(String),
    /// A step got no usable answer: fail closed.
    #[error("{step} ({url}): {failure}")]
    Unavailable {
        step: Step,
        url: String,
        #[source]
        failure: Failure,
    },
    /// Graph's answer names no such service for this tenant. Never replaced by a default URL.
    #[error("service discovery ({url}): Graph lists no {service}")]
    ServiceNotFound { service: &'static str, url: String },
    /// Intune answered, and the answer is not `Success`: `code` is Intune's word for why
    /// (any code other than `Success`, including one this client does not know).
    #[error("{call} ({url}): Intune answered {code}{}",
        if description.is_empty() { String::new() } else { format!(": {description}") })]
    Refused {
        call: Call,
        url: String,
        code: String,
        description: String,
    },
    /// The client assertion could not be signed with the certificate's key.
    #[error("token ({url}): signing the client assertion: {source}")]
    Assertion {
        url: String,
        #[source]
        source: keys::KeyError,
    },
    /// A caller's argument outside what the contract allows (checked before anything is sent).
    #[error("{call}: {reason}")]
    InvalidArgument { call: Call, reason: String },
}

impl IntuneError {
    /// Intune's code when Intune answered with one other than `Success`.
    pub fn refusal_code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the step ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::Unavailable {
                failure: Failure::Transport(edge::https_client::ClientError::Timeout(_)),
                ..
            }
        )
    }
}

/// At most this many characters of what a server says go into an error.
const DETAIL_CHARS: usize = 200;

/// What a server said, safe to put into a log line: control characters become spaces and it
/// is cut short.
pub(crate) fn clean_detail(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(DETAIL_CHARS)
        .collect();
    if text.chars().count() > DETAIL_CHARS {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn details_lose_control_characters_and_length() {
        assert_eq!(clean_detail("a\r\nb\u{1b}[31m"), "a  b [31m");
        let long = "x".repeat(500);
        let cleaned = clean_detail(&long);
        assert_eq!(cleaned.chars().count(), DETAIL_CHARS + 1);
        assert!(cleaned.ends_with('…'));
    }

    #[test]
    fn a_refusal_names_the_call_the_url_and_the_code() {
        let refused = IntuneError::Refused {
            call: Call::ValidateRequest,
            url: "https://intune.example/x".to_owned(),
            code: "ChallengeExpired".to_owned(),
            description: "too late".to_owned(),
        };
        assert_eq!(
            refused.to_string(),
            "validateRequest (https://intune.example/x): Intune answered ChallengeExpired: too late"
        );
        assert_eq!(refused.refusal_code(), Some("ChallengeExpired"));
        let status = IntuneError::Unavailable {
            step: Step::Token(Audience::Graph),
            url: "https://login.example/t/oauth2/v2.0/token".to_owned(),
            failure: Failure::Status {
                status: 401,
                detail: "invalid_client".to_owned(),
            },
        };
        assert_eq!(
            status.to_string(),
            "token for Microsoft Graph (https://login.example/t/oauth2/v2.0/token): HTTP 401: invalid_client"
        );
        assert_eq!(status.refusal_code(), None);
        assert!(!status.is_timeout());
    }

    #[test]
    fn only_network_failures_and_server_errors_are_worth_a_second_try() {
        let status = |status| Failure::Status {
            status,
            detail: String::new(),
        };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(400).is_transient());
        assert!(!status(401).is_transient());
        assert!(!status(302).is_transient());
        assert!(!Failure::NotJson.is_transient());
        assert!(
            Failure::Transport(edge::https_client::ClientError::Timeout(
                std::time::Duration::from_secs(1)
            ))
            .is_transient()
        );
    }
}
