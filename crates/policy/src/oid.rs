//! Dotted OIDs the decisions refer to. Kept as strings: `policy` has no format dependency.

/// id-kp-clientAuth (RFC 5280 §4.2.1.12).
pub const EKU_CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
/// id-kp-serverAuth (RFC 5280 §4.2.1.12).
pub const EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// id-kp-emailProtection (RFC 5280 §4.2.1.12): S/MIME, i.e. CMS signing; the RA's CertRep
/// signer carries it.
pub const EKU_EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
/// id-kp-codeSigning (RFC 5280 §4.2.1.12).
pub const EKU_CODE_SIGNING: &str = "1.3.6.1.5.5.7.3.3";
/// id-kp-OCSPSigning (RFC 5280 §4.2.1.12): a delegated OCSP responder, never for a device.
pub const EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
/// anyExtendedKeyUsage (RFC 5280 §4.2.1.12): ESC2.
pub const EKU_ANY: &str = "2.5.29.37.0";
/// Microsoft Certificate Request Agent (enrollment agent): ESC3. Only RA certificates carry it.
pub const EKU_CERTIFICATE_REQUEST_AGENT: &str = "1.3.6.1.4.1.311.20.2.1";
/// id-kp-ipsecTunnel (RFC 2459 §4.2.1.13; deprecated by RFC 4945 but still in Intune's SCEP
/// profiles): issued only where an MDM vouched for it (`MdmVouched::ipsec_tunnel_eku`).
pub const EKU_IPSEC_TUNNEL: &str = "1.3.6.1.5.5.7.3.6";
/// Microsoft smart-card logon.
pub const EKU_SMART_CARD_LOGON: &str = "1.3.6.1.4.1.311.20.2.2";

/// id-ce-subjectKeyIdentifier (RFC 5280 §4.2.1.2).
pub const EXT_SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
/// id-ce-keyUsage (RFC 5280 §4.2.1.3).
pub const EXT_KEY_USAGE: &str = "2.5.29.15";
/// id-ce-subjectAltName (RFC 5280 §4.2.1.6).
pub const EXT_SUBJECT_ALT_NAME: &str = "2.5.29.17";
/// id-ce-basicConstraints (RFC 5280 §4.2.1.9).
pub const EXT_BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// id-ce-nameConstraints (RFC 5280 §4.2.1.10).
pub const EXT_NAME_CONSTRAINTS: &str = "2.5.29.30";
/// id-ce-cRLDistributionPoints (RFC 5280 §4.2.1.13).
pub const EXT_CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
/// id-ce-certificatePolicies (RFC 5280 §4.2.1.4): ESC13.
pub const EXT_CERTIFICATE_POLICIES: &str = "2.5.29.32";
/// id-ce-policyConstraints (RFC 5280 §4.2.1.11).
pub const EXT_POLICY_CONSTRAINTS: &str = "2.5.29.36";
/// id-ce-extKeyUsage (RFC 5280 §4.2.1.12).
pub const EXT_EXTENDED_KEY_USAGE: &str = "2.5.29.37";
/// id-pe-authorityInfoAccess (RFC 5280 §4.2.2.1).
pub const EXT_AUTHORITY_INFO_ACCESS: &str = "1.3.6.1.5.5.7.1.1";
/// id-pe-subjectInfoAccess (RFC 5280 §4.2.2.2).
pub const EXT_SUBJECT_INFO_ACCESS: &str = "1.3.6.1.5.5.7.1.11";
/// Microsoft application policies: ESC15 / EKUwu (CVE-2024-49019).
pub const EXT_MS_APPLICATION_POLICIES: &str = "1.3.6.1.4.1.311.21.10";
/// Microsoft certificate template information (v2 templates).
pub const EXT_MS_TEMPLATE_INFO: &str = "1.3.6.1.4.1.311.21.7";
/// Microsoft certificate template name (v1 templates): a client must never pick its template.
pub const EXT_MS_TEMPLATE_NAME: &str = "1.3.6.1.4.1.311.20.2";
/// Microsoft NTDS CA security extension carrying the SID (KB5014754).
pub const EXT_MS_NTDS_SECURITY: &str = "1.3.6.1.4.1.311.25.2";

/// otherName type-id of a Microsoft UPN (ESC1).
pub const SAN_OTHER_NAME_UPN: &str = "1.3.6.1.4.1.311.20.2.3";
/// Prefix of the strong-mapping SID URI SAN (KB5014754).
pub const SAN_URI_SID_PREFIX: &str = "tag:microsoft.com,2022-09-14:sid:";

/// Microsoft enrollment name-value pairs (ESC6, EDITF_ATTRIBUTEENDDATE).
pub const ATTR_MS_ENROLLMENT_NAME_VALUE_PAIR: &str = "1.3.6.1.4.1.311.13.2.1";

/// id-ecPublicKey named curve secp256r1 (RFC 5480 §2.1.1.1).
pub const CURVE_P256: &str = "1.2.840.10045.3.1.7";
/// secp384r1 (RFC 5480 §2.1.1.1).
pub const CURVE_P384: &str = "1.3.132.0.34";
/// secp521r1 (RFC 5480 §2.1.1.1).
pub const CURVE_P521: &str = "1.3.132.0.35";
/// id-ecPublicKey (RFC 5480 §2.1.1).
pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// id-at-commonName (X.520).
pub const AT_COMMON_NAME: &str = "2.5.4.3";
