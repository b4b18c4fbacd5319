//! Who is asking: the RA a statement, a revocation or a CRL request comes from.

use super::settings::Authorised;

/// How a request reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Over mutual TLS: the SHA-256 of the connection's client certificate (`None`: the
    /// connection presented none).
    Tls(Option<[u8; 32]>),
    /// From the RA of this process.
    InProcess,
}

/// An RA the service recognised as active for this request: made only by
/// [`crate::service::CaService::connected`], and required by every step that acts for an RA,
/// so none of them can run for an RA nobody looked up.
///
/// Nothing outside the service can make one:
///
/// ```compile_fail
/// fn forge() -> ca::service::ConnectedRa {
///     ca::service::ConnectedRa {
///         name: "ra1".into(),
///         counter_signing_certificate: Vec::new(),
///         templates: ca::service::Authorised::Every,
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ConnectedRa {
    name: String,
    counter_signing_certificate: Vec<u8>,
    templates: Authorised,
}

impl ConnectedRa {
    pub(super) fn new(
        name: String,
        counter_signing_certificate: Vec<u8>,
        templates: Authorised,
    ) -> Self {
        ConnectedRa {
            name,
            counter_signing_certificate,
            templates,
        }
    }

    /// The RA's name in the registry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The certificate whose statements are this RA's.
    pub fn counter_signing_certificate(&self) -> &[u8] {
        &self.counter_signing_certificate
    }

    /// Whether this RA may approve requests for `template`.
    pub fn is_authorised_for(&self, template: &str) -> bool {
        self.templates.allows(template)
    }

    /// `ra:NAME`, the actor of the audit entries made for it.
    pub fn actor(&self) -> String {
        format!("ra:{}", self.name)
    }

    /// The refusal of a request outside its templates.
    pub(super) fn not_authorised(&self, template: &str) -> request::answer::CaRefusal {
        request::answer::CaRefusal::TemplateNotAuthorized(format!(
            "RA {:?} is not authorised for template {template:?}",
            self.name
        ))
    }
}
