//! What a signed challenge says: where it may be used (`aud`, `tpl`), when (`iat`, `nbf`,
//! `exp`), for which names (`sub`, `sans`), and the id the RA spends once (`jti`).

use serde::{Deserialize, Serialize};

use crate::error::ChallengeError;

/// The longest `jti`.
pub const MAX_JTI_LEN: usize = 128;

/// The claims of a signed challenge. Unknown claims are refused rather than ignored: the
/// format is scepd's own, so a claim scepd does not know is a constraint the MDM meant and
/// scepd would silently drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// A unique id, 1 to 128 printable ASCII characters; spent once by the RA.
    pub jti: String,
    /// The SCEP endpoint's name (`/scep/NAME`).
    pub aud: String,
    /// The template the endpoint issues under.
    pub tpl: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not valid before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The subject the certificate must have, RFC 4514 (`CN=dev1,O=Org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The only subjectAltNames the certificate may have: `dns:…`, `email:…`, `ip:…`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
}

impl Claims {
    /// Parses claims JSON and checks their shape (the `jti`, the names), not their time or
    /// scope. Duplicate and unknown claims are refused.
    pub fn from_json(json: &[u8]) -> Result<Self, ChallengeError> {
        let claims: Self = crate::json::from_json_object("claims", json)?;
        claims.check_shape()?;
        Ok(claims)
    }

    /// The id has a usable form, exp is after iat, and the names parse as a binding.
    pub(crate) fn check_shape(&self) -> Result<(), ChallengeError> {
        let printable = |c: char| c.is_ascii_graphic();
        if self.jti.is_empty() || self.jti.len() > MAX_JTI_LEN || !self.jti.chars().all(printable) {
            return Err(ChallengeError::Malformed(format!(
                "jti: 1 to {MAX_JTI_LEN} printable ASCII characters without spaces"
            )));
        }
        if self.aud.is_empty() || self.tpl.is_empty() {
            return Err(ChallengeError::Malformed(
                "aud and tpl must not be empty".into(),
            ));
        }
        if self.exp <= self.iat {
            return Err(ChallengeError::Malformed("exp is not after iat".into()));
        }
        self.binding().check()?;
        if let Some(san) = self.sans.iter().find(|san| !is_bindable(san)) {
            return Err(ChallengeError::UnbindableSan(
                san.chars().take(64).collect(),
            ));
        }
        Ok(())
    }

    /// Checks the claims' times at `now` (Unix seconds), with `leeway` seconds for clocks
    /// that disagree, and refuses a lifetime (`exp - iat`) over `max_lifetime` seconds.
    pub(crate) fn check_time(
        &self,
        now: i64,
        leeway: i64,
        max_lifetime: i64,
    ) -> Result<(), ChallengeError> {
        // Both are i64 from hostile JSON: an overflow is as long as a lifetime gets.
        let lifetime = self.exp.checked_sub(self.iat).unwrap_or(i64::MAX);
        if lifetime > max_lifetime {
            return Err(ChallengeError::LifetimeTooLong {
                lifetime,
                max: max_lifetime,
            });
        }
        if now > self.exp.saturating_add(leeway) {
            return Err(ChallengeError::Expired { exp: self.exp, now });
        }
        let from = self.nbf.map_or(self.iat, |nbf| nbf.max(self.iat));
        if from > now.saturating_add(leeway) {
            return Err(ChallengeError::NotYetValid { from, now });
        }
        Ok(())
    }

    /// The challenge was minted for this endpoint and its template.
    pub(crate) fn check_scope(&self, endpoint: &str, template: &str) -> Result<(), ChallengeError> {
        if self.aud != endpoint {
            return Err(ChallengeError::WrongEndpoint {
                minted_for: self.aud.clone(),
                endpoint: endpoint.to_owned(),
            });
        }
        if self.tpl != template {
            return Err(ChallengeError::WrongTemplate {
                minted_for: self.tpl.clone(),
                template: template.to_owned(),
            });
        }
        Ok(())
    }

    /// The template and names the challenge binds the request to.
    pub fn binding(&self) -> policy::Binding {
        policy::Binding {
            template: Some(self.tpl.clone()),
            subject: self.sub.clone(),
            sans: self.sans.clone(),
        }
    }
}

/// Whether a `sans` entry is of a kind a signed challenge may bind: the names an MDM knows
/// without seeing the CSR (the same rule as a webhook's binding).
fn is_bindable(san: &str) -> bool {
    san.split_once(':').is_some_and(|(kind, _)| {
        ["dns", "ip", "email"].contains(&kind.to_ascii_lowercase().as_str())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            jti: "7f0c".into(),
            aud: "mdm".into(),
            tpl: "device".into(),
            exp: 1_000_600,
            iat: 1_000_000,
            nbf: None,
            sub: Some("CN=dev1,O=Example".into()),
            sans: vec!["dns:dev1.example".into()],
        }
    }

    #[test]
    fn json_round_trips() {
        let json = serde_json::to_vec(&claims()).unwrap();
        assert_eq!(Claims::from_json(&json).unwrap(), claims());
    }

    #[test]
    fn unknown_duplicate_and_mistyped_claims_are_refused() {
        for json in [
            r#"{"jti":"a","aud":"mdm","tpl":"device","exp":2,"iat":1,"eku":["1.2.3"]}"#,
            r#"{"jti":"a","jti":"b","aud":"mdm","tpl":"device","exp":2,"iat":1}"#,
            r#"{"jti":"a","aud":"mdm","tpl":"device","exp":2.5,"iat":1}"#,
            r#"{"jti":"a","aud":["mdm"],"tpl":"device","exp":2,"iat":1}"#,
            r#"{"jti":"a","aud":"mdm","tpl":"device","iat":1}"#,
            r#"[]"#,
            r#"["a","mdm","device",2,1]"#,
        ] {
            assert!(
                matches!(
                    Claims::from_json(json.as_bytes()),
                    Err(ChallengeError::Malformed(_))
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn shape_is_checked() {
        for bad in [
            Claims {
                jti: String::new(),
                ..claims()
            },
            Claims {
                jti: "a b".into(),
                ..claims()
            },
            Claims {
                jti: "j".repeat(129),
                ..claims()
            },
            Claims {
                aud: String::new(),
                ..claims()
            },
            Claims {
                exp: 1_000_000,
                ..claims()
            },
        ] {
            assert!(
                matches!(bad.check_shape(), Err(ChallengeError::Malformed(_))),
                "{bad:?}"
            );
        }
        let bad_san = Claims {
            sans: vec!["dns:not a name".into()],
            ..claims()
        };
        assert!(matches!(
            bad_san.check_shape(),
            Err(ChallengeError::BadBinding(_))
        ));
        for unbindable in [
            "upn:admin@example.com",
            "UPN:admin@example.com",
            "uri:tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1104",
        ] {
            let claims = Claims {
                sans: vec!["dns:dev1.example".into(), unbindable.into()],
                ..claims()
            };
            assert_eq!(
                claims.check_shape(),
                Err(ChallengeError::UnbindableSan(
                    unbindable.chars().take(64).collect()
                )),
                "{unbindable}"
            );
        }
        let email = Claims {
            sans: vec!["email:ops@example.com".into(), "ip:10.0.0.7".into()],
            ..claims()
        };
        assert_eq!(email.check_shape(), Ok(()));
        let bad_sub = Claims {
            sub: Some("CN=a+O=b".into()),
            ..claims()
        };
        assert!(matches!(
            bad_sub.check_shape(),
            Err(ChallengeError::BadBinding(_))
        ));
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let c = claims();
        assert!(c.check_time(1_000_000, 60, 600).is_ok());
        assert!(c.check_time(1_000_660, 60, 600).is_ok());
        assert!(matches!(
            c.check_time(1_000_661, 60, 600),
            Err(ChallengeError::Expired { .. })
        ));
        assert!(c.check_time(999_940, 60, 600).is_ok());
        assert!(matches!(
            c.check_time(999_939, 60, 600),
            Err(ChallengeError::NotYetValid { .. })
        ));
        let later = Claims {
            nbf: Some(1_000_300),
            ..claims()
        };
        assert!(matches!(
            later.check_time(1_000_100, 60, 600),
            Err(ChallengeError::NotYetValid {
                from: 1_000_300,
                ..
            })
        ));
        assert!(matches!(
            c.check_time(1_000_000, 60, 599),
            Err(ChallengeError::LifetimeTooLong {
                lifetime: 600,
                max: 599
            })
        ));
        let extreme = Claims {
            exp: i64::MAX,
            iat: i64::MIN,
            ..claims()
        };
        assert!(matches!(
            extreme.check_time(0, 60, 600),
            Err(ChallengeError::LifetimeTooLong { .. })
        ));
    }
}
