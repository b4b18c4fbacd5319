//! RA and CA rollover, on disk:
//! - `scepd ra renew`: new RA keys and certificates replace the current ones; the old RA
//!   encryption key and certificate move to `keys/previous/` and `certs/previous/` so
//!   requests from clients that cached the old certificate still open until it expires. The
//!   old enrollment-agent key is deleted: nothing needs it, and it is the key to protect most.
//! - `scepd ca rollover`: prepares the next CA (same name, new key) in `keys/next/` and
//!   `certs/next/`, with the RFC 4210 §4.4 cross certificates and RA certificates issued by
//!   the next CA; GetNextCACert serves them from the next start on.
//! - `scepd ca rollover --activate`: the next CA becomes current; the old CA certificate and
//!   key move to `previous/` (renewals of certificates it issued stay possible), and the
//!   NewWithOld cross certificate is left in `certs/ca-new-with-old.pem` for relying parties
//!   that trust only the old root. It is not put in GetCACert: it carries the new root's name
//!   as both subject and issuer, and clients that pick "the self-signed certificate" from the
//!   bundle could pick it instead of the root.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, NameConstraints};

use crate::config::{Config, KeyBackend};
use crate::init::{CaKeyType, Keymaker, RaPaths, issue_ra_pair};
use crate::io_context::Context;
use crate::keystore::{self, RoleCertificates};
use crate::pem;

const PREVIOUS: &str = "previous";
const NEXT: &str = "next";
const NEW_WITH_OLD: &str = "certs/ca-new-with-old.pem";

pub type Fingerprints = Vec<(&'static str, String, String)>;

/// A replaced RA encryption key with its certificate (DER).
pub type PreviousEncryption = (Arc<dyn keys::Decrypter>, Vec<u8>);

fn make_dirs(dir: &Path, sub: &str) -> Result<(), String> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    for parent in ["keys", "certs"] {
        let path = dir.join(parent).join(sub);
        builder.create(&path).context(&path, "creating directory")?;
    }
    Ok(())
}

fn move_file(from: &Path, to: &Path) -> Result<(), String> {
    fs::rename(from, to).map_err(|e| format!("moving {} to {}: {e}", from.display(), to.display()))
}

fn software_only(config: &Config, what: &str) -> Result<(), String> {
    match config.keys.backend {
        KeyBackend::Software => Ok(()),
        KeyBackend::Pkcs11 => Err(format!(
            "{what} with keys in a PKCS#11 token is not available yet: generate the new keys in the token and update the labels in scepd.toml"
        )),
    }
}

async fn audit(dir: &Path, config: &Config, detail: String) -> Result<(), String> {
    let store = store::Store::open(&config.database_url(dir))
        .await
        .map_err(|e| format!("opening the database: {e}"))?;
    store
        .append_audit(store::AuditEvent {
            at: crate::http::unix_now(),
            kind: store::AuditKind::ConfigChanged,
            actor: format!(
                "cli:{}",
                std::env::var("USER").unwrap_or_else(|_| "unknown".into())
            ),
            detail,
        })
        .await
        .map(|_| ())
        .map_err(|e| format!("audit log: {e}"))
}

/// `scepd ra renew`.
pub async fn renew_ra(dir: &Path, validity_days: u32) -> Result<Fingerprints, String> {
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    software_only(&config, "ra renew")?;
    let certificates = RoleCertificates::read(dir, &config)?;
    let role_keys = keystore::load(dir, &config, &certificates)?;
    let keymaker = Keymaker::from_config(dir, &config)?;
    let stamp = crate::http::unix_now();
    make_dirs(dir, PREVIOUS)?;
    let k = &config.keys;
    move_file(
        &dir.join(&k.ra_encryption_key),
        &previous_encryption_key(dir, stamp),
    )?;
    move_file(
        &dir.join(&k.ra_encryption_certificate),
        &previous_encryption_certificate(dir, stamp),
    )?;
    move_file(
        &dir.join(&k.ra_signing_certificate),
        &dir.join("certs")
            .join(PREVIOUS)
            .join(format!("ra-signing-{stamp}.pem")),
    )?;
    fs::remove_file(dir.join(&k.ra_signing_key))
        .context(&dir.join(&k.ra_signing_key), "removing")?;
    let fingerprints = issue_ra_pair(
        &keymaker,
        dir,
        &RaPaths::current(&config),
        role_keys.ca.as_ref(),
        &certificates.ca,
        validity_days,
    )?;
    audit(
        dir,
        &config,
        format!("RA renewed: {}", describe(&fingerprints)),
    )
    .await?;
    Ok(fingerprints)
}

fn previous_encryption_key(dir: &Path, stamp: i64) -> PathBuf {
    dir.join("keys")
        .join(PREVIOUS)
        .join(format!("ra-encryption-{stamp}.key"))
}

fn previous_encryption_certificate(dir: &Path, stamp: i64) -> PathBuf {
    dir.join("certs")
        .join(PREVIOUS)
        .join(format!("ra-encryption-{stamp}.pem"))
}

fn describe(fingerprints: &Fingerprints) -> String {
    fingerprints
        .iter()
        .map(|(what, fp, subject)| format!("{what} {subject} SHA-256 {fp}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The stamps of files named `PREFIX-STAMP.EXT` in `dir`, newest first.
fn stamps(dir: &Path, prefix: &str, ext: &str) -> Vec<i64> {
    let mut found: Vec<i64> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix(prefix)?.strip_suffix(ext)?.parse().ok()
        })
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found
}

/// RA encryption keys replaced by `ra renew` (or a CA activation), newest first, with their
/// certificates. The RA ignores those whose certificate has expired.
pub fn previous_encryption(dir: &Path, config: &Config) -> Result<Vec<PreviousEncryption>, String> {
    let certs_dir = dir.join("certs").join(PREVIOUS);
    let found = stamps(&certs_dir, "ra-encryption-", ".pem");
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let passphrase = keystore::passphrase(dir, config)?;
    let mut previous = Vec::new();
    for stamp in found {
        let key_path = previous_encryption_key(dir, stamp);
        let key = match &passphrase {
            Some(p) => keys::software::SoftwareKey::load_encrypted(
                keys::KeyRole::RaDecryption,
                &key_path,
                p.as_bytes(),
            ),
            None => keys::software::SoftwareKey::load(keys::KeyRole::RaDecryption, &key_path),
        }
        .map_err(|e| format!("{}: {e}", key_path.display()))?;
        let cert = pem::read_certificate(&previous_encryption_certificate(dir, stamp))?;
        let decrypter: Arc<dyn keys::Decrypter> = Arc::new(key);
        previous.push((decrypter, cert));
    }
    Ok(previous)
}

/// CA certificates replaced by an activated rollover, newest first.
pub fn previous_ca_certificates(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let certs_dir = dir.join("certs").join(PREVIOUS);
    stamps(&certs_dir, "ca-", ".pem")
        .into_iter()
        .map(|stamp| pem::read_certificate(&certs_dir.join(format!("ca-{stamp}.pem"))))
        .collect()
}

/// What GetNextCACert serves once a rollover is prepared: the next CA certificate and the
/// RA certificates it issued.
pub fn next_certificates(dir: &Path) -> Result<Option<Vec<Vec<u8>>>, String> {
    let next = dir.join("certs").join(NEXT);
    if !next.join("ca.pem").exists() {
        return Ok(None);
    }
    ["ca.pem", "ra-signing.pem", "ra-encryption.pem"]
        .iter()
        .map(|f| pem::read_certificate(&next.join(f)))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn next_ra_paths(config: &Config) -> RaPaths {
    let mut paths = RaPaths::current(config);
    paths.signing_key = PathBuf::from("keys/next/ra-signing.key");
    paths.signing_certificate = PathBuf::from("certs/next/ra-signing.pem");
    paths.encryption_key = PathBuf::from("keys/next/ra-encryption.key");
    paths.encryption_certificate = PathBuf::from("certs/next/ra-encryption.pem");
    paths
}

/// The key type of the current CA, for a next CA of the same kind.
fn key_type_of(spki: &[u8]) -> Result<CaKeyType, String> {
    use keys::verify::PublicKeyKind;
    match keys::verify::describe_public_key(spki).map_err(|e| format!("current CA key: {e}"))? {
        PublicKeyKind::Rsa { bits } if bits > 3072 => Ok(CaKeyType::Rsa4096),
        PublicKeyKind::Rsa { .. } => Ok(CaKeyType::Rsa3072),
        PublicKeyKind::EcP256 => Ok(CaKeyType::P256),
        _ => Ok(CaKeyType::P384),
    }
}

/// The current CA's profile (name, name constraints, EKU constraint) for its successor.
fn profile_like(current: &[u8], validity_days: u32) -> Result<ca::CaProfile, String> {
    let certificate =
        Certificate::from_der(current).map_err(|e| format!("current CA certificate: {e}"))?;
    let tbs = certificate.tbs_certificate();
    let subject = tbs.subject().to_string();
    let mut profile = ca::CaProfile::new(&subject, validity_days).map_err(|e| e.to_string())?;
    let unreadable = |e: der::Error| format!("current CA certificate extensions: {e}");
    if let Some((_, constraints)) = tbs.get_extension::<NameConstraints>().map_err(unreadable)? {
        for subtree in constraints.permitted_subtrees.unwrap_or_default() {
            match subtree.base {
                GeneralName::DnsName(name) => {
                    profile = profile
                        .permit_dns(name.as_str())
                        .map_err(|e| e.to_string())?;
                }
                other => {
                    return Err(format!(
                        "current CA has a name constraint scepd cannot carry over: {other:?}"
                    ));
                }
            }
        }
    }
    if let Some((_, eku)) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(unreadable)?
    {
        let oids: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
        let oids: Vec<&str> = oids.iter().map(String::as_str).collect();
        profile = profile.eku_constraint(&oids).map_err(|e| e.to_string())?;
    }
    Ok(profile)
}

/// `scepd ca rollover`: prepares the next CA.
pub async fn prepare_ca(
    dir: &Path,
    key: Option<CaKeyType>,
    validity_days: u32,
    ra_validity_days: u32,
) -> Result<Fingerprints, String> {
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    software_only(&config, "ca rollover")?;
    if dir.join("certs").join(NEXT).join("ca.pem").exists() {
        return Err(
            "a rollover is already prepared (certs/next/): activate it with --activate".into(),
        );
    }
    let certificates = RoleCertificates::read(dir, &config)?;
    let role_keys = keystore::load(dir, &config, &certificates)?;
    let keymaker = Keymaker::from_config(dir, &config)?;
    let key = match key {
        Some(k) => k,
        None => key_type_of(role_keys.ca.public_key_spki_der())?,
    };
    let profile = profile_like(&certificates.ca, validity_days)?;
    make_dirs(dir, NEXT)?;
    let (bits, curve) = match key {
        CaKeyType::Rsa3072 => (3072, None),
        CaKeyType::Rsa4096 => (4096, None),
        CaKeyType::P256 => (0, Some(keys::pkcs11::EcCurve::P256)),
        CaKeyType::P384 => (0, Some(keys::pkcs11::EcCurve::P384)),
    };
    let next_key = keymaker.make(
        dir,
        keys::KeyRole::CaSigning,
        Path::new("keys/next/ca-signing.key"),
        "unused",
        bits,
        curve,
    )?;
    let next = ca::rollover::next_ca(
        role_keys.ca.as_ref(),
        &certificates.ca,
        next_key.as_ref(),
        &profile,
    )
    .map_err(|e| format!("making the next CA: {e}"))?;
    let next_dir = dir.join("certs").join(NEXT);
    pem::write_certificate(&next_dir.join("ca.pem"), &next.certificate)?;
    pem::write_certificate(&next_dir.join("ca-old-with-new.pem"), &next.old_with_new)?;
    pem::write_certificate(&next_dir.join("ca-new-with-old.pem"), &next.new_with_old)?;
    let mut fingerprints = vec![(
        "next CA",
        ca::fingerprint_sha256(&next.certificate),
        crate::init::subject_of(&next.certificate),
    )];
    fingerprints.extend(issue_ra_pair(
        &keymaker,
        dir,
        &next_ra_paths(&config),
        next_key.as_ref(),
        &next.certificate,
        ra_validity_days,
    )?);
    audit(
        dir,
        &config,
        format!("CA rollover prepared: {}", describe(&fingerprints)),
    )
    .await?;
    Ok(fingerprints)
}

/// `scepd ca rollover --activate`: the prepared CA becomes current.
pub async fn activate_ca(dir: &Path) -> Result<(), String> {
    let config = Config::load(dir).map_err(|e| e.to_string())?;
    software_only(&config, "ca rollover")?;
    let next_dir = dir.join("certs").join(NEXT);
    let next_keys = dir.join("keys").join(NEXT);
    if !next_dir.join("ca.pem").exists() {
        return Err("no rollover is prepared: run `scepd ca rollover` first".into());
    }
    // The prepared set must load and fit its roles before anything moves.
    let mut next_config = config.clone();
    next_config.keys.ca_key = PathBuf::from("keys/next/ca-signing.key");
    next_config.keys.ca_certificate = PathBuf::from("certs/next/ca.pem");
    let paths = next_ra_paths(&config);
    next_config.keys.ra_signing_key = paths.signing_key.clone();
    next_config.keys.ra_signing_certificate = paths.signing_certificate.clone();
    next_config.keys.ra_encryption_key = paths.encryption_key.clone();
    next_config.keys.ra_encryption_certificate = paths.encryption_certificate.clone();
    let next_certificates = RoleCertificates::read(dir, &next_config)?;
    keystore::load(dir, &next_config, &next_certificates)?;

    let stamp = crate::http::unix_now();
    make_dirs(dir, PREVIOUS)?;
    let k = &config.keys;
    let previous = |name: String| dir.join("certs").join(PREVIOUS).join(name);
    move_file(
        &dir.join(&k.ca_certificate),
        &previous(format!("ca-{stamp}.pem")),
    )?;
    move_file(
        &dir.join(&k.ca_key),
        &dir.join("keys")
            .join(PREVIOUS)
            .join(format!("ca-signing-{stamp}.key")),
    )?;
    move_file(
        &dir.join(&k.ra_encryption_key),
        &previous_encryption_key(dir, stamp),
    )?;
    move_file(
        &dir.join(&k.ra_encryption_certificate),
        &previous_encryption_certificate(dir, stamp),
    )?;
    move_file(
        &dir.join(&k.ra_signing_certificate),
        &previous(format!("ra-signing-{stamp}.pem")),
    )?;
    fs::remove_file(dir.join(&k.ra_signing_key))
        .context(&dir.join(&k.ra_signing_key), "removing")?;

    move_file(&next_keys.join("ca-signing.key"), &dir.join(&k.ca_key))?;
    move_file(&next_dir.join("ca.pem"), &dir.join(&k.ca_certificate))?;
    move_file(
        &next_keys.join("ra-signing.key"),
        &dir.join(&k.ra_signing_key),
    )?;
    move_file(
        &next_dir.join("ra-signing.pem"),
        &dir.join(&k.ra_signing_certificate),
    )?;
    move_file(
        &next_keys.join("ra-encryption.key"),
        &dir.join(&k.ra_encryption_key),
    )?;
    move_file(
        &next_dir.join("ra-encryption.pem"),
        &dir.join(&k.ra_encryption_certificate),
    )?;
    move_file(
        &next_dir.join("ca-new-with-old.pem"),
        &dir.join(NEW_WITH_OLD),
    )?;
    move_file(
        &next_dir.join("ca-old-with-new.pem"),
        &previous(format!("ca-old-with-new-{stamp}.pem")),
    )?;
    fs::remove_dir(&next_dir).context(&next_dir, "removing")?;
    fs::remove_dir(&next_keys).context(&next_keys, "removing")?;
    audit(
        dir,
        &config,
        format!("CA rollover activated; previous CA kept as certs/previous/ca-{stamp}.pem"),
    )
    .await
}
