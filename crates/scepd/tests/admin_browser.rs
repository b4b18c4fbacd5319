//! A real browser on the mscep_admin page: headless Chromium, driven through chromedriver
//! (WebDriver), logs in as the first administrator, reads the challenge the page shows, and a
//! device enrolls with that challenge. The screenshot is kept as a test artifact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, enroll_with, require_tool};
use fantoccini::{ClientBuilder, Locator};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capabilities(profile: &std::path::Path) -> serde_json::Map<String, serde_json::Value> {
    let mut caps = serde_json::Map::new();
    // The admin listener's self-signed development certificate.
    caps.insert("acceptInsecureCerts".into(), serde_json::json!(true));
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    caps
}

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
