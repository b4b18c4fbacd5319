//! Reading the receiver's answer to `scep.challenge.verify`. Only one answer is a yes: HTTP
//! 200, `application/json`, `{"decision":"allow"}` (with at most a binding that parses).
//! Everything else is a no: an answer that says no is [`VerifierRefusal::Refused`], one
//! that is not an answer at all (a status other than 200, a redirect, another content type,
//! a body that is not JSON) is [`VerifierRefusal::Unavailable`].

use serde::Deserialize;
use vouch::{VerifierRefusal, Vouched};

/// How much of a deny's `reason` goes into the refusal (and so the audit log).
const MAX_REASON_CHARS: usize = 200;

/// The answer's JSON. Unknown members are refused: an answer scepd does not fully understand
/// is not an allow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    binding: Option<AnswerBinding>,
}

/// The names the receiver allows: the certificate may then carry this subject and only
/// these SANs (the template's policy still applies).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBinding {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    sans: Vec<String>,
}

/// The HTTP answer as the transport saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpAnswer<'a> {
    pub status: u16,
    /// The `content-type` header; `None` when the transport does not report headers.
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// The decision in `answer`, for a request to `template`.
pub(crate) fn read(template: &str, answer: HttpAnswer<'_>) -> Result<Vouched, VerifierRefusal> {
    let unavailable = |what: String| VerifierRefusal::Unavailable(format!("webhook {what}"));
    match answer.status {
        200 => {}
        300..=399 => {
            return Err(unavailable(format!(
                "answered HTTP {} (redirects are not followed)",
                answer.status
            )));
        }
        other => return Err(unavailable(format!("answered HTTP {other}, not 200"))),
    }
    match answer.content_type {
        Some(content_type) if is_json(content_type) => {}
        Some(content_type) => {
            return Err(unavailable(format!(
                "answered content type {:?}, not application/json",
                content_type.chars().take(64).collect::<String>()
            )));
        }
        None => {
            return Err(unavailable(
                "answered without a content type, not application/json".into(),
            ));
        }
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(answer.body)
        .map_err(|e| unavailable(format!("answer is not JSON: {e}")))?;
    let malformed = |why: String| {
        refused(
            "malformed-answer",
            format!("the answer is not {{\"decision\": …}} as documented: {why}"),
        )
    };
    // serde reads a struct from an array too (`["allow"]`): only an object is an answer.
    if answer.body.trim_ascii_start().first() != Some(&b'{') {
        return Err(malformed("not a JSON object".into()));
    }
    // Straight into the struct, not through a `Value`, which would merge duplicate keys.
    let parsed: Answer =
        serde_json::from_slice(answer.body).map_err(|e| malformed(e.to_string()))?;
    match (parsed.decision.as_str(), parsed.reason, parsed.binding) {
        ("allow", None, binding) => allow(template, binding),
        ("allow", Some(_), _) => Err(refused(
            "malformed-answer",
            "an allow with a reason (a reason belongs to a deny)".into(),
        )),
        ("deny", reason, None) => Err(refused(
            "denied",
            format!(
                "webhook denied: {:?}",
                reason
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_REASON_CHARS)
                    .collect::<String>()
            ),
        )),
        ("deny", _, Some(_)) => Err(refused(
            "malformed-answer",
            "a deny with a binding (a binding belongs to an allow)".into(),
        )),
        (other, _, _) => Err(refused(
            "unknown-decision",
            format!(
                "decision {:?} is neither \"allow\" nor \"deny\"",
                other.chars().take(32).collect::<String>()
            ),
        )),
    }
}

fn allow(template: &str, binding: Option<AnswerBinding>) -> Result<Vouched, VerifierRefusal> {
    let binding = binding.unwrap_or(AnswerBinding {
        subject: None,
        sans: Vec::new(),
    });
    let binding = policy::Binding {
        template: Some(template.to_owned()),
        subject: binding.subject,
        sans: binding.sans,
    };
    binding
        .check()
        .map_err(|e| refused("bad-binding", format!("the allow's binding: {e}")))?;
    // A webhook saw the request's facts, not the MDM's record of the device: names only a
    // CSR-validating MDM may vouch for (UPN, URI) are not its to bind.
    let bindable = |san: &String| {
        san.split_once(':').is_some_and(|(kind, _)| {
            ["dns", "ip", "email"].contains(&kind.to_ascii_lowercase().as_str())
        })
    };
    if let Some(san) = binding.sans.iter().find(|san| !bindable(san)) {
        return Err(refused(
            "bad-binding",
            format!(
                "the allow's binding names {:?}: a webhook binds dns:, ip: and email: names only",
                san.chars().take(64).collect::<String>()
            ),
        ));
    }
    Ok(Vouched {
        binding,
        csr_validated: false,
        spend_once: None,
        by: "webhook".to_owned(),
    })
}

fn refused(code: &str, detail: String) -> VerifierRefusal {
    VerifierRefusal::Refused {
        code: code.to_owned(),
        detail,
    }
}

/// `application/json`, with parameters (`; charset=utf-8`) allowed, case-insensitive.
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> Result<Vouched, VerifierRefusal> {
        read(
            "device",
            HttpAnswer {
                status,
                content_type: Some(content_type),
                body: body.as_bytes(),
            },
        )
    }

    fn code(result: Result<Vouched, VerifierRefusal>) -> String {
        result.unwrap_err().code().to_owned()
    }

    #[test]
    fn a_plain_allow_leaves_names_to_the_template() {
        let vouched = answer(200, "application/json", r#"{"decision":"allow"}"#).unwrap();
        assert_eq!(
            vouched,
            Vouched {
                binding: policy::Binding {
                    template: Some("device".into()),
                    subject: None,
                    sans: Vec::new(),
                },
                csr_validated: false,
                spend_once: None,
                by: "webhook".into(),
            }
        );
    }

    #[test]
    fn an_allow_with_a_binding_narrows_the_names() {
        let vouched = answer(
            200,
            "application/json; charset=utf-8",
            r#"{"decision":"allow","binding":{"subject":"CN=dev1","sans":["dns:dev1.example"]}}"#,
        )
        .unwrap();
        assert_eq!(vouched.binding.subject.as_deref(), Some("CN=dev1"));
        assert_eq!(vouched.binding.sans, vec!["dns:dev1.example".to_owned()]);
        assert_eq!(vouched.binding.template.as_deref(), Some("device"));
    }

    #[test]
    fn a_deny_is_refused_with_its_reason() {
        let refusal = answer(
            200,
            "application/json",
            r#"{"decision":"deny","reason":"wiped"}"#,
        );
        assert_eq!(
            refusal,
            Err(VerifierRefusal::Refused {
                code: "denied".into(),
                detail: "webhook denied: \"wiped\"".into()
            })
        );
        assert_eq!(
            code(answer(200, "application/json", r#"{"decision":"deny"}"#)),
            "denied"
        );
        let long = format!(r#"{{"decision":"deny","reason":"{}"}}"#, "x".repeat(5000));
        let Err(VerifierRefusal::Refused { detail, .. }) = answer(200, "application/json", &long)
        else {
            unreachable!("a deny is refused")
        };
        assert!(detail.len() < 300);
    }

    #[test]
    fn anything_but_a_documented_answer_is_refused() {
        for (body, expected) in [
            (r#"{"decision":"Allow"}"#, "unknown-decision"),
            (r#"{"decision":"yes"}"#, "unknown-decision"),
            (r#"{"decision":"allow","ttl":5}"#, "malformed-answer"),
            (r#"{"decision":"allow","reason":"ok"}"#, "malformed-answer"),
            (r#"{"decision":"deny","binding":{}}"#, "malformed-answer"),
            (
                r#"{"decision":"allow","decision":"allow"}"#,
                "malformed-answer",
            ),
            (r#"{"decision":true}"#, "malformed-answer"),
            (r#"{"allow":true}"#, "malformed-answer"),
            (r#"["allow"]"#, "malformed-answer"),
            (r#""allow""#, "malformed-answer"),
            (
                r#"{"decision":"allow","binding":{"sans":["upn:a@b"]}}"#,
                "bad-binding",
            ),
            (
                r#"{"decision":"allow","binding":{"subject":"CN=a+O=b"}}"#,
                "bad-binding",
            ),
            (
                r#"{"decision":"allow","binding":{"sans":"dns:a"}}"#,
                "malformed-answer",
            ),
            (
                r#"{"decision":"allow","binding":{"names":[]}}"#,
                "malformed-answer",
            ),
        ] {
            let result = answer(200, "application/json", body);
            assert!(result.is_err(), "{body} was an allow");
            assert_eq!(code(result), expected, "{body}");
        }
    }

    #[test]
    fn what_is_not_an_answer_is_unavailable() {
        let allow = r#"{"decision":"allow"}"#;
        for result in [
            answer(201, "application/json", allow),
            answer(204, "application/json", ""),
            answer(302, "application/json", allow),
            answer(403, "application/json", allow),
            answer(500, "application/json", allow),
            answer(200, "text/plain", allow),
            answer(200, "application/jsonp", allow),
            answer(200, "text/html", "<html>login</html>"),
            answer(200, "application/json", "allow"),
            answer(200, "application/json", ""),
            answer(200, "application/json", r#"{"decision":"allow"} trailing"#),
        ] {
            assert!(
                matches!(result, Err(VerifierRefusal::Unavailable(_))),
                "{result:?}"
            );
        }
    }
}
