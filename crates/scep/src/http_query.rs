//! The query string of a SCEP HTTP request (RFC 8894 §4.1: `operation` and `message`),
//! parsed on the raw query: a `+` in base64 must stay a `+`
//! (form decoding would turn it into a space), and repeated or odd parameters are refused.

use percent_encoding::percent_decode_str;

/// The SCEP operations, by their exact wire names.
#[allow(
    clippy::enum_variant_names,
    reason = "PKIOperation is the RFC 8894 name"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    GetCaCaps,
    GetCaCert,
    GetNextCaCert,
    PkiOperation,
}

impl Operation {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "GetCACaps" => Self::GetCaCaps,
            "GetCACert" => Self::GetCaCert,
            "GetNextCACert" => Self::GetNextCaCert,
            "PKIOperation" => Self::PkiOperation,
            _ => return None,
        })
    }
}

/// A parsed SCEP query.
#[derive(Debug, PartialEq, Eq)]
pub struct ScepQuery {
    pub operation: Operation,
    /// The decoded `message` parameter, if present (base64 text for PKIOperation over GET).
    pub message: Option<String>,
}

/// Why a query was refused; each is an HTTP 400 with this text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("missing operation parameter")]
    MissingOperation,
    #[error("unknown operation")]
    UnknownOperation,
    #[error("parameter {0} given more than once")]
    Repeated(&'static str),
    #[error("parameter is not valid percent-encoded UTF-8")]
    BadEncoding,
}

/// Parses `operation=…&message=…`. Other parameters are ignored, as NDES does.
pub fn parse(raw: &str) -> Result<ScepQuery, QueryError> {
    let mut operation = None;
    let mut message = None;
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| QueryError::BadEncoding)?
            .into_owned();
        let (slot, name) = match key {
            "operation" => (&mut operation, "operation"),
            "message" => (&mut message, "message"),
            _ => continue,
        };
        if slot.replace(decoded).is_some() {
            return Err(QueryError::Repeated(name));
        }
    }
    let name = operation.ok_or(QueryError::MissingOperation)?;
    let operation = Operation::parse(&name).ok_or(QueryError::UnknownOperation)?;
    Ok(ScepQuery { operation, message })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn plus_in_base64_stays_a_plus() {
        let q = parse("operation=PKIOperation&message=MIIB+abc/def%2Bghi%3D")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.operation, Operation::PkiOperation);
        assert_eq!(q.message.as_deref(), Some("MIIB+abc/def+ghi="));
    }

    #[test]
    fn operations_are_exact() {
        assert_eq!(
            parse("operation=GetCACaps&message=x").map(|q| q.operation),
            Ok(Operation::GetCaCaps)
        );
        assert_eq!(
            parse("operation=GetCACert").map(|q| q.operation),
            Ok(Operation::GetCaCert)
        );
        assert_eq!(
            parse("operation=getcacaps"),
            Err(QueryError::UnknownOperation)
        );
        assert_eq!(
            parse("operation=PKIOperation%00"),
            Err(QueryError::UnknownOperation)
        );
        assert_eq!(
            parse("operation=PKIOperation%20"),
            Err(QueryError::UnknownOperation)
        );
        assert_eq!(parse(""), Err(QueryError::MissingOperation));
        assert_eq!(parse("message=abc"), Err(QueryError::MissingOperation));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            parse("operation=GetCACert&operation=PKIOperation"),
            Err(QueryError::Repeated("operation"))
        );
        assert_eq!(
            parse("operation=PKIOperation&message=a&message=b"),
            Err(QueryError::Repeated("message"))
        );
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(parse("operation=%FF"), Err(QueryError::BadEncoding));
    }
}
