//! An OCSP responder (RFC 6960) whose responses the CA key signs directly.
//!
//! There is no delegated responder (RFC 6960 §4.2.2.2: a separate key whose certificate,
//! issued by the CA, carries the OCSPSigning EKU) yet: the CA key signs every response and the
//! responderID is `byKey`, the SHA-1 of the CA's public key. A delegated responder is what
//! lets a CA key stay offline; scepd's CA key is online for issuance and CRLs anyway. Each
//! response costs one CA signature, so the server should rate-limit or cache responses.
//!
//! The answer for a serial comes from the caller's lookup (storage), and a serial the CA did
//! not issue is answered `unknown`, never `good` (CA/B BR §4.9.10; security-catalogue G2).
//! A CertID for another issuer (its issuerNameHash / issuerKeyHash are not ours, or its hash
//! algorithm is not SHA-1 or SHA-2) is answered `unknown` without asking the lookup.
//!
//! This module only turns request bytes into response bytes. HTTP (POST body, or the
//! base64 path segment of a GET, RFC 6960 appendix A.1) and the content types
//! `application/ocsp-request` / `application/ocsp-response` are the server's job.

use der::asn1::{AnyRef, BitString, GeneralizedTime, Int, Null, ObjectIdentifier, OctetString};
use der::{Choice, Decode, Encode, Enumerated, Sequence};
use keys::Signer;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;

use crate::crl::{Issuer, RevocationReason, serial_hex};
use crate::error::CaError;

/// id-pkix-ocsp-basic (RFC 6960 §4.2.1).
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce (RFC 6960 §4.4.1, RFC 8954).
const ID_PKIX_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

/// More CertIDs than any client sends in one request (openssl sends one per `-cert`); the
/// bound keeps a response's size and work proportional to a sane request.
pub const MAX_CERT_IDS: usize = 100;

/// What storage knows about a serial of this CA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatusLookup {
    /// Issued by this CA and not revoked.
    Good,
    /// Issued by this CA and revoked at `at` (Unix seconds).
    Revoked {
        at: i64,
        reason: Option<RevocationReason>,
    },
    /// Not a serial this CA issued: answered `unknown`, never `good`.
    NotIssued,
}

/// The unsuccessful `OCSPResponseStatus` values (RFC 6960 §4.2.1); `successful` only comes
/// with a signed response, from [`respond`].
///
/// ```text
/// OCSPResponseStatus ::= ENUMERATED {
///     successful            (0),  -- Response has valid confirmations
///     malformedRequest      (1),  -- Illegal confirmation request
///     internalError         (2),  -- Internal error in issuer
///     tryLater              (3),  -- Try again later
///                                 -- (4) is not used
///     sigRequired           (5),  -- Must sign the request
///     unauthorized          (6)   -- Request unauthorized }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorStatus {
    MalformedRequest,
    InternalError,
    TryLater,
    SigRequired,
    Unauthorized,
}

impl From<ErrorStatus> for ResponseStatusAsn1 {
    fn from(s: ErrorStatus) -> Self {
        match s {
            ErrorStatus::MalformedRequest => ResponseStatusAsn1::MalformedRequest,
            ErrorStatus::InternalError => ResponseStatusAsn1::InternalError,
            ErrorStatus::TryLater => ResponseStatusAsn1::TryLater,
            ErrorStatus::SigRequired => ResponseStatusAsn1::SigRequired,
            ErrorStatus::Unauthorized => ResponseStatusAsn1::Unauthorized,
        }
    }
}

/// An OCSPResponse carrying only an unsuccessful status (no responseBytes, unsigned, as
/// RFC 6960 §2.3 prescribes).
pub fn error_response(status: ErrorStatus) -> Vec<u8> {
    // 30 03 0a 01 nn: written by hand because it cannot fail.
    let code = match status {
        ErrorStatus::MalformedRequest => 1,
        ErrorStatus::InternalError => 2,
        ErrorStatus::TryLater => 3,
        ErrorStatus::SigRequired => 5,
        ErrorStatus::Unauthorized => 6,
    };
    vec![0x30, 0x03, 0x0a, 0x01, code]
}

/// Answers the DER `OCSPRequest` `request_der` for the CA of `ca_signer` /
/// `ca_certificate_der` at `now` (Unix seconds). Every response has thisUpdate = producedAt =
/// `now` and, when `validity_secs > 0`, nextUpdate = `now + validity_secs`. A request that does
/// not parse (or has an unknown critical extension, a version other than v1, no or more than
/// [`MAX_CERT_IDS`] CertIDs) gets `malformedRequest`; a CA certificate that does not fit the
/// key, or a signing failure, gets `internalError`.
pub fn respond(
    request_der: &[u8],
    ca_signer: &dyn Signer,
    ca_certificate_der: &[u8],
    lookup: impl Fn(&str) -> CertStatusLookup,
    now: i64,
    validity_secs: i64,
) -> Vec<u8> {
    match Responder::new(ca_signer, ca_certificate_der) {
        Ok(r) => r.respond(request_der, lookup, now, validity_secs),
        Err(_) => error_response(ErrorStatus::InternalError),
    }
}

/// The responder for one CA, with the CA checked once (to fail at start-up rather than on
/// each request) and its name and key hashes computed once.
pub struct Responder<'s> {
    signer: &'s dyn Signer,
    /// SHA-1 of the CA's subjectPublicKey: the responderID byKey (RFC 6960 §4.2.1 KeyHash).
    key_hash_sha1: Vec<u8>,
    /// (hash, issuerNameHash, issuerKeyHash) for every CertID hash algorithm we answer.
    issuer_hashes: Vec<(CertIdHash, Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Responder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("key_hash_sha1", &serial_hex(&self.key_hash_sha1))
            .finish_non_exhaustive()
    }
}

impl<'s> Responder<'s> {
    /// Checks that `ca_signer` is the (CA signing) key of `ca_certificate_der`, with the same
    /// checks as for CRLs (a subjectKeyIdentifier; cRLSign if it has keyUsage): one CA
    /// certificate serves both.
    pub fn new(ca_signer: &'s dyn Signer, ca_certificate_der: &[u8]) -> Result<Self, CaError> {
        let issuer = Issuer::new(ca_signer, ca_certificate_der)?;
        let issuer_hashes = CertIdHash::ALL
            .into_iter()
            .map(|h| {
                (
                    h,
                    h.digest(&issuer.subject_der),
                    h.digest(&issuer.public_key_bits),
                )
            })
            .collect();
        Ok(Responder {
            signer: ca_signer,
            key_hash_sha1: CertIdHash::Sha1.digest(&issuer.public_key_bits),
            issuer_hashes,
        })
    }

    /// See [`respond`].
    pub fn respond(
        &self,
        request_der: &[u8],
        lookup: impl Fn(&str) -> CertStatusLookup,
        now: i64,
        validity_secs: i64,
    ) -> Vec<u8> {
        let Ok(request) = parse_request(request_der) else {
            return error_response(ErrorStatus::MalformedRequest);
        };
        self.sign_response(&request, lookup, now, validity_secs)
            .unwrap_or_else(|_| error_response(ErrorStatus::InternalError))
    }

    /// The serials (canonical hex, as the lookup receives them) that answering `request_der`
    /// would look up: those of CertIDs for this CA. Empty for a malformed request. For a
    /// server whose storage is async: fetch these first, then [`Responder::respond`] with a
    /// lookup into what was fetched.
    pub fn requested_serials(&self, request_der: &[u8]) -> Vec<String> {
        parse_request(request_der)
            .map(|r| {
                r.cert_ids
                    .iter()
                    .filter_map(|id| self.our_serial(id))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The serial of a CertID for this CA, in canonical hex; `None` for another issuer, an
    /// unknown hash algorithm, or a zero or negative serial (ours are positive, RFC 5280
    /// §4.1.2.2).
    fn our_serial(&self, cert_id: &CertIdAsn1) -> Option<String> {
        let hash = CertIdHash::of(&cert_id.hash_algorithm)?;
        let ours = self.issuer_hashes.iter().any(|(h, name, key)| {
            *h == hash
                && cert_id.issuer_name_hash.as_bytes() == name.as_slice()
                && cert_id.issuer_key_hash.as_bytes() == key.as_slice()
        });
        let serial = cert_id.serial_number.as_bytes();
        let positive =
            serial.first().is_some_and(|&b| b & 0x80 == 0) && serial.iter().any(|&b| b != 0);
        (ours && positive).then(|| serial_hex(serial))
    }

    fn status_of(
        &self,
        cert_id: &CertIdAsn1,
        lookup: &impl Fn(&str) -> CertStatusLookup,
    ) -> CertStatusLookup {
        match self.our_serial(cert_id) {
            Some(serial) => lookup(&serial),
            None => CertStatusLookup::NotIssued,
        }
    }

    fn sign_response(
        &self,
        request: &ParsedRequest,
        lookup: impl Fn(&str) -> CertStatusLookup,
        now: i64,
        validity_secs: i64,
    ) -> Result<Vec<u8>, CaError> {
        let now_g = generalized_time(now)?;
        let next_update = if validity_secs > 0 {
            Some(generalized_time(now.saturating_add(validity_secs))?)
        } else {
            None
        };
        let responses = request
            .cert_ids
            .iter()
            .map(|cert_id| {
                let cert_status = match self.status_of(cert_id, &lookup) {
                    CertStatusLookup::Good => CertStatusAsn1::Good(Null),
                    CertStatusLookup::NotIssued => CertStatusAsn1::Unknown(Null),
                    CertStatusLookup::Revoked { at, reason } => {
                        CertStatusAsn1::Revoked(RevokedInfoAsn1 {
                            revocation_time: generalized_time(at)?,
                            revocation_reason: reason.filter(|r| r.is_written()).map(crl_reason),
                        })
                    }
                };
                Ok(SingleResponseAsn1 {
                    cert_id: cert_id.clone(),
                    cert_status,
                    this_update: now_g,
                    next_update,
                    single_extensions: None,
                })
            })
            .collect::<Result<Vec<_>, CaError>>()?;
        let tbs = ResponseDataAsn1 {
            responder_id: ResponderIdAsn1::ByKey(OctetString::new(self.key_hash_sha1.as_slice())?),
            produced_at: now_g,
            responses,
            response_extensions: request.nonce.clone().map(|n| vec![n]),
        }
        .to_der()?;
        let alg = self.signer.default_algorithm();
        let signature = self.signer.sign(alg, &tbs)?;
        let basic = BasicOcspResponseAsn1 {
            tbs_response_data: AnyRef::from_der(&tbs)?,
            signature_algorithm: AlgorithmIdentifierOwned::from_der(
                alg.algorithm_identifier_der(),
            )?,
            signature: BitString::from_bytes(&signature)?,
            certs: None,
        }
        .to_der()?;
        Ok(OcspResponseAsn1 {
            response_status: ResponseStatusAsn1::Successful,
            response_bytes: Some(ResponseBytesAsn1 {
                response_type: ID_PKIX_OCSP_BASIC,
                response: OctetString::new(basic)?,
            }),
        }
        .to_der()?)
    }
}

fn crl_reason(r: RevocationReason) -> CrlReason {
    match r {
        RevocationReason::Unspecified => CrlReason::Unspecified,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::CaCompromise => CrlReason::CaCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise => CrlReason::AaCompromise,
    }
}

/// RFC 6960 times are always GeneralizedTime (§4.2.1), in whole seconds.
fn generalized_time(unix: i64) -> Result<GeneralizedTime, CaError> {
    let secs =
        u64::try_from(unix).map_err(|_| CaError::Revocation("OCSP time before 1970".into()))?;
    Ok(GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(secs),
    )?)
}

// ---------------------------------------------------------------- CertID hash algorithms

/// The hash algorithms a CertID may use (RFC 6960 §4.1.1; RFC 5019 §2.1.1 SHA-1, and the
/// SHA-2 family that newer clients send).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CertIdHash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl CertIdHash {
    const ALL: [CertIdHash; 4] = [
        CertIdHash::Sha1,
        CertIdHash::Sha256,
        CertIdHash::Sha384,
        CertIdHash::Sha512,
    ];

    fn oid(self) -> ObjectIdentifier {
        match self {
            CertIdHash::Sha1 => ObjectIdentifier::new_unwrap("1.3.14.3.2.26"),
            CertIdHash::Sha256 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1"),
            CertIdHash::Sha384 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2"),
            CertIdHash::Sha512 => ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3"),
        }
    }

    /// The algorithm, with parameters absent or NULL (both occur in the wild, RFC 5754 §2).
    fn of(alg: &AlgorithmIdentifierOwned) -> Option<Self> {
        let params_ok = match &alg.parameters {
            None => true,
            Some(p) => p.is_null(),
        };
        Self::ALL
            .into_iter()
            .find(|h| h.oid() == alg.oid)
            .filter(|_| params_ok)
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            CertIdHash::Sha1 => Sha1::digest(data).to_vec(),
            CertIdHash::Sha256 => Sha256::digest(data).to_vec(),
            CertIdHash::Sha384 => Sha384::digest(data).to_vec(),
            CertIdHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

// ---------------------------------------------------------------- the request

/// What the responder takes from a request: its CertIDs and the nonce extension to echo.
struct ParsedRequest {
    cert_ids: Vec<CertIdAsn1>,
    nonce: Option<Extension>,
}

/// Why a request is malformed (not reported to the client, which only sees status 1).
#[derive(Debug)]
struct Malformed;

impl From<der::Error> for Malformed {
    fn from(_: der::Error) -> Self {
        Malformed
    }
}

fn parse_request(der: &[u8]) -> Result<ParsedRequest, Malformed> {
    let req = OcspRequestAsn1::from_der(der)?;
    let tbs = req.tbs_request;
    // The optional signature is not checked: answers are public, and a signed request gets
    // the same answer as an unsigned one (RFC 6960 §4.1.2 leaves it to the responder).
    if tbs.version.is_some_and(|v| v != 0)
        || tbs.request_list.is_empty()
        || tbs.request_list.len() > MAX_CERT_IDS
    {
        return Err(Malformed);
    }
    let mut nonce = None;
    for ext in tbs.request_extensions.iter().flatten() {
        if ext.extn_id == ID_PKIX_OCSP_NONCE {
            if nonce.is_some() {
                return Err(Malformed);
            }
            // RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)); a responder may answer
            // without a nonce of another size, and does so here rather than echo arbitrary
            // bytes into a signed response.
            let ok = OctetString::from_der(ext.extn_value.as_bytes())
                .is_ok_and(|n| (1..=32).contains(&n.as_bytes().len()));
            if ok {
                nonce = Some(ext.clone());
            }
        } else if ext.critical {
            // RFC 6960 §4.4: an unrecognised critical extension cannot be ignored.
            return Err(Malformed);
        }
    }
    let mut cert_ids = Vec::with_capacity(tbs.request_list.len());
    for r in tbs.request_list {
        if r.single_request_extensions
            .iter()
            .flatten()
            .any(|e| e.critical)
        {
            return Err(Malformed);
        }
        cert_ids.push(r.req_cert);
    }
    Ok(ParsedRequest { cert_ids, nonce })
}

/// RFC 6960 §4.1.1:
///
/// ```text
/// OCSPRequest ::= SEQUENCE {
///     tbsRequest                  TBSRequest,
///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
/// ```
#[derive(Sequence)]
struct OcspRequestAsn1 {
    tbs_request: TbsRequestAsn1,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    optional_signature: Option<der::Any>,
}

/// ```text
/// TBSRequest ::= SEQUENCE {
///     version             [0]     EXPLICIT Version DEFAULT v1,
///     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
///     requestList                 SEQUENCE OF Request,
///     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Sequence)]
struct TbsRequestAsn1 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    version: Option<u8>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    requestor_name: Option<der::Any>,
    request_list: Vec<RequestAsn1>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    request_extensions: Option<Vec<Extension>>,
}

/// ```text
/// Request ::= SEQUENCE {
///     reqCert                     CertID,
///     singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Sequence)]
struct RequestAsn1 {
    req_cert: CertIdAsn1,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    single_request_extensions: Option<Vec<Extension>>,
}

/// Echoed unchanged in the SingleResponse (the serial as an INTEGER of any sign, so even a
/// CertID we answer `unknown` round-trips).
///
/// ```text
/// CertID ::= SEQUENCE {
///     hashAlgorithm       AlgorithmIdentifier,
///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
///     serialNumber        CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Sequence)]
struct CertIdAsn1 {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: Int,
}

// ---------------------------------------------------------------- the response

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u32)]
enum ResponseStatusAsn1 {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// RFC 6960 §4.2.1:
///
/// ```text
/// OCSPResponse ::= SEQUENCE {
///    responseStatus         OCSPResponseStatus,
///    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
/// ResponseBytes ::=       SEQUENCE {
///    responseType   OBJECT IDENTIFIER,
///    response       OCTET STRING }
/// ```
#[derive(Sequence)]
struct OcspResponseAsn1 {
    response_status: ResponseStatusAsn1,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    response_bytes: Option<ResponseBytesAsn1>,
}

#[derive(Sequence)]
struct ResponseBytesAsn1 {
    response_type: ObjectIdentifier,
    response: OctetString,
}

/// ```text
/// BasicOCSPResponse       ::= SEQUENCE {
///    tbsResponseData      ResponseData,
///    signatureAlgorithm   AlgorithmIdentifier,
///    signature            BIT STRING,
///    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
/// `certs` stays empty: the signer is the CA the client already has.
#[derive(Sequence)]
struct BasicOcspResponseAsn1<'a> {
    tbs_response_data: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    certs: Option<Vec<der::Any>>,
}

/// ```text
/// ResponseData ::= SEQUENCE {
///    version              [0] EXPLICIT Version DEFAULT v1,
///    responderID              ResponderID,
///    producedAt               GeneralizedTime,
///    responses                SEQUENCE OF SingleResponse,
///    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
/// ```
/// version is v1, the DEFAULT, so DER leaves it out.
#[derive(Sequence)]
struct ResponseDataAsn1 {
    responder_id: ResponderIdAsn1,
    produced_at: GeneralizedTime,
    responses: Vec<SingleResponseAsn1>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    response_extensions: Option<Vec<Extension>>,
}

/// ```text
/// ResponderID ::= CHOICE {
///    byName               [1] Name,
///    byKey                [2] KeyHash }
/// KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key
///                          -- (excluding the tag and length fields)
/// ```
/// The OCSP module has EXPLICIT tags. Only byKey is written.
#[derive(Choice)]
enum ResponderIdAsn1 {
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

/// ```text
/// SingleResponse ::= SEQUENCE {
///    certID                       CertID,
///    certStatus                   CertStatus,
///    thisUpdate                   GeneralizedTime,
///    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///    singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Sequence)]
struct SingleResponseAsn1 {
    cert_id: CertIdAsn1,
    cert_status: CertStatusAsn1,
    this_update: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    single_extensions: Option<Vec<Extension>>,
}

/// ```text
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
/// UnknownInfo ::= NULL
/// ```
#[derive(Choice)]
enum CertStatusAsn1 {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfoAsn1),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// ```text
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
#[derive(Sequence)]
struct RevokedInfoAsn1 {
    revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    revocation_reason: Option<CrlReason>,
}

/// OCSP requests and the statuses of answers, for the crate's other tests (the revocation
/// authority's).
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod testing {
    use super::*;

    /// What a successful response says about one CertID.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) enum Answer {
        Good,
        Revoked { at: i64, reason: Option<CrlReason> },
        Unknown,
    }

    /// A request (SHA-1 CertIDs) for `serials` (positive big-endian magnitudes) of the CA of
    /// `ca_signer` / `ca_certificate`.
    pub(crate) fn request(
        ca_signer: &dyn Signer,
        ca_certificate: &[u8],
        serials: &[&[u8]],
    ) -> Vec<u8> {
        let issuer = Issuer::new(ca_signer, ca_certificate).unwrap();
        let hash = CertIdHash::Sha1;
        OcspRequestAsn1 {
            tbs_request: TbsRequestAsn1 {
                version: None,
                requestor_name: None,
                request_list: serials
                    .iter()
                    .map(|serial| RequestAsn1 {
                        req_cert: CertIdAsn1 {
                            hash_algorithm: AlgorithmIdentifierOwned {
                                oid: hash.oid(),
                                parameters: None,
                            },
                            issuer_name_hash: OctetString::new(hash.digest(&issuer.subject_der))
                                .unwrap(),
                            issuer_key_hash: OctetString::new(hash.digest(&issuer.public_key_bits))
                                .unwrap(),
                            serial_number: Int::new(serial).unwrap(),
                        },
                        single_request_extensions: None,
                    })
                    .collect(),
                request_extensions: None,
            },
            optional_signature: None,
        }
        .to_der()
        .unwrap()
    }

    /// The answers of a successful response, in request order.
    pub(crate) fn answers(response: &[u8]) -> Vec<Answer> {
        let outer = OcspResponseAsn1::from_der(response).unwrap();
        assert_eq!(outer.response_status, ResponseStatusAsn1::Successful);
        let bytes = outer.response_bytes.unwrap();
        let basic = BasicOcspResponseAsn1::from_der(bytes.response.as_bytes()).unwrap();
        let data = ResponseDataAsn1::from_der(&basic.tbs_response_data.to_der().unwrap()).unwrap();
        data.responses
            .into_iter()
            .map(|single| match single.cert_status {
                CertStatusAsn1::Good(_) => Answer::Good,
                CertStatusAsn1::Unknown(_) => Answer::Unknown,
                CertStatusAsn1::Revoked(info) => Answer::Revoked {
                    at: i64::try_from(info.revocation_time.to_unix_duration().as_secs()).unwrap(),
                    reason: info.revocation_reason,
                },
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_are_bare_statuses() {
        assert_eq!(
            error_response(ErrorStatus::MalformedRequest),
            [0x30, 0x03, 0x0a, 0x01, 0x01]
        );
        for s in [
            ErrorStatus::MalformedRequest,
            ErrorStatus::InternalError,
            ErrorStatus::TryLater,
            ErrorStatus::SigRequired,
            ErrorStatus::Unauthorized,
        ] {
            let expected = OcspResponseAsn1 {
                response_status: s.into(),
                response_bytes: None,
            }
            .to_der()
            .unwrap();
            assert_eq!(error_response(s), expected);
        }
    }

    use std::cell::Cell;

    use keys::KeyRole;
    use keys::software::SoftwareKey;

    const NOW: i64 = 1_800_000_000;

    fn ca() -> (std::sync::Arc<dyn Signer>, Vec<u8>) {
        let key = SoftwareKey::generate_ec_p256(KeyRole::CaSigning)
            .unwrap()
            .into_signer(KeyRole::CaSigning)
            .unwrap();
        let cert = crate::dev::self_signed_ca_at(key.as_ref(), "ocsp unit CA", 30, NOW).unwrap();
        (key, cert)
    }

    fn cert_id(r: &Responder<'_>, hash: CertIdHash, serial: &[u8]) -> CertIdAsn1 {
        let (_, name, key) = r.issuer_hashes.iter().find(|(h, ..)| *h == hash).unwrap();
        CertIdAsn1 {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: hash.oid(),
                parameters: None,
            },
            issuer_name_hash: OctetString::new(name.clone()).unwrap(),
            issuer_key_hash: OctetString::new(key.clone()).unwrap(),
            serial_number: Int::new(serial).unwrap(),
        }
    }

    fn request(ids: Vec<CertIdAsn1>, version: Option<u8>, exts: Option<Vec<Extension>>) -> Vec<u8> {
        OcspRequestAsn1 {
            tbs_request: TbsRequestAsn1 {
                version,
                requestor_name: None,
                request_list: ids
                    .into_iter()
                    .map(|req_cert| RequestAsn1 {
                        req_cert,
                        single_request_extensions: None,
                    })
                    .collect(),
                request_extensions: exts,
            },
            optional_signature: None,
        }
        .to_der()
        .unwrap()
    }

    /// The statuses of a successful response, and its ResponseData.
    fn statuses(resp: &[u8]) -> (Vec<SingleResponseAsn1>, Option<Vec<Extension>>) {
        let outer = OcspResponseAsn1::from_der(resp).unwrap();
        assert_eq!(outer.response_status, ResponseStatusAsn1::Successful);
        let bytes = outer.response_bytes.unwrap();
        assert_eq!(bytes.response_type, ID_PKIX_OCSP_BASIC);
        let basic = BasicOcspResponseAsn1::from_der(bytes.response.as_bytes()).unwrap();
        let data = ResponseDataAsn1::from_der(&basic.tbs_response_data.to_der().unwrap()).unwrap();
        (data.responses, data.response_extensions)
    }

    #[test]
    fn only_our_issuer_and_positive_serials_reach_the_lookup() {
        let (key, cert) = ca();
        let r = Responder::new(key.as_ref(), &cert).unwrap();
        let asked = Cell::new(Vec::<String>::new());
        let lookup = |s: &str| {
            let mut v = asked.take();
            v.push(s.to_owned());
            asked.set(v);
            CertStatusLookup::Good
        };
        let mut other_issuer = cert_id(&r, CertIdHash::Sha256, &[0x11]);
        other_issuer.issuer_key_hash = OctetString::new([0u8; 32]).unwrap();
        let mut md5 = cert_id(&r, CertIdHash::Sha1, &[0x12]);
        md5.hash_algorithm.oid = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
        let ids = vec![
            cert_id(&r, CertIdHash::Sha1, &[0x0a, 0xbc]),
            cert_id(&r, CertIdHash::Sha512, &[0x01]),
            other_issuer,
            md5,
            cert_id(&r, CertIdHash::Sha384, &[0xff]), // -1
            cert_id(&r, CertIdHash::Sha256, &[0x00]), // 0
        ];
        let req = request(ids, None, None);
        let (responses, exts) = statuses(&r.respond(&req, lookup, NOW, 60));
        assert!(exts.is_none());
        assert_eq!(asked.take(), ["0abc", "01"]);
        assert_eq!(r.requested_serials(&req), ["0abc", "01"]);
        assert!(r.requested_serials(b"garbage").is_empty());
        let kinds: Vec<&str> = responses
            .iter()
            .map(|s| match s.cert_status {
                CertStatusAsn1::Good(_) => "good",
                CertStatusAsn1::Revoked(_) => "revoked",
                CertStatusAsn1::Unknown(_) => "unknown",
            })
            .collect();
        assert_eq!(
            kinds,
            ["good", "good", "unknown", "unknown", "unknown", "unknown"]
        );
        // CertIDs are echoed as sent, in order.
        assert_eq!(responses[4].cert_id.serial_number.as_bytes(), [0xff]);
    }

    #[test]
    fn unspecified_reason_and_zero_validity_are_left_out() {
        let (key, cert) = ca();
        let r = Responder::new(key.as_ref(), &cert).unwrap();
        let req = request(vec![cert_id(&r, CertIdHash::Sha1, &[0x42])], Some(0), None);
        let lookup = |_: &str| CertStatusLookup::Revoked {
            at: NOW - 10,
            reason: Some(RevocationReason::Unspecified),
        };
        let (responses, _) = statuses(&r.respond(&req, lookup, NOW, 0));
        let single = &responses[0];
        assert!(single.next_update.is_none());
        match &single.cert_status {
            CertStatusAsn1::Revoked(info) => {
                assert!(info.revocation_reason.is_none());
                assert_eq!(info.revocation_time, generalized_time(NOW - 10).unwrap());
            }
            _ => panic!("not revoked"),
        }
    }

    #[test]
    fn malformed_requests() {
        let (key, cert) = ca();
        let r = Responder::new(key.as_ref(), &cert).unwrap();
        let id = || cert_id(&r, CertIdHash::Sha1, &[0x42]);
        let critical = Extension {
            extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.99"),
            critical: true,
            extn_value: OctetString::new([0x05, 0x00]).unwrap(),
        };
        let nonce = |n: &[u8]| Extension {
            extn_id: ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new(n).unwrap().to_der().unwrap()).unwrap(),
        };
        let malformed = [
            request(vec![], None, None),
            request(vec![id()], Some(1), None),
            request(vec![id(); MAX_CERT_IDS + 1], None, None),
            request(vec![id()], None, Some(vec![critical.clone()])),
            request(vec![id()], None, Some(vec![nonce(b"a"), nonce(b"b")])),
        ];
        for req in malformed {
            let resp = r.respond(&req, |_| CertStatusLookup::Good, NOW, 60);
            assert_eq!(resp, error_response(ErrorStatus::MalformedRequest));
        }
        // An unknown extension that is not critical is ignored.
        let mut ignored = critical;
        ignored.critical = false;
        let req = request(vec![id(); MAX_CERT_IDS], None, Some(vec![ignored]));
        let (responses, _) = statuses(&r.respond(&req, |_| CertStatusLookup::Good, NOW, 60));
        assert_eq!(responses.len(), MAX_CERT_IDS);
        // Nonces of 1..=32 octets are echoed; longer ones are left out (RFC 8954 §2.1).
        for (len, echoed) in [(1, true), (32, true), (33, false)] {
            let n = nonce(&vec![7u8; len]);
            let req = request(vec![id()], None, Some(vec![n.clone()]));
            let (_, exts) = statuses(&r.respond(&req, |_| CertStatusLookup::Good, NOW, 60));
            assert_eq!(exts, echoed.then(|| vec![n]), "{len}");
        }
    }

    #[test]
    fn garbage_is_malformed() {
        for garbage in [&b""[..], b"\x30\x00", b"hello", b"\x30\x03\x30\x01\x00"] {
            assert!(parse_request(garbage).is_err());
        }
    }
}
