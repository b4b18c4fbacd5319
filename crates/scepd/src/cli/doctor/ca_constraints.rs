//! The CA's own constraints (the seed's "PKI Constraints"): `ca.path_len`, `ca.name_constraints`
//! and `ca.eku_constraint`, read from the CA certificate in use and the chain above it — so
//! they hold for a CA `scepd init` made and for one it imported (`--import-ca-cert`, whose
//! certificate replaces the made one in `keys.ca_certificate` and whose issuers are in
//! `keys.ca_chain`).
//!
//! Every CA scepd makes has pathLenConstraint 0; name and EKU constraints are the operator's
//! choice (`scepd init --ca-permit-dns`, `--ca-eku-constraint`). A CA without them issues only
//! what its templates allow, but its key, if stolen, certifies anything: a warning.

use std::path::Path;

use der::Decode;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtree, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use config::Config;

use super::finding::{Finding, Severity, finding};

const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ANY_EXTENDED_KEY_USAGE: &str = "2.5.29.37.0";

/// The CA certificate followed by its issuers, nearest first, each with a name for messages.
pub struct CaCertificates {
    pub certificates: Vec<(String, Certificate)>,
}

impl CaCertificates {
    /// Reads `keys.ca_certificate` and `keys.ca_chain`.
    pub fn read(dir: &Path, config: &Config) -> Result<Self, String> {
        let path = dir.join(&config.keys.ca_certificate);
        let der = keys::pem::read_certificate(&path).map_err(|e| e.to_string())?;
        let ca = Certificate::from_der(&der)
            .map_err(|e| format!("CA certificate {}: {e}", path.display()))?;
        let mut certificates = vec![("the CA certificate".to_owned(), ca)];
        if let Some(chain) = &config.keys.ca_chain {
            let path = dir.join(chain);
            let chain = keys::pem::read_certificates(&path).map_err(|e| e.to_string())?;
            for (i, der) in chain.iter().enumerate() {
                let certificate = Certificate::from_der(der)
                    .map_err(|e| format!("CA chain {} #{}: {e}", path.display(), i + 1))?;
                let name = format!(
                    "issuer #{} ({})",
                    i + 1,
                    certificate.tbs_certificate().subject()
                );
                certificates.push((name, certificate));
            }
        }
        Ok(Self { certificates })
    }

    /// The CA certificate itself.
    fn ca(&self) -> Option<&Certificate> {
        self.certificates.first().map(|(_, c)| c)
    }

    /// The EKU constraints in force: for each certificate with an extendedKeyUsage that is not
    /// anyExtendedKeyUsage, its name and the dotted OIDs it allows.
    pub fn eku_constraints(&self) -> Result<Vec<(&str, Vec<String>)>, String> {
        let mut out = Vec::new();
        for (name, certificate) in &self.certificates {
            if let Some(ekus) = eku_of(certificate)?
                && !ekus.iter().any(|e| e == ANY_EXTENDED_KEY_USAGE)
            {
                out.push((name.as_str(), ekus));
            }
        }
        Ok(out)
    }
}

pub fn findings(dir: &Path, config: &Config) -> Vec<Finding> {
    let certificates = match CaCertificates::read(dir, config) {
        Ok(c) => c,
        Err(e) => return vec![finding("ca.certificate", Severity::Fail, e)],
    };
    vec![
        path_len(&certificates),
        name_constraints(&certificates),
        eku_constraint(&certificates),
    ]
}

/// The raw value of the extension `oid`, if the certificate has it.
fn extension<'a>(certificate: &'a Certificate, oid: &ObjectIdentifier) -> Option<&'a [u8]> {
    certificate
        .tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == *oid)
        .map(|e| e.extn_value.as_bytes())
}

fn eku_of(certificate: &Certificate) -> Result<Option<Vec<String>>, String> {
    let Some(value) = extension(certificate, &EXTENDED_KEY_USAGE) else {
        return Ok(None);
    };
    let eku = ExtendedKeyUsage::from_der(value)
        .map_err(|e| format!("extendedKeyUsage does not decode: {e}"))?;
    Ok(Some(eku.0.iter().map(ToString::to_string).collect()))
}

/// `ca.path_len`: the CA may certify end entities only.
fn path_len(certificates: &CaCertificates) -> Finding {
    let id = "ca.path_len";
    let Some(ca) = certificates.ca() else {
        return finding(id, Severity::Fail, "no CA certificate");
    };
    let constraints = extension(ca, &BASIC_CONSTRAINTS).map(BasicConstraints::from_der);
    match constraints {
        None | Some(Ok(BasicConstraints { ca: false, .. })) => finding(
            id,
            Severity::Fail,
            "the CA certificate is not a CA certificate (basicConstraints cA=TRUE missing): scepd serve refuses it",
        ),
        Some(Err(e)) => finding(
            id,
            Severity::Fail,
            format!("the CA certificate's basicConstraints does not decode: {e}"),
        ),
        Some(Ok(BasicConstraints {
            path_len_constraint: Some(0),
            ..
        })) => finding(
            id,
            Severity::Pass,
            "the CA certificate has basicConstraints cA=TRUE, pathLenConstraint 0: it can certify end entities only",
        ),
        Some(Ok(BasicConstraints {
            path_len_constraint,
            ..
        })) => finding(
            id,
            Severity::Warn,
            format!(
                "the CA certificate allows {} below it (pathLenConstraint {}): scepd issues no CA certificate, but its key, if stolen, could certify a subordinate CA that verifiers accept; an issuing CA for SCEP should have pathLenConstraint 0 (every CA scepd init makes has it; for an imported CA, ask its issuer)",
                match path_len_constraint {
                    Some(n) => format!("{n} level(s) of CAs"),
                    None => "any number of CAs".to_owned(),
                },
                path_len_constraint.map_or_else(|| "absent".to_owned(), |n| n.to_string())
            ),
        ),
    }
}

/// `ca.name_constraints`: the names the CA may certify are limited, in its certificate or in
/// an issuer's.
fn name_constraints(certificates: &CaCertificates) -> Finding {
    let id = "ca.name_constraints";
    for (name, certificate) in &certificates.certificates {
        let Some(value) = extension(certificate, &NAME_CONSTRAINTS) else {
            continue;
        };
        let constraints = match NameConstraints::from_der(value) {
            Ok(c) => c,
            Err(e) => {
                return finding(
                    id,
                    Severity::Fail,
                    format!("the nameConstraints of {name} do not decode: {e}"),
                );
            }
        };
        let permitted = subtrees(constraints.permitted_subtrees.as_deref());
        let excluded = subtrees(constraints.excluded_subtrees.as_deref());
        if permitted.is_empty() && excluded.is_empty() {
            continue;
        }
        return finding(
            id,
            Severity::Pass,
            format!(
                "nameConstraints in {name}: permitted [{}], excluded [{}]",
                permitted.join(", "),
                excluded.join(", ")
            ),
        );
    }
    finding(
        id,
        Severity::Warn,
        "no nameConstraints in the CA certificate or its chain: the CA key can certify any name; `scepd init --ca-permit-dns DOMAIN` limits a new CA to a namespace",
    )
}

fn subtrees(list: Option<&[GeneralSubtree]>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .map(|subtree| match &subtree.base {
            GeneralName::DnsName(d) => format!("DNS:{d}"),
            GeneralName::Rfc822Name(e) => format!("email:{e}"),
            GeneralName::UniformResourceIdentifier(u) => format!("URI:{u}"),
            GeneralName::DirectoryName(n) => format!("dirName:{n}"),
            GeneralName::IpAddress(ip) => format!("IP:{}", hex::encode(ip.as_bytes())),
            GeneralName::OtherName(o) => format!("otherName:{}", o.type_id),
            GeneralName::RegisteredId(oid) => format!("registeredID:{oid}"),
            GeneralName::EdiPartyName(_) => "ediPartyName".to_owned(),
        })
        .collect()
}

/// `ca.eku_constraint`: the usages the CA's certificates may carry are limited (an
/// extendedKeyUsage in a CA certificate, as OpenSSL, Windows and the CA/B Forum read it).
fn eku_constraint(certificates: &CaCertificates) -> Finding {
    let id = "ca.eku_constraint";
    match certificates.eku_constraints() {
        Err(e) => finding(id, Severity::Fail, e),
        Ok(constraints) => match constraints.first() {
            Some((name, ekus)) => finding(
                id,
                Severity::Pass,
                format!(
                    "EKU constraint in {name}: its certificates may carry only {}",
                    ekus.join(", ")
                ),
            ),
            None => finding(
                id,
                Severity::Warn,
                "no EKU constraint in the CA certificate or its chain (or anyExtendedKeyUsage): the CA key can certify any usage, server authentication included; `scepd init --ca-eku-constraint` limits a new CA to clientAuth and Certificate Request Agent",
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use keys::KeyRole;
    use keys::software::SoftwareKey;

    use super::*;

    /// A data directory whose CA certificate is `der`, and optionally a chain.
    fn with_ca(der: &[u8], chain: &[Vec<u8>]) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        std::fs::create_dir_all(dir.path().join("certs")).unwrap();
        keys::pem::write_certificate(&dir.path().join(&config.keys.ca_certificate), der).unwrap();
        if !chain.is_empty() {
            config.keys.ca_chain = Some("certs/ca-chain.pem".into());
            keys::pem::write_certificates(&dir.path().join("certs/ca-chain.pem"), chain).unwrap();
        }
        (dir, config)
    }

    fn made_by_scepd(profile: ca::CaProfile) -> Vec<u8> {
        let signer = SoftwareKey::generate_ec_p256(KeyRole::CaSigning).unwrap();
        profile.self_signed(&signer).unwrap()
    }

    /// An imported CA as another PKI may make it: no pathLenConstraint, nothing else.
    fn imported_unconstrained() -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Imported Issuing CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn severity_of(found: &[Finding], id: &str) -> Severity {
        found.iter().find(|f| f.id == id).unwrap().severity
    }

    #[test]
    fn a_constrained_ca_made_by_scepd_passes_all_three() {
        let profile = ca::CaProfile::new("CN=Constrained", 30)
            .unwrap()
            .permit_dns("devices.example.net")
            .unwrap()
            .client_auth_only();
        let (dir, config) = with_ca(&made_by_scepd(profile), &[]);
        let found = findings(dir.path(), &config);
        for id in ["ca.path_len", "ca.name_constraints", "ca.eku_constraint"] {
            assert_eq!(severity_of(&found, id), Severity::Pass, "{id}");
        }
        let names = found
            .iter()
            .find(|f| f.id == "ca.name_constraints")
            .unwrap();
        assert!(
            names.message.contains("DNS:devices.example.net"),
            "{}",
            names.message
        );
    }

    #[test]
    fn an_unconstrained_ca_made_by_scepd_warns_about_names_and_usages_only() {
        let profile = ca::CaProfile::new("CN=Plain", 30).unwrap();
        let (dir, config) = with_ca(&made_by_scepd(profile), &[]);
        let found = findings(dir.path(), &config);
        assert_eq!(severity_of(&found, "ca.path_len"), Severity::Pass);
        assert_eq!(severity_of(&found, "ca.name_constraints"), Severity::Warn);
        assert_eq!(severity_of(&found, "ca.eku_constraint"), Severity::Warn);
    }

    #[test]
    fn an_imported_ca_without_path_length_warns() {
        let (dir, config) = with_ca(&imported_unconstrained(), &[]);
        let found = findings(dir.path(), &config);
        let path_len = found.iter().find(|f| f.id == "ca.path_len").unwrap();
        assert_eq!(path_len.severity, Severity::Warn, "{}", path_len.message);
        assert!(path_len.message.contains("absent"), "{}", path_len.message);
    }

    #[test]
    fn constraints_of_an_imported_ca_chain_count() {
        let issuer = ca::CaProfile::new("CN=Constrained Root", 30)
            .unwrap()
            .permit_dns("example.net")
            .unwrap()
            .client_auth_only();
        let (dir, config) = with_ca(&imported_unconstrained(), &[made_by_scepd(issuer)]);
        let found = findings(dir.path(), &config);
        let names = found
            .iter()
            .find(|f| f.id == "ca.name_constraints")
            .unwrap();
        assert_eq!(names.severity, Severity::Pass, "{}", names.message);
        assert!(names.message.contains("issuer #1"), "{}", names.message);
        assert_eq!(severity_of(&found, "ca.eku_constraint"), Severity::Pass);
    }

    #[test]
    fn a_missing_ca_certificate_fails() {
        let dir = tempfile::tempdir().unwrap();
        let found = findings(dir.path(), &Config::default());
        assert_eq!(severity_of(&found, "ca.certificate"), Severity::Fail);
    }

    #[test]
    fn an_end_entity_certificate_as_ca_fails() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["device.example".into()]).unwrap();
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        let der = params.self_signed(&key).unwrap().der().to_vec();
        let (dir, config) = with_ca(&der, &[]);
        assert_eq!(
            severity_of(&findings(dir.path(), &config), "ca.path_len"),
            Severity::Fail
        );
    }
}
