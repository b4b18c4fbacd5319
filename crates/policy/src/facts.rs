//! What a PKCS#10 request (RFC 2986) asks for, as plain values. The `request` crate fills these
//! in; nothing here is trusted.

/// Everything in a CSR that a decision may look at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// The subject's attributes in DER order (first RDN first).
    pub subject: Vec<SubjectAttribute>,
    /// Every GeneralName of every subjectAltName extension requested, in order.
    pub subject_alt_names: Vec<SanFact>,
    pub public_key: PublicKeyFacts,
    /// Every extension of the extensionRequest attribute (PKCS#9), duplicates included: the
    /// decision refuses duplicates, so the parser must not fold them.
    pub requested_extensions: Vec<RequestedExtension>,
    /// OIDs of request attributes other than challengePassword, extensionRequest and
    /// friendlyName (which certmonger sends).
    pub attributes: Vec<String>,
}

/// One AttributeTypeAndValue of the subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectAttribute {
    /// Dotted attribute type, e.g. `2.5.4.3` for CN.
    pub oid: String,
    /// The decoded string value (any DirectoryString / IA5String / PrintableString form).
    pub value: String,
    /// True when this attribute's RDN has more than one attribute (`CN=a+O=b`).
    pub multi_valued_rdn: bool,
}

/// One GeneralName of a requested subjectAltName (RFC 5280 §4.2.1.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SanFact {
    /// dNSName, as received.
    Dns(String),
    /// iPAddress octets (4 or 16 when well formed).
    Ip(Vec<u8>),
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// otherName UPN (type-id 1.3.6.1.4.1.311.20.2.3) whose value is a UTF8String, as
    /// received.
    Upn(String),
    /// Any other otherName, by its type-id; a UPN whose value is not a UTF8String is one.
    OtherName { type_id: String },
    /// Any other form (x400Address, directoryName, ediPartyName, registeredID), named for audit.
    Other(String),
}

/// The subject public key, as much as policy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKeyFacts {
    /// rsaEncryption. `modulus_bits` counts from the most significant set bit; `exponent` is
    /// `None` when it does not fit 64 bits.
    Rsa {
        modulus_bits: u32,
        exponent: Option<u64>,
    },
    /// id-ecPublicKey with a named curve (explicit parameters are reported as `Other`).
    Ec { curve_oid: String },
    /// Anything else, by algorithm OID.
    Other { algorithm_oid: String },
}

impl Default for PublicKeyFacts {
    fn default() -> Self {
        PublicKeyFacts::Other {
            algorithm_oid: String::new(),
        }
    }
}

/// One requested Extension (RFC 5280 §4.1.2.9) from the extensionRequest attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedExtension {
    pub oid: String,
    pub critical: bool,
    pub value: RequestedValue,
}

/// The decoded value of a requested extension, for the extensions policy checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestedValue {
    /// extKeyUsage: the KeyPurposeIds, dotted.
    ExtendedKeyUsage(Vec<String>),
    /// basicConstraints.
    BasicConstraints { ca: bool },
    /// keyUsage, bits as in [`crate::key_usage`].
    KeyUsage(u16),
    /// subjectAltName: its names are in [`RequestFacts::subject_alt_names`].
    SubjectAltName,
    /// subjectKeyIdentifier: checked, never copied (the CA computes its own).
    SubjectKeyIdentifier,
    /// A known extension whose value did not decode.
    Malformed,
    /// Any other extension.
    Other,
}
