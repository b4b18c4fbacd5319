//! Pure issuance decisions: templates, name rules, challenge bindings. No crypto, no storage,
//! no clock.
//!
//! "Templates decide, requests propose" (DESIGN.md §3): [`decide`] looks at the facts the
//! `request` crate extracted from a PKCS#10 ([`RequestFacts`]), the template the request is for
//! and the binding of the challenge it used, and answers either an [`IssuanceProfile`] — the
//! only things the CA may put in the certificate — or a [`Refusal`] with a reason for the audit
//! log. The RA calls it before counter-signing and the CA calls it again before signing, so a
//! compromised RA cannot widen a template (security-catalogue §3.F5).
//!
//! Names only an MDM that validated the whole CSR may vouch for (a UPN, the SID URI, e-mail at
//! any domain, the IPsec tunnel EKU) go through [`decide_vouched`] with
//! [`Vouching::CsrValidated`], and only where the template's [`MdmVouched`] allows them;
//! [`decide`] is [`decide_vouched`] with [`Vouching::None`] and never lets them through.
//!
//! Renewals go through [`renewal_decision`], which runs [`decide`] and then holds the request
//! to the old certificate (template, subject, names, window, new key).
//!
//! OIDs are dotted strings here on purpose: this crate depends on no format crate.
#![forbid(unsafe_code)]

mod binding;
mod cidr;
mod decide;
mod facts;
mod glob;
pub mod key_usage;
mod names;
pub mod oid;
mod refusal;
mod renewal;
mod revocation;
mod san;
mod subject;
mod template;
pub mod template_config;
mod vouching;

pub use binding::{Binding, BindingError, SanBinding, parse_subject_display};
pub use cidr::IpRange;
pub use decide::{Decision, IssuanceProfile, decide, decide_vouched};
pub use facts::{
    PublicKeyFacts, RequestFacts, RequestedExtension, RequestedValue, SanFact, SubjectAttribute,
};
pub use names::{normalize_dns_name, subject_display};
pub use refusal::{Refusal, RefusalCode, RefusalReason};
pub use renewal::{RenewalFacts, renewal_decision, renewal_decision_with_ekus};
pub use revocation::{RevocationReason, UnknownRevocationReason};
pub use template::{
    DEFAULT_SUBJECT_ATTRIBUTES, KeyRules, MdmVouched, SanKinds, SanRules, SubjectRules, Template,
    TemplateError, TemplateSpec, ValuePattern,
};
pub use vouching::Vouching;
