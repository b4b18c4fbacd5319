//! Cross-site requests to the admin listener: a login form posted from another site (login
//! CSRF) opens no session, and no state-changing request a browser sends for another site —
//! page or API — gets through, while clients that send neither `Origin` nor `Sec-Fetch-Site`
//! and same-origin forms work as before.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::admin::{Https, Reply};
use common::browser::{CHROMEDRIVER, CHROMIUM, Driver, capabilities};
use common::{Server, require_tool};
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

/// The test client always sends `Host: localhost`: the listener's own origin is this.
const OWN_ORIGIN: &str = "https://localhost";

fn login(client: &Https, password: &str, headers: &[(&str, &str)]) -> Reply {
    let form = format!("username=admin&password={password}");
    client.request(
        "POST",
        "/certsrv/mscep_admin/login",
        headers,
        Some(("application/x-www-form-urlencoded", form.as_bytes())),
    )
}

fn audit_kinds(server: &Server) -> Vec<String> {
    server
        .cli(&["audit", "export"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_refused_as_cross_site(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.body);
    assert!(
        reply.body.contains("cross-site request refused"),
        "{what}: {}",
        reply.body
    );
    assert!(reply.header("set-cookie").is_none(), "{what}: a cookie");
    // Hardened like every other answer.
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
}

#[test]
fn a_cross_site_login_opens_no_session_and_a_same_origin_one_does() {
    let server = Server::start("");
    let client = server.admin();
    let password = server.initial_admin_password();

    for (what, headers) in [
        (
            "Origin and Sec-Fetch-Site of another site",
            &[
                ("Origin", "https://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ][..],
        ),
        (
            "Origin of another site",
            &[("Origin", "https://evil.example")],
        ),
        (
            "Sec-Fetch-Site: cross-site",
            &[("Sec-Fetch-Site", "cross-site")],
        ),
        (
            "Sec-Fetch-Site: same-site",
            &[("Sec-Fetch-Site", "same-site")],
        ),
        ("Origin: null", &[("Origin", "null")]),
        ("plain HTTP origin", &[("Origin", "http://localhost")]),
    ] {
        assert_refused_as_cross_site(&login(&client, &password, headers), what);
    }
    let page = client.get("/certsrv/mscep_admin/", &[]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"login\""), "{}", page.body);
    let kinds = audit_kinds(&server);
    assert!(
        !kinds.iter().any(|k| k == "admin-login"),
        "a refused login was audited as a login: {kinds:?}"
    );

    // What a browser sends for the page's own form.
    let same_origin = login(
        &client,
        &password,
        &[("Origin", OWN_ORIGIN), ("Sec-Fetch-Site", "same-origin")],
    );
    assert_eq!(same_origin.status, 303, "{}", same_origin.body);
    let cookie = same_origin.header("set-cookie").unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = client.get("/certsrv/mscep_admin/", &[("Cookie", &session)]);
    assert!(page.body.contains("id=\"challenge\""), "{}", page.body);
    // The scheme and host of an origin are case-insensitive.
    let upper = login(&client, &password, &[("Origin", "HTTPS://LOCALHOST")]);
    assert_eq!(upper.status, 303, "{}", upper.body);

    // Another site cannot sign the administrator out either.
    let logout = client.request(
        "POST",
        "/certsrv/mscep_admin/logout",
        &[("Cookie", &session), ("Sec-Fetch-Site", "cross-site")],
        None,
    );
    assert_refused_as_cross_site(&logout, "cross-site logout");
    let page = client.get("/certsrv/mscep_admin/", &[("Cookie", &session)]);
    assert!(page.body.contains("id=\"challenge\""), "{}", page.body);

    let logins = audit_kinds(&server)
        .iter()
        .filter(|k| *k == "admin-login")
        .count();
    assert_eq!(logins, 2);
}

#[test]
fn a_browser_cannot_be_made_to_call_the_api_from_another_site() {
    let server = Server::start("");
    let client = server.admin();
    let token = server
        .cli(&["user", "token", "admin"])
        .split_whitespace()
        .find(|w| w.starts_with("scepd_"))
        .unwrap()
        .to_owned();
    let authorization = format!("Bearer {token}");
    let challenge = |extra: &[(&str, &str)]| {
        let mut headers = vec![("Authorization", authorization.as_str())];
        headers.extend_from_slice(extra);
        client.post_json("/admin/api/v1/challenges", &headers, &json!({}))
    };

    let refused = challenge(&[("Sec-Fetch-Site", "cross-site")]);
    assert_refused_as_cross_site(&refused, "API POST with Sec-Fetch-Site: cross-site");
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("cross-site request refused"),
        "{}",
        refused.body
    );
    assert_refused_as_cross_site(
        &challenge(&[("Origin", "https://evil.example")]),
        "API POST with a foreign Origin",
    );
    // Reading is not refused: a cross-site GET cannot change anything, and the page's own
    // answers are not readable by another site.
    let read = client.get(
        "/admin/api/v1/whoami",
        &[
            ("Authorization", &authorization),
            ("Sec-Fetch-Site", "cross-site"),
        ],
    );
    assert_eq!(read.status, 200, "{}", read.body);
    let kinds = audit_kinds(&server);
    assert!(
        !kinds.iter().any(|k| k == "challenge-issued"),
        "a refused request issued a challenge: {kinds:?}"
    );

    // The same request from a script (neither header), or from the listener's own origin.
    let issued = challenge(&[]);
    assert_eq!(issued.status, 201, "{}", issued.body);
    let own = challenge(&[("Origin", OWN_ORIGIN), ("Sec-Fetch-Site", "same-origin")]);
    assert_eq!(own.status, 201, "{}", own.body);
    let issued = audit_kinds(&server)
        .iter()
        .filter(|k| *k == "challenge-issued")
        .count();
    assert_eq!(issued, 2);
}

/// The headers a real browser sends, not the ones a test writes: a login form on another
/// site (a `data:` page, an opaque origin) is refused with the right password, and the page's
/// own forms — sign in, sign out — still work under the listener's Referrer-Policy.
#[test]
fn chromium_is_refused_a_login_posted_from_another_site_and_uses_its_own_forms() {
    use base64::Engine as _;

    if !require_tool(CHROMEDRIVER) || !require_tool(CHROMIUM) {
        return;
    }
    let server = Server::start("");
    let password = server.initial_admin_password();
    let page = format!(
        "https://localhost:{}/certsrv/mscep_admin/",
        server.admin_addr.unwrap().port()
    );
    let attacker = format!(
        "<!DOCTYPE html><form method=\"post\" action=\"{page}login\">\
<input name=\"username\" value=\"admin\"><input name=\"password\" value=\"{password}\">\
<button type=\"submit\" id=\"forged\">go</button></form>"
    );
    let attacker = format!(
        "data:text/html;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(attacker)
    );
    let profile = server.dir.path().join("chromium-profile");
    let driver = Driver::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let caps = capabilities(&profile);
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session in headless Chromium");
        let text = |locator| {
            let browser = browser.clone();
            async move {
                browser
                    .wait()
                    .at_most(Duration::from_secs(20))
                    .for_element(locator)
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };

        browser.goto(&attacker).await.unwrap();
        browser
            .find(Locator::Id("forged"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The click navigates away from the attacker's page: until the answer has loaded, the
        // body found may still be the old page's (and go stale), so poll for the answer.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let refused = loop {
            let body = match browser.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if body.contains("cross-site request refused") || std::time::Instant::now() > deadline {
                break body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(
            refused.contains("cross-site request refused"),
            "{refused:?}"
        );
        browser.goto(&page).await.unwrap();
        text(Locator::Id("login")).await;

        for (field, value) in [("username", "admin"), ("password", password.as_str())] {
            browser
                .find(Locator::Id(field))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        browser
            .find(Locator::Id("sign-in"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(text(Locator::Id("user")).await, "admin");
        browser
            .find(Locator::Id("sign-out"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text(Locator::Id("login")).await;
        browser.close().await.unwrap();
    });
    drop(driver);
    let logins = audit_kinds(&server)
        .iter()
        .filter(|k| *k == "admin-login")
        .count();
    assert_eq!(logins, 1, "only the page's own form signed in");
}
