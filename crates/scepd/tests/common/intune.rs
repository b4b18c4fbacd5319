//! The Intune side of the end-to-end tests: the mock Intune (`intune-mock`) on a runtime of
//! its own for the test's length, the `[intune]` section that points `scepd serve` at it,
//! a device that sends exactly the PKCSReq or RenewalReq a test builds, and readers of what
//! an issued certificate holds (parsed with x509-cert, independently of scepd's own code).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use der::{Decode as _, Encode as _};
use intune_mock::{MockConfig, MockIntune, Route};
use scep_client::{
    ClientKey, CsrBuilder, FailInfo, PkcsReqBuilder, PkiStatus, get_ca_cert, pki_operation_post,
    read_cert_rep, self_signed_certificate,
};
use serde_json::Value;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectAltName};

use super::secret_file;

/// Every rejection code of the wire contract, and one that is not in it but is what a lenient
/// enum parse would read as the first member.
pub fn rejection_codes() -> impl Iterator<Item = &'static str> {
    intune_mock::REJECTION_CODES.into_iter().chain(["1"])
}

/// The routes of one SCEP enrollment's Intune calls (the revocation poller left out).
pub const SCEP_ROUTES: [Route; 5] = [
    Route::Token,
    Route::Discovery,
    Route::ValidateRequest,
    Route::SuccessNotification,
    Route::FailureNotification,
];

/// No failure budget gets in the way of a test that is refused many times from 127.0.0.1.
pub const GENEROUS_LIMITS: &str =
    "[limits]\nmax_failed_attempts = 1000\nglobal_max_failed_attempts = 1000\n";

/// A mock Intune, served for as long as this lives.
pub struct Intune {
    pub mock: MockIntune,
    // Dropped after the mock (fields drop in order): the mock's task is aborted first.
    _runtime: tokio::runtime::Runtime,
    files: tempfile::TempDir,
}

impl Intune {
    pub fn start() -> Intune {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mock = runtime
            .block_on(MockIntune::start(MockConfig::default()))
            .unwrap();
        Intune {
            mock,
            _runtime: runtime,
            files: tempfile::tempdir().unwrap(),
        }
    }

    /// `[intune]` with the mock's URLs and trust root, `client_secret` in a 0600 file, a 2 s
    /// timeout and revocation requests fetched every `revocation_poll_interval`.
    pub fn section(&self, client_secret: &str, revocation_poll_interval: &str) -> String {
        let roots = self.files.path().join("intune-ca.pem");
        std::fs::write(&roots, self.mock.ca_certificate_pem()).unwrap();
        let secret = secret_file(self.files.path(), "intune.secret", client_secret);
        format!(
            "[intune]\ntenant = \"{tenant}\"\nclient_id = \"{client}\"\n\
             client_secret_file = \"{secret}\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\n\
             tls_ca_file = \"{roots}\"\ntimeout = \"2s\"\n\
             revocation_poll_interval = \"{revocation_poll_interval}\"\n",
            tenant = self.mock.tenant(),
            client = self.mock.client_id(),
            secret = secret.display(),
            url = self.mock.base_url(),
            roots = roots.display(),
        )
    }

    /// `section` with the right secret and the revocation poller out of the way.
    pub fn config(&self) -> String {
        self.section(intune_mock::CLIENT_SECRET, "1h")
    }

    /// The routes called for SCEP enrollments, in order.
    pub fn scep_routes(&self) -> Vec<Route> {
        self.mock
            .calls()
            .into_iter()
            .map(|c| c.route)
            .filter(|r| SCEP_ROUTES.contains(r))
            .collect()
    }

    /// The JSON bodies sent to `route`, in order.
    pub fn bodies(&self, route: Route) -> Vec<Value> {
        self.mock
            .calls_to(route)
            .into_iter()
            .map(|c| c.body.unwrap_or(Value::Null))
            .collect()
    }

    /// Waits up to `limit` for `done`.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&MockIntune) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.mock) {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {limit:?}; calls: {:?}",
                self.mock.calls()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The one files directory the mock's trust root and secrets are written to.
    pub fn files(&self) -> PathBuf {
        self.files.path().to_path_buf()
    }
}

/// A device with its key and the self-signed certificate its first request is signed with.
pub struct Device {
    pub key: ClientKey,
    pub self_signed: Vec<u8>,
}

impl Device {
    pub fn rsa(bits: usize) -> Device {
        let key = ClientKey::generate_rsa(bits).unwrap();
        let self_signed = self_signed_certificate(&key, "CN=intune-device").unwrap();
        Device { key, self_signed }
    }
}

/// What one PKCSReq or RenewalReq got.
#[derive(Debug)]
pub struct Answer {
    pub transaction_id: String,
    pub outcome: Result<Vec<u8>, FailInfo>,
    pub fail_info_text: Option<String>,
}

impl Answer {
    pub fn certificate(&self) -> Vec<u8> {
        match &self.outcome {
            Ok(certificate) => certificate.clone(),
            Err(info) => panic!(
                "refused ({info:?}, {:?}): transaction {}",
                self.fail_info_text, self.transaction_id
            ),
        }
    }
}

/// A PKCSReq (`message_type` "19") or RenewalReq ("17") for `csr`, signed with `signer`'s
/// key and `signer_certificate`, under `transaction_id` (else the client's own).
pub fn send(
    url: &str,
    signer: &ClientKey,
    signer_certificate: &[u8],
    csr: Vec<u8>,
    message_type: &str,
    transaction_id: Option<&str>,
) -> Answer {
    let bundle = get_ca_cert(url).unwrap();
    let mut builder = PkcsReqBuilder::new(signer, signer_certificate, &bundle.ra_encryption, csr)
        .unwrap()
        .message_type(Some(message_type));
    if let Some(id) = transaction_id {
        builder = builder.transaction_id(id);
    }
    let reply = pki_operation_post(url, &builder.build().unwrap()).unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let rep = read_cert_rep(
        &reply.body,
        signer,
        signer_certificate,
        builder.get_sender_nonce(),
    )
    .unwrap();
    assert_eq!(
        Some(rep.signer_certificate),
        bundle.ra_signing,
        "signed by the RA"
    );
    let outcome = match rep.status {
        PkiStatus::Success => Ok(rep.certificate.unwrap()),
        PkiStatus::Failure(info) => Err(info),
        other => panic!("unexpected status {other:?}"),
    };
    Answer {
        transaction_id: builder.get_transaction_id().to_owned(),
        outcome,
        fail_info_text: rep.fail_info_text,
    }
}

/// A PKCSReq from `device` for `csr`.
pub fn enroll(url: &str, device: &Device, csr: Vec<u8>) -> Answer {
    send(url, &device.key, &device.self_signed, csr, "19", None)
}

/// A CSR with an Intune-style challenge and `shape`'s names and extensions.
pub fn csr(
    device: &Device,
    subject: &str,
    shape: impl FnOnce(CsrBuilder) -> CsrBuilder,
) -> Vec<u8> {
    shape(CsrBuilder::new(subject).challenge(&intune_challenge()))
        .build(&device.key)
        .unwrap()
}

/// What an Intune challenge looks like to scepd: an opaque string only Intune can judge.
pub fn intune_challenge() -> String {
    let nonce = hex::encode(
        scep_client::ClientKey::generate_ec_p256()
            .unwrap()
            .spki_der(),
    );
    format!("intune-challenge-{}", &nonce[nonce.len() - 32..])
}

pub fn base64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// An issued certificate, read with x509-cert.
pub struct Issued {
    pub der: Vec<u8>,
    pub certificate: Certificate,
}

impl Issued {
    pub fn new(der: &[u8]) -> Issued {
        Issued {
            der: der.to_vec(),
            certificate: Certificate::from_der(der).unwrap(),
        }
    }

    /// The serial number in upper-case hex, as its DER INTEGER carries it.
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(
            self.certificate
                .tbs_certificate()
                .serial_number()
                .as_bytes(),
        )
    }

    pub fn subject_der(&self) -> Vec<u8> {
        self.certificate
            .tbs_certificate()
            .subject()
            .to_der()
            .unwrap()
    }

    pub fn spki_der(&self) -> Vec<u8> {
        self.certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap()
    }

    /// notAfter − notBefore, in seconds.
    pub fn validity_seconds(&self) -> u64 {
        let validity = self.certificate.tbs_certificate().validity();
        let not_before = validity.not_before.to_unix_duration().as_secs();
        let not_after = validity.not_after.to_unix_duration().as_secs();
        not_after - not_before
    }

    pub fn not_after_unix(&self) -> u64 {
        self.certificate
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs()
    }

    /// The subjectAltNames as `email:…`, `upn:…`, `uri:…`, `dns:…`.
    pub fn sans(&self) -> Vec<String> {
        let Some(SubjectAltName(names)) = self
            .certificate
            .tbs_certificate()
            .get_extension::<SubjectAltName>()
            .unwrap()
            .map(|(_, e)| e)
        else {
            return Vec::new();
        };
        names
            .iter()
            .map(|name| match name {
                GeneralName::Rfc822Name(n) => format!("email:{n}"),
                GeneralName::DnsName(n) => format!("dns:{n}"),
                GeneralName::UniformResourceIdentifier(n) => format!("uri:{n}"),
                GeneralName::OtherName(other) if other.type_id == scep_client::csr::oids::UPN => {
                    let value = other
                        .value
                        .decode_as::<der::asn1::Utf8StringRef<'_>>()
                        .unwrap();
                    format!("upn:{}", value.as_str())
                }
                other => format!("other:{other:?}"),
            })
            .collect()
    }

    /// The extendedKeyUsage purposes, as dotted OIDs.
    pub fn extended_key_usages(&self) -> Vec<String> {
        self.certificate
            .tbs_certificate()
            .get_extension::<ExtendedKeyUsage>()
            .unwrap()
            .map(|(_, e)| e)
            .map(|eku| eku.0.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    pub fn key_usage(&self) -> KeyUsage {
        self.certificate
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .unwrap()
            .expect("a keyUsage extension")
            .1
    }
}

/// The subject of a CSR, as DER.
pub fn csr_subject_der(csr: &[u8]) -> Vec<u8> {
    x509_cert::request::CertReq::from_der(csr)
        .unwrap()
        .info
        .subject
        .to_der()
        .unwrap()
}

/// The SHA-1 thumbprint of a certificate in upper-case hex (what successNotification sends).
pub fn thumbprint_sha1(der: &[u8]) -> String {
    use sha1::Digest as _;
    hex::encode_upper(sha1::Sha1::digest(der))
}

/// The CRL the server publishes over HTTP, as `openssl crl -text` shows it after checking
/// its signature against the CA.
pub fn crl_text(server: &super::Server) -> String {
    let crl = scep_client::http_get(&format!("http://{}/crl", server.addr)).unwrap();
    assert_eq!(crl.status, 200);
    let path = server.dir.path().join("intune.crl");
    std::fs::write(&path, &crl.body).unwrap();
    let out = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&path)
        .arg("-CAfile")
        .arg(server.ca_pem())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("verify OK"), "{text}");
    text
}
