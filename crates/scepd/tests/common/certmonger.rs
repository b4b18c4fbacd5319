//! certmonger (`getcert` + `/usr/lib/certmonger/scep-submit`) on a private D-Bus session
//! with all its state in a temporary directory, for the tests that drive it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// certmonger's SCEP helper; tests skip without it (`require_tool`).
pub const SCEP_SUBMIT: &str = "/usr/lib/certmonger/scep-submit";

/// Whether certmonger and a D-Bus session can run here.
pub fn available() -> bool {
    super::require_tool(SCEP_SUBMIT)
        && super::require_tool("dbus-run-session")
        && super::require_tool("getcert")
}

/// Runs `script` inside `dbus-run-session -- certmonger -s -n -c script`, with every state
/// directory of certmonger redirected into `work`.
pub fn run_certmonger(work: &Path, script: &str) -> String {
    let script_path = work.join("enroll.sh");
    std::fs::write(&script_path, script).unwrap();
    for sub in ["requests", "cas", "config", "tmp", "local"] {
        std::fs::create_dir_all(work.join(sub)).unwrap();
    }
    let out = Command::new("timeout")
        .args([
            "120",
            "dbus-run-session",
            "--",
            "certmonger",
            "-s",
            "-n",
            "-c",
        ])
        .arg(format!("bash {}", script_path.display()))
        .env("HOME", work)
        .env("XDG_CONFIG_HOME", work.join("config"))
        .env("XDG_DATA_HOME", work.join("config"))
        .env("CERTMONGER_REQUESTS_DIR", work.join("requests"))
        .env("CERTMONGER_CAS_DIR", work.join("cas"))
        .env("CERTMONGER_CONFIG_DIR", work.join("config"))
        .env("CERTMONGER_TMPDIR", work.join("tmp"))
        .env("CERTMONGER_LOCAL_CA_DIR", work.join("local"))
        .env("CERTMONGER_SYSTEM_LOCK_FILE", work.join("lock"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}
