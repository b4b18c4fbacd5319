//! The request attributes: challengePassword, extensionRequest, friendlyName, and the rest
//! (reported by OID so policy can refuse them: ESC6 name-value pairs and the like).

use der::{Decode, Encode};
use policy::{RequestedExtension, SanFact};
use x509_cert::attr::Attributes;
use x509_cert::ext::Extension;

use super::challenge::{self, ChallengePassword};
use super::{CsrError, extensions};
use crate::oids;

#[derive(Default)]
pub(super) struct ParsedAttributes {
    pub challenge_password: Option<ChallengePassword>,
    pub requested_extensions: Vec<RequestedExtension>,
    pub subject_alt_names: Vec<SanFact>,
    pub other_attributes: Vec<String>,
}

pub(super) fn read(attributes: &Attributes) -> Result<ParsedAttributes, CsrError> {
    let mut out = ParsedAttributes::default();
    let mut seen_extension_request = false;
    for attr in attributes.iter() {
        let repeated = || CsrError::RepeatedAttribute {
            oid: attr.oid.to_string(),
        };
        let single_value = || {
            let mut values = attr.values.iter();
            match (values.next(), values.next()) {
                (Some(v), None) => Ok(v),
                _ => Err(repeated()),
            }
        };
        if attr.oid == oids::CHALLENGE_PASSWORD {
            if out.challenge_password.is_some() {
                return Err(repeated());
            }
            out.challenge_password = Some(challenge::read(single_value()?)?);
        } else if attr.oid == oids::EXTENSION_REQUEST {
            if seen_extension_request {
                return Err(repeated());
            }
            seen_extension_request = true;
            let value = single_value()?;
            let list =
                Vec::<Extension>::from_der(&value.to_der()?).map_err(CsrError::ExtensionRequest)?;
            for ext in &list {
                out.requested_extensions
                    .push(extensions::read(ext, &mut out.subject_alt_names));
            }
        } else if attr.oid == oids::FRIENDLY_NAME {
            // A label for the client's own key store; never used.
        } else {
            out.other_attributes.push(attr.oid.to_string());
        }
    }
    Ok(out)
}
