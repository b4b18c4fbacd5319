//! Named SCEP endpoints (`[[endpoints]]`) on a running `scepd serve`: each answers the whole
//! protocol at `/scep/NAME` and `/certsrv/mscep/mscep.dll/NAME`, issues under its own
//! template only, and a path naming no endpoint is a 404 that issues nothing.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{Server, enroll_at};
use scep_client::{ClientKey, get_ca_caps, get_ca_cert, http_get};

const CONFIG: &str = r#"
[[templates]]
name = "wifi"
extended_key_usages = ["clientAuth"]

[[endpoints]]
name = "wifi"
template = "wifi"
"#;

#[test]
fn a_named_endpoint_serves_the_protocol_under_its_own_template() {
    let server = Server::start(CONFIG);
    let default = server.url();
    for url in [
        format!("{default}/wifi"),
        format!("{}/wifi", server.ndes_url()),
        // Windows' SCEP client appends /pkiclient.exe.
        format!("{default}/wifi/pkiclient.exe"),
        format!("{}/wifi/pkiclient.exe", server.ndes_url()),
        format!("{default}/pkiclient.exe"),
        format!("{}/pkiclient.exe", server.ndes_url()),
    ] {
        // GetCACaps and GetCACert answer as on the default endpoint.
        assert_eq!(
            get_ca_caps(&url).unwrap_or_else(|e| panic!("{url}: {e}")),
            get_ca_caps(&default).unwrap()
        );
        let bundle = get_ca_cert(&url).unwrap();
        assert_eq!(
            bundle.ra_encryption,
            get_ca_cert(&default).unwrap().ra_encryption
        );
    }

    let key = ClientKey::generate_rsa(2048).unwrap();
    let wifi_challenge = server.challenge(&["--template", "wifi"]);
    let certificate = enroll_at(
        &format!("{default}/wifi/pkiclient.exe"),
        &wifi_challenge,
        &key,
        "CN=wifi-dev1",
        &["wifi-dev1.example.net"],
    )
    .unwrap();
    let serial = hex::encode(
        scep::parse_certificate_lenient(&certificate)
            .unwrap()
            .serial,
    );
    let store = server.store();
    let record = common::block_on(store.find_certificate(&serial))
        .unwrap()
        .unwrap();
    assert_eq!(record.template, "wifi");

    // A challenge minted for the default template is refused there, and spent nowhere.
    let device_challenge = server.challenge(&[]);
    let other = ClientKey::generate_rsa(2048).unwrap();
    let refused = enroll_at(
        &format!("{default}/wifi"),
        &device_challenge,
        &other,
        "CN=wifi-dev2",
        &["wifi-dev2.example.net"],
    );
    assert_eq!(refused, Err(scep::FailInfo::BadRequest));
    // The same challenge still works where it belongs.
    enroll_at(
        &default,
        &device_challenge,
        &other,
        "CN=wifi-dev2",
        &["wifi-dev2.example.net"],
    )
    .unwrap();
}

#[test]
fn a_path_naming_no_endpoint_is_a_404() {
    let server = Server::start(CONFIG);
    let before = server.certificate_count();
    for path in [
        "/scep/nosuch",
        "/certsrv/mscep/mscep.dll/nosuch",
        "/scep/WIFI",
    ] {
        let reply = http_get(&format!(
            "{}{path}?operation=GetCACaps",
            server.url().trim_end_matches("/scep")
        ))
        .unwrap();
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.text().contains("no such SCEP endpoint"), "{path}");
        assert!(
            !reply.text().contains("nosuch"),
            "client text is not echoed"
        );
    }
    assert_eq!(server.certificate_count(), before);
}

/// A data directory whose one endpoint names a template that is not configured.
fn with_an_endpoint_for_an_unknown_template() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, data) = common::initialised_data_dir();
    let config = data.join("scepd.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[[endpoints]]\nname = \"intune\"\ntemplate = \"nosuch\"\n");
    std::fs::write(&config, text).unwrap();
    (dir, data)
}

#[test]
fn doctor_fails_an_endpoint_for_an_unknown_template_and_names_it() {
    let (_dir, data) = with_an_endpoint_for_an_unknown_template();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scepd"))
        .args(["doctor", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("\"intune\"") && said.contains("nosuch"),
        "{said}"
    );
}

#[test]
fn serve_refuses_an_endpoint_for_an_unknown_template_and_names_it() {
    let (_dir, data) = with_an_endpoint_for_an_unknown_template();
    let out = std::process::Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_scepd"), "serve", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("endpoint \"intune\": template \"nosuch\" is not configured"),
        "{said}"
    );
}
