//! `scepd-oracle-bench`: times the RA's envelope-decryption path per ciphertext class and
//! prints a Markdown table (see SECURITY.md).
//!
//! ```text
//! scepd-oracle-bench [--count N]     N ciphertexts per class (default 100000)
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut count = oracle_bench::DEFAULT_COUNT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => match args.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if n >= 2 => count = n,
                _ => return usage("--count needs a number of at least 2"),
            },
            "-h" | "--help" => {
                println!("usage: scepd-oracle-bench [--count N]  (default {count} per class)");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other}")),
        }
    }
    eprintln!(
        "measuring {count} ciphertexts per class ({} classes)...",
        oracle_bench::Class::ALL.len()
    );
    match oracle_bench::measure(count) {
        Ok(report) => {
            print!("{}", report.to_markdown());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("scepd-oracle-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("scepd-oracle-bench: {problem}\nusage: scepd-oracle-bench [--count N]");
    ExitCode::from(2)
}
