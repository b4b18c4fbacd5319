//! A real browser on the mscep_admin page: headless Chromium, driven through chromedriver
//! (WebDriver), logs in as the first administrator, reads the challenge the page shows, and a
//! device enrolls with that challenge. The screenshot is kept as a test artifact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::browser::{CHROMEDRIVER, CHROMIUM, Driver, capabilities};
use common::{Server, enroll_with, require_tool};
use fantoccini::{ClientBuilder, Locator};

#[test]
fn chromium_logs_in_reads_the_challenge_and_the_challenge_enrolls_a_device() {
    if !require_tool(CHROMEDRIVER) || !require_tool(CHROMIUM) {
        return;
    }
    let server = Server::start("");
    let password = server.initial_admin_password();
    let admin = server.admin_addr.unwrap();
    let profile = server.dir.path().join("chromium-profile");
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (challenge, fingerprint, screenshot) = runtime.block_on(async {
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities(&profile))
            .connect(&driver.url)
            .await
            .expect("a WebDriver session in headless Chromium");
        browser
            .goto(&format!(
                "https://localhost:{}/certsrv/mscep_admin",
                admin.port()
            ))
            .await
            .unwrap();
        browser
            .find(Locator::Id("username"))
            .await
            .unwrap()
            .send_keys("admin")
            .await
            .unwrap();
        browser
            .find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys(&password)
            .await
            .unwrap();
        browser
            .find(Locator::Id("sign-in"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let challenge = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id("challenge"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let fingerprint = browser
            .find(Locator::Id("ca-fingerprint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let screenshot = browser.screenshot().await.unwrap();
        browser.close().await.unwrap();
        (challenge, fingerprint, screenshot)
    });

    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("mscep_admin.png");
    std::fs::write(&shot, &screenshot).unwrap();
    assert!(screenshot.starts_with(b"\x89PNG"), "not a PNG screenshot");
    eprintln!("screenshot: {}", shot.display());

    assert_eq!(challenge.len(), 32, "{challenge:?}");
    assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint:?}");
    let key = scep_client::ClientKey::generate_rsa(2048).unwrap();
    let certificate = enroll_with(&server, &challenge, &key, "CN=enrolled-from-chromium", &[])
        .expect("the challenge the browser read enrolls a device");
    let pem = common::write_pem(&server, "from-chromium.pem", &certificate);
    assert!(common::openssl_verify(&server.ca_pem(), &pem).contains("OK"));
    drop(driver);
}
