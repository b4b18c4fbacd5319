//! RA and CA rollover, for software keys and keys in a PKCS#11 token alike:
//! - `scepd ra renew`: new RA keys and certificates replace the current ones. The old RA
//!   encryption key is kept (a file in `keys/previous/`, or its token label recorded in
//!   `certs/previous/`) so requests from clients that cached the old certificate still open
//!   until it expires. The old enrollment-agent key is destroyed: nothing needs it, and it is
//!   the key to protect most.
//! - `scepd ca rollover`: prepares the next CA (same name, new key) and RA certificates it
//!   issued in `certs/next/` (keys in `keys/next/` or new token labels), with the RFC 4210 §4.4
//!   cross certificates; GetNextCACert serves them from the next start on.
//! - `scepd ca rollover --activate`: the next CA becomes current; the old CA certificate and
//!   key are kept in `previous/` (renewals of certificates it issued stay possible), and the
//!   NewWithOld cross certificate is left in `certs/ca-new-with-old.pem` for relying parties
//!   that trust only the old root. It is not put in GetCACert: it carries the new root's name
//!   as both subject and issuer, and clients that pick "the self-signed certificate" from the
//!   bundle could pick it instead of the root.
//!
//! New keys are always made first, under names nothing uses yet; only then are the current
//! ones retired and the new ones installed, so a failure while making keys leaves the running
//! set untouched.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use der::Decode;
use keys::io_context::Context;
use keys::key_history::{
    NEXT, PREVIOUS, previous_certificate, previous_encryption_key, previous_encryption_label,
    read_label,
};
use keys::keymaker::Keymaker;
use keys::keystore::{self, RoleCertificates};
use keys::pem;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, NameConstraints};

use crate::ceremony::error::CeremonyError;
use crate::ceremony::init::{
    AgentPaths, CaKeyType, DEFAULT_AGENT_CERTIFICATE, DEFAULT_AGENT_KEY, RaPaths, issue_ra_pair,
};
use config::{CONFIG_FILE, Config};

const STAGING: &str = "staging";
const NEW_WITH_OLD: &str = "certs/ca-new-with-old.pem";

pub type Fingerprints = Vec<(&'static str, String, String)>;

fn make_dirs(dir: &Path, sub: &str) -> Result<(), CeremonyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(0o700);
    for parent in ["keys", "certs"] {
        let path = dir.join(parent).join(sub);
        builder.create(&path).context(&path, "creating directory")?;
    }
    Ok(())
}

fn remove_dirs(dir: &Path, sub: &str) -> Result<(), CeremonyError> {
    for parent in ["keys", "certs"] {
        let path = dir.join(parent).join(sub);
        fs::remove_dir(&path).context(&path, "removing")?;
    }
    Ok(())
}

fn move_file(from: &Path, to: &Path) -> Result<(), CeremonyError> {
    fs::rename(from, to).map_err(|source| CeremonyError::Move {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    })
}

fn write_label(path: &Path, label: &str) -> Result<(), CeremonyError> {
    fs::write(path, format!("{label}\n")).context(path, "writing")?;
    Ok(())
}

/// Sets `key = "value"` in scepd.toml, replacing the line that holds the key (commented or
/// not), written to a temporary file and renamed so a crash never leaves half a file.
fn set_config_value(dir: &Path, key: &'static str, value: &str) -> Result<(), CeremonyError> {
    let path = dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).context(&path, "reading")?;
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let bare = line.trim_start().trim_start_matches('#').trim_start();
            if !found
                && bare
                    .strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            {
                found = true;
                format!("{key} = {value:?}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    if !found {
        return Err(CeremonyError::NoConfigLine { path, key });
    }
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    fs::write(&tmp, lines.join("\n") + "\n").context(&tmp, "writing")?;
    move_file(&tmp, &path)
}

/// [`set_config_value`], or, in a scepd.toml without any line for the key (written before
/// the key existed), a new line right under `[section]`.
fn add_config_value(
    dir: &Path,
    section: &str,
    key: &'static str,
    value: &str,
) -> Result<(), CeremonyError> {
    if set_config_value(dir, key, value).is_ok() {
        return Ok(());
    }
    let path = dir.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).context(&path, "reading")?;
    let header = format!("[{section}]");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == header)
        .map(|i| i + 1)
        .unwrap_or_else(|| {
            lines.push(header.clone());
            lines.len()
        });
    lines.insert(at, format!("{key} = {value:?}"));
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    fs::write(&tmp, lines.join("\n") + "\n").context(&tmp, "writing")?;
    move_file(&tmp, &path)
}

async fn audit(dir: &Path, config: &Config, detail: String) -> Result<(), CeremonyError> {
    let store = config.open_store(dir).await?;
    crate::audit_trail::record_cli(&store, store::AuditKind::ConfigChanged, detail).await?;
    Ok(())
}

fn describe(fingerprints: &Fingerprints) -> String {
    fingerprints
        .iter()
        .map(|(what, fp, subject)| format!("{what} {subject} SHA-256 {fp}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// RA key locations under `sub` (staging or next), with token labels stamped so they never
/// collide with labels in use.
fn ra_paths_in(config: &Config, sub: &str, stamp: i64) -> RaPaths {
    let mut paths = RaPaths::current(config);
    paths.signing_key = PathBuf::from(format!("keys/{sub}/ra-signing.key"));
    paths.signing_certificate = PathBuf::from(format!("certs/{sub}/ra-signing.pem"));
    paths.encryption_key = PathBuf::from(format!("keys/{sub}/ra-encryption.key"));
    paths.encryption_certificate = PathBuf::from(format!("certs/{sub}/ra-encryption.pem"));
    paths.signing_label = format!("scepd-ra-signing-{stamp}");
    paths.encryption_label = format!("scepd-ra-encryption-{stamp}");
    if paths.agent.is_some() {
        paths.agent = Some(agent_paths_in(sub, stamp));
    }
    paths
}

fn agent_paths_in(sub: &str, stamp: i64) -> AgentPaths {
    AgentPaths {
        key: PathBuf::from(format!("keys/{sub}/ra-agent.key")),
        label: format!("scepd-ra-agent-{stamp}"),
        certificate: PathBuf::from(format!("certs/{sub}/ra-agent.pem")),
    }
}

/// Moves the current RA keys out of service: the encryption key (and certificate) to
/// `previous/`, the signing and agent certificates to `previous/` for the record. Returns the
/// token labels of the retired signing and agent keys, to be destroyed once their successors
/// are installed.
fn retire_ra(
    dir: &Path,
    config: &Config,
    keymaker: &Keymaker,
    stamp: i64,
) -> Result<Vec<String>, CeremonyError> {
    let k = &config.keys;
    move_file(
        &dir.join(&k.ra_encryption_certificate),
        &previous_certificate(dir, format!("ra-encryption-{stamp}.pem")),
    )?;
    move_file(
        &dir.join(&k.ra_signing_certificate),
        &previous_certificate(dir, format!("ra-signing-{stamp}.pem")),
    )?;
    if let Some(agent_certificate) = &k.ra_agent_certificate {
        move_file(
            &dir.join(agent_certificate),
            &previous_certificate(dir, format!("ra-agent-{stamp}.pem")),
        )?;
    }
    if keymaker.token().is_some() {
        write_label(
            &previous_encryption_label(dir, stamp),
            &config.pkcs11.ra_encryption_key_label,
        )?;
        let mut retired = vec![config.pkcs11.ra_signing_key_label.clone()];
        retired.extend(config.pkcs11.ra_agent_key_label.clone());
        Ok(retired)
    } else {
        move_file(
            &dir.join(&k.ra_encryption_key),
            &previous_encryption_key(dir, stamp),
        )?;
        // The staged signing and agent keys are renamed over these files when installed.
        Ok(Vec::new())
    }
}

/// Puts staged RA keys and certificates in the current places: files are renamed (the old
/// signing key file is replaced), token keys become current by their labels in scepd.toml.
/// A staged enrollment agent in a data directory that had none gets the default places and
/// its settings in scepd.toml.
fn install_ra(
    dir: &Path,
    config: &Config,
    keymaker: &Keymaker,
    staged: &RaPaths,
) -> Result<(), CeremonyError> {
    let k = &config.keys;
    let default_agent_key = PathBuf::from(DEFAULT_AGENT_KEY);
    let default_agent_certificate = PathBuf::from(DEFAULT_AGENT_CERTIFICATE);
    let agent_key = k.ra_agent_key.as_ref().unwrap_or(&default_agent_key);
    let agent_certificate = k
        .ra_agent_certificate
        .as_ref()
        .unwrap_or(&default_agent_certificate);
    if keymaker.token().is_some() {
        set_config_value(dir, "ra_signing_key_label", &staged.signing_label)?;
        set_config_value(dir, "ra_encryption_key_label", &staged.encryption_label)?;
        if let Some(agent) = &staged.agent {
            add_config_value(dir, "pkcs11", "ra_agent_key_label", &agent.label)?;
        }
    } else {
        move_file(&dir.join(&staged.signing_key), &dir.join(&k.ra_signing_key))?;
        move_file(
            &dir.join(&staged.encryption_key),
            &dir.join(&k.ra_encryption_key),
        )?;
        if let Some(agent) = &staged.agent {
            move_file(&dir.join(&agent.key), &dir.join(agent_key))?;
            if k.ra_agent_key.is_none() {
                add_config_value(dir, "keys", "ra_agent_key", DEFAULT_AGENT_KEY)?;
            }
        }
    }
    if let Some(agent) = &staged.agent {
        move_file(&dir.join(&agent.certificate), &dir.join(agent_certificate))?;
        if k.ra_agent_certificate.is_none() {
            add_config_value(
                dir,
                "keys",
                "ra_agent_certificate",
                DEFAULT_AGENT_CERTIFICATE,
            )?;
        }
    }
    move_file(
        &dir.join(&staged.signing_certificate),
        &dir.join(&k.ra_signing_certificate),
    )?;
    move_file(
        &dir.join(&staged.encryption_certificate),
        &dir.join(&k.ra_encryption_certificate),
    )
}

fn destroy_retired(keymaker: &Keymaker, labels: Vec<String>) -> Result<(), CeremonyError> {
    if let Some(token) = keymaker.token() {
        for label in labels {
            if let Err(source) = token.destroy_key_pair(&label) {
                return Err(CeremonyError::DestroyRetired { label, source });
            }
        }
    }
    Ok(())
}

/// `scepd ra renew`.
pub async fn renew_ra(dir: &Path, validity_days: u32) -> Result<Fingerprints, CeremonyError> {
    let config = Config::load(dir)?;
    let certificates = RoleCertificates::read(dir, &config.key_locations())?;
    let role_keys = keystore::load(dir, &config.key_locations(), &certificates)?;
    let keymaker = Keymaker::for_keys(dir, &config.key_locations(), &role_keys)?;
    let stamp = unique_stamp(dir, &config);
    make_dirs(dir, STAGING)?;
    make_dirs(dir, PREVIOUS)?;
    let mut staged = ra_paths_in(&config, STAGING, stamp);
    if staged.agent.is_none() {
        // A data directory made before the separate enrollment agent gets one now.
        staged.agent = Some(agent_paths_in(STAGING, stamp));
    }
    let fingerprints = issue_ra_pair(
        &keymaker,
        dir,
        &staged,
        role_keys.ca.as_ref(),
        &certificates.ca,
        validity_days,
    )?;
    let retired_signing = retire_ra(dir, &config, &keymaker, stamp)?;
    install_ra(dir, &config, &keymaker, &staged)?;
    remove_dirs(dir, STAGING)?;
    drop(role_keys);
    destroy_retired(&keymaker, retired_signing)?;
    audit(
        dir,
        &config,
        format!("RA renewed: {}", describe(&fingerprints)),
    )
    .await?;
    Ok(fingerprints)
}

/// A stamp for names of retired or prepared keys that nothing in the data directory or the
/// configured token labels uses yet: two rollovers within one second must never reuse a name
/// (a rename would overwrite a kept key; a token refuses a duplicate label).
fn unique_stamp(dir: &Path, config: &Config) -> i64 {
    let mut names: Vec<String> = [
        dir.join("keys").join(PREVIOUS),
        dir.join("certs").join(PREVIOUS),
        dir.join("keys").join(NEXT),
        dir.join("certs").join(NEXT),
    ]
    .iter()
    .flat_map(|d| fs::read_dir(d).into_iter().flatten().flatten())
    .filter_map(|e| e.file_name().into_string().ok())
    .collect();
    for d in [
        dir.join("certs").join(PREVIOUS),
        dir.join("certs").join(NEXT),
    ] {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().ends_with(".label") {
                names.extend(read_label(&entry.path()));
            }
        }
    }
    let p = &config.pkcs11;
    names.extend([
        p.ca_key_label.clone(),
        p.ra_signing_key_label.clone(),
        p.ra_encryption_key_label.clone(),
    ]);
    names.extend(p.ra_agent_key_label.clone());
    let mut stamp = crate::clock::unix_now();
    while names.iter().any(|n| n.contains(&format!("-{stamp}"))) {
        stamp += 1;
    }
    stamp
}

/// The key type of the current CA, for a next CA of the same kind.
fn key_type_of(spki: &[u8]) -> Result<CaKeyType, CeremonyError> {
    use keys::verify::PublicKeyKind;
    match keys::verify::describe_public_key(spki).map_err(CeremonyError::CurrentCaKey)? {
        PublicKeyKind::Rsa { bits } if bits > 3072 => Ok(CaKeyType::Rsa4096),
        PublicKeyKind::Rsa { .. } => Ok(CaKeyType::Rsa3072),
        PublicKeyKind::EcP256 => Ok(CaKeyType::P256),
        _ => Ok(CaKeyType::P384),
    }
}

/// The current CA's profile (name, name constraints, EKU constraint) for its successor.
fn profile_like(current: &[u8], validity_days: u32) -> Result<ca::CaProfile, CeremonyError> {
    let certificate =
        Certificate::from_der(current).map_err(CeremonyError::CurrentCaCertificate)?;
    let tbs = certificate.tbs_certificate();
    let subject = tbs.subject().to_string();
    let mut profile =
        ca::CaProfile::new(&subject, validity_days).map_err(CeremonyError::CaProfile)?;
    let unreadable = CeremonyError::CurrentCaExtensions;
    if let Some((_, constraints)) = tbs.get_extension::<NameConstraints>().map_err(unreadable)? {
        for subtree in constraints.permitted_subtrees.unwrap_or_default() {
            match subtree.base {
                GeneralName::DnsName(name) => {
                    profile = profile
                        .permit_dns(name.as_str())
                        .map_err(CeremonyError::CaProfile)?;
                }
                other => return Err(CeremonyError::UnsupportedNameConstraint(other)),
            }
        }
    }
    if let Some((_, eku)) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(unreadable)?
    {
        let oids: Vec<String> = eku.0.iter().map(ToString::to_string).collect();
        let oids: Vec<&str> = oids.iter().map(String::as_str).collect();
        profile = profile
            .eku_constraint(&oids)
            .map_err(CeremonyError::CaProfile)?;
    }
    Ok(profile)
}

fn next_ca_key_path() -> PathBuf {
    PathBuf::from(format!("keys/{NEXT}/ca-signing.key"))
}

/// `scepd ca rollover`: prepares the next CA.
pub async fn prepare_ca(
    dir: &Path,
    key: Option<CaKeyType>,
    validity_days: u32,
    ra_validity_days: u32,
) -> Result<Fingerprints, CeremonyError> {
    let config = Config::load(dir)?;
    let next_dir = dir.join("certs").join(NEXT);
    if next_dir.join("ca.pem").exists() {
        return Err(CeremonyError::RolloverPrepared);
    }
    let certificates = RoleCertificates::read(dir, &config.key_locations())?;
    let role_keys = keystore::load(dir, &config.key_locations(), &certificates)?;
    let keymaker = Keymaker::for_keys(dir, &config.key_locations(), &role_keys)?;
    let key = match key {
        Some(k) => k,
        None => key_type_of(role_keys.ca.public_key_spki_der())?,
    };
    let profile = profile_like(&certificates.ca, validity_days)?;
    let stamp = unique_stamp(dir, &config);
    make_dirs(dir, NEXT)?;
    let (bits, curve) = match key {
        CaKeyType::Rsa2048 => (2048, None),
        CaKeyType::Rsa3072 => (3072, None),
        CaKeyType::Rsa4096 => (4096, None),
        CaKeyType::P256 => (0, Some(keys::pkcs11::EcCurve::P256)),
        CaKeyType::P384 => (0, Some(keys::pkcs11::EcCurve::P384)),
    };
    let ca_label = format!("scepd-ca-signing-{stamp}");
    let next_key = keymaker.make(
        dir,
        keys::KeyRole::CaSigning,
        &next_ca_key_path(),
        &ca_label,
        bits,
        curve,
    )?;
    let next = ca::rollover::next_ca(
        role_keys.ca.as_ref(),
        &certificates.ca,
        next_key.as_ref(),
        &profile,
    )
    .map_err(CeremonyError::NextCa)?;
    pem::write_certificate(&next_dir.join("ca.pem"), &next.certificate)?;
    pem::write_certificate(&next_dir.join("ca-old-with-new.pem"), &next.old_with_new)?;
    pem::write_certificate(&next_dir.join("ca-new-with-old.pem"), &next.new_with_old)?;
    let ra_paths = ra_paths_in(&config, NEXT, stamp);
    if keymaker.token().is_some() {
        write_label(&next_dir.join("ca-signing.label"), &ca_label)?;
        write_label(&next_dir.join("ra-signing.label"), &ra_paths.signing_label)?;
        write_label(
            &next_dir.join("ra-encryption.label"),
            &ra_paths.encryption_label,
        )?;
        if let Some(agent) = &ra_paths.agent {
            write_label(&next_dir.join("ra-agent.label"), &agent.label)?;
        }
    }
    let mut fingerprints = vec![(
        "next CA",
        ca::fingerprint_sha256(&next.certificate),
        crate::x509::subject_of(&next.certificate),
    )];
    fingerprints.extend(issue_ra_pair(
        &keymaker,
        dir,
        &ra_paths,
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
pub async fn activate_ca(dir: &Path) -> Result<(), CeremonyError> {
    let config = Config::load(dir)?;
    let next_dir = dir.join("certs").join(NEXT);
    if !next_dir.join("ca.pem").exists() {
        return Err(CeremonyError::NoRolloverPrepared);
    }
    let stamp = unique_stamp(dir, &config);
    let token_labels = next_dir.join("ca-signing.label").exists();
    // The prepared set, as a configuration of its own.
    let mut next_config = config.clone();
    let mut staged = ra_paths_in(&config, NEXT, stamp);
    next_config.keys.ca_key = next_ca_key_path();
    next_config.keys.ca_certificate = PathBuf::from(format!("certs/{NEXT}/ca.pem"));
    if token_labels {
        next_config.pkcs11.ca_key_label = read_label(&next_dir.join("ca-signing.label"))?;
        staged.signing_label = read_label(&next_dir.join("ra-signing.label"))?;
        staged.encryption_label = read_label(&next_dir.join("ra-encryption.label"))?;
        if let Some(agent) = &mut staged.agent {
            agent.label = read_label(&next_dir.join("ra-agent.label"))?;
        }
    }
    if let Some(agent) = &staged.agent {
        next_config.keys.ra_agent_key = Some(agent.key.clone());
        next_config.keys.ra_agent_certificate = Some(agent.certificate.clone());
        next_config.pkcs11.ra_agent_key_label = Some(agent.label.clone());
    }
    next_config.keys.ra_signing_key = staged.signing_key.clone();
    next_config.keys.ra_signing_certificate = staged.signing_certificate.clone();
    next_config.keys.ra_encryption_key = staged.encryption_key.clone();
    next_config.keys.ra_encryption_certificate = staged.encryption_certificate.clone();
    next_config.pkcs11.ra_signing_key_label = staged.signing_label.clone();
    next_config.pkcs11.ra_encryption_key_label = staged.encryption_label.clone();
    // Everything must load and fit its role before anything moves. The current keys are
    // loaded (and the token logged in) once; the next keys through the same session.
    let certificates = RoleCertificates::read(dir, &config.key_locations())?;
    let role_keys = keystore::load(dir, &config.key_locations(), &certificates)?;
    let keymaker = Keymaker::for_keys(dir, &config.key_locations(), &role_keys)?;
    let next_certificates = RoleCertificates::read(dir, &next_config.key_locations())?;
    keystore::check_loaded(
        dir,
        &next_config.key_locations(),
        &next_certificates,
        role_keys.token.as_ref(),
    )?;

    make_dirs(dir, PREVIOUS)?;
    let k = &config.keys;
    move_file(
        &dir.join(&k.ca_certificate),
        &previous_certificate(dir, format!("ca-{stamp}.pem")),
    )?;
    if token_labels {
        // The old CA key stays in the token (certificates it issued may still need it).
        write_label(
            &previous_certificate(dir, format!("ca-signing-{stamp}.label")),
            &config.pkcs11.ca_key_label,
        )?;
        set_config_value(dir, "ca_key_label", &next_config.pkcs11.ca_key_label)?;
    } else {
        move_file(
            &dir.join(&k.ca_key),
            &dir.join("keys")
                .join(PREVIOUS)
                .join(format!("ca-signing-{stamp}.key")),
        )?;
        move_file(&dir.join(next_ca_key_path()), &dir.join(&k.ca_key))?;
    }
    move_file(&next_dir.join("ca.pem"), &dir.join(&k.ca_certificate))?;
    let retired_signing = retire_ra(dir, &config, &keymaker, stamp)?;
    install_ra(dir, &config, &keymaker, &staged)?;
    move_file(
        &next_dir.join("ca-new-with-old.pem"),
        &dir.join(NEW_WITH_OLD),
    )?;
    move_file(
        &next_dir.join("ca-old-with-new.pem"),
        &previous_certificate(dir, format!("ca-old-with-new-{stamp}.pem")),
    )?;
    for label in [
        "ca-signing.label",
        "ra-signing.label",
        "ra-encryption.label",
        "ra-agent.label",
    ] {
        let path = next_dir.join(label);
        if path.exists() {
            fs::remove_file(&path).context(&path, "removing")?;
        }
    }
    remove_dirs(dir, NEXT)?;
    drop(role_keys);
    destroy_retired(&keymaker, retired_signing)?;
    audit(
        dir,
        &config,
        format!("CA rollover activated; previous CA kept as certs/previous/ca-{stamp}.pem"),
    )
    .await
}
