//! Measures the RA's envelope-decryption path for timing differences between classes of
//! RSAES-PKCS1-v1_5 ciphertexts: the Bleichenbacher / Marvin oracle check of issue 3 item 6.
//!
//! For each ciphertext it times exactly what `ra::verify::open_envelope` does once it has
//! chosen the recipient: [`keys::unwrap_content_key`] (PKCS#1 v1.5 decryption with implicit
//! rejection to a random key of the cipher's length) followed by [`keys::decrypt_cbc`] with
//! AES-256-CBC over a fixed IV and content (the CBC padding check). Like an attacker's probe,
//! the content is not encrypted under any of the recovered keys, so every class normally ends
//! in the same CBC padding failure; what is compared is the time to get there.
//!
//! Classes are interleaved in a random order so that frequency scaling, cache and
//! scheduler drift fall on every class alike. This is a benchmark binary, not a timed test:
//! the smoke test only checks that every class is built and measured.
#![forbid(unsafe_code)]

mod classes;
mod raw_rsa;
pub mod stats;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use keys::cipher::ContentCipher;
use keys::software::SoftwareKey;
use keys::{Decrypter, KeyRole};

pub use classes::{Class, KEY_LEN};
pub use raw_rsa::RawRsaPublic;
use stats::Summary;

/// Ciphertexts per class unless `--count` says otherwise (issue 3: at least 100k).
pub const DEFAULT_COUNT: usize = 100_000;

/// |t| below this: no difference detected (the threshold dudect and the Marvin papers use).
pub const T_THRESHOLD: f64 = 4.5;

/// Length of the fixed envelope content, in AES blocks (a small CSR is ~40 blocks; the CBC
/// work does not depend on the key, so a few blocks keep the run short).
const CONTENT_BLOCKS: usize = 4;

/// Why the bench could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Generating or using the RA key failed.
    #[error("key: {0}")]
    Key(#[from] keys::KeyError),
    /// The public key could not be read for raw RSA.
    #[error("public key: {0}")]
    PublicKey(&'static str),
    /// The modulus is too small for the classes.
    #[error("modulus of {0} octets is too small")]
    Modulus(usize),
    /// An encoded message was not below the modulus.
    #[error("encoded message out of range for the modulus")]
    MessageRange,
    /// A class did not decrypt the way it is meant to: the measurement would be meaningless.
    #[error("class {class:?}: PKCS#1 decryption gave {got}, expected {expected}")]
    ClassCheck {
        /// The class concerned.
        class: Class,
        /// What the backend did.
        got: String,
        /// What the class is built for.
        expected: String,
    },
    /// Fewer than two ciphertexts per class.
    #[error("need at least 2 ciphertexts per class")]
    TooFew,
}

/// One class's row of the report.
#[derive(Clone, Debug)]
pub struct ClassResult {
    /// The class.
    pub class: Class,
    /// Timings of all its ciphertexts.
    pub summary: Summary,
    /// Timings at or below the pooled 95th percentile (interrupt and scheduler outliers
    /// removed, as dudect crops).
    pub cropped: Summary,
    /// Welch's t against the valid class (0 for the valid class itself).
    pub t: f64,
    /// Welch's t against the valid class on the cropped timings.
    pub t_cropped: f64,
    /// Welch's t against the valid class on timings at or below the pooled median: the
    /// fastest half, where the scheduler noise of a shared machine is smallest and a shift of
    /// a few hundred nanoseconds shows first.
    pub t_fast_half: f64,
    /// The mean difference this sample size could detect at |t| = [`T_THRESHOLD`].
    pub resolution_ns: f64,
    /// How many of its envelopes passed the CBC padding check (chance: about 1 in 256).
    pub cbc_ok: usize,
}

impl ClassResult {
    /// The largest |t| of the three comparisons.
    pub fn max_abs_t(&self) -> f64 {
        self.t
            .abs()
            .max(self.t_cropped.abs())
            .max(self.t_fast_half.abs())
    }
}

/// The whole measurement.
#[derive(Clone, Debug)]
pub struct Report {
    /// Ciphertexts per class.
    pub count: usize,
    /// "RSA-2048" and the backend.
    pub key: String,
    /// One row per [`Class::ALL`] entry, in that order.
    pub results: Vec<ClassResult>,
}

impl Report {
    /// The largest |t| of any class against the valid class, raw or cropped.
    pub fn max_abs_t(&self) -> f64 {
        self.results
            .iter()
            .map(ClassResult::max_abs_t)
            .fold(0.0, f64::max)
    }

    /// The one-line verdict.
    pub fn verdict(&self) -> String {
        let max = self.max_abs_t();
        if max < T_THRESHOLD {
            format!(
                "Verdict: no difference detected at this sample size (max |t| = {max:.2} < {T_THRESHOLD})."
            )
        } else {
            let worst = self
                .results
                .iter()
                .filter(|r| r.max_abs_t() >= T_THRESHOLD)
                .map(|r| r.class.label())
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "Verdict: DIFFERENCE DETECTED (max |t| = {max:.2} >= {T_THRESHOLD}) for: {worst}."
            )
        }
    }

    /// The report as Markdown: a title line, the table (one row per class), the verdict.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} software key (aws-lc-rs), {} ciphertexts per class, classes interleaved at random; \
             time per ciphertext of unwrap_content_key(…, 32) + decrypt_cbc(AES-256-CBC, {} bytes).\n",
            self.key,
            self.count,
            CONTENT_BLOCKS * 16
        );
        out.push_str(
            "| class | n | mean (ns) | median (ns) | p10 (ns) | p90 (ns) | stddev (ns) | t vs valid | t (≤ p95) | t (≤ p50) | resolution at t=4.5 (ns) | CBC padding ok |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.results {
            let s = &r.summary;
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {} |",
                r.class.label(),
                s.count,
                s.mean,
                s.median,
                s.p10,
                s.p90,
                s.stddev,
                r.t,
                r.t_cropped,
                r.t_fast_half,
                r.resolution_ns,
                r.cbc_ok
            );
        }
        let _ = writeln!(out, "\n{}", self.verdict());
        out
    }
}

/// Generate an RSA-2048 RA decryption key, build `count` ciphertexts per class, time the
/// envelope-opening work for each in a random interleaved order, and summarise.
pub fn measure(count: usize) -> Result<Report, BenchError> {
    if count < 2 {
        return Err(BenchError::TooFew);
    }
    let key = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048)?;
    let key_type = key.key_type();
    let raw = RawRsaPublic::from_spki(key.public_key_spki_der())?;
    let decrypter = key.into_decrypter()?;
    let k = raw.k();

    check_classes(&raw, decrypter.as_ref())?;

    // One flat buffer: count · 6 · k octets (150 MiB at the default count).
    let total = count * Class::ALL.len();
    let mut order: Vec<(u8, u32)> = Vec::with_capacity(total);
    let mut ciphertexts = Vec::with_capacity(total * k);
    for (class_index, class) in (0u8..).zip(Class::ALL) {
        for _ in 0..count {
            let index = u32::try_from(order.len()).map_err(|_| BenchError::TooFew)?;
            ciphertexts.extend(raw.encrypt(&class.encode(k)?)?);
            order.push((class_index, index));
        }
    }
    shuffle(&mut order)?;

    let iv = keys::random::bytes(ContentCipher::Aes256Cbc.iv_len())?;
    let content = keys::random::bytes(CONTENT_BLOCKS * 16)?;

    // Warm up caches, branch predictors and the CPU clock before anything is recorded.
    for &(_, index) in order.iter().take(count.min(2000)) {
        black_box(open(
            decrypter.as_ref(),
            ct(&ciphertexts, index, k),
            &iv,
            &content,
        ));
    }

    let mut timings: Vec<Vec<u64>> = Class::ALL
        .iter()
        .map(|_| Vec::with_capacity(count))
        .collect();
    let mut cbc_ok = [0usize; Class::ALL.len()];
    let step = (total / 10).max(1);
    for (done, &(class_index, index)) in order.iter().enumerate() {
        let ciphertext = ct(&ciphertexts, index, k);
        let start = Instant::now();
        let ok = black_box(open(
            decrypter.as_ref(),
            black_box(ciphertext),
            &iv,
            &content,
        ));
        let elapsed = start.elapsed();
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let slot = usize::from(class_index);
        if let Some(list) = timings.get_mut(slot) {
            list.push(ns);
        }
        if ok && let Some(n) = cbc_ok.get_mut(slot) {
            *n += 1;
        }
        if done > 0 && done % step == 0 {
            eprintln!("  {}%", done * 100 / total);
        }
    }

    let mut pooled: Vec<u64> = timings.iter().flatten().copied().collect();
    pooled.sort_unstable();
    let p95 = stats::percentile(&pooled, 95);
    let p50 = stats::percentile(&pooled, 50);
    let summarize = |samples: &[u64]| stats::summarize(samples).ok_or(BenchError::TooFew);
    let cropped_at = |samples: &[u64], crop: f64| -> Vec<u64> {
        samples
            .iter()
            .copied()
            .filter(|&x| (x as f64) <= crop)
            .collect()
    };
    let valid = timings.first().ok_or(BenchError::TooFew)?;
    let valid_summary = summarize(valid)?;
    let valid_cropped = summarize(&cropped_at(valid, p95))?;
    // The fast half of a small sample may hold fewer than two timings of a class.
    let valid_fast = stats::summarize(&cropped_at(valid, p50));

    let mut results = Vec::with_capacity(Class::ALL.len());
    for ((class, samples), cbc) in Class::ALL.into_iter().zip(&timings).zip(cbc_ok) {
        let summary = summarize(samples)?;
        let cropped = summarize(&cropped_at(samples, p95))?;
        let fast = stats::summarize(&cropped_at(samples, p50));
        let (t, t_cropped, t_fast_half) = if class == Class::Valid {
            (0.0, 0.0, 0.0)
        } else {
            (
                stats::welch_t(&valid_summary, &summary),
                stats::welch_t(&valid_cropped, &cropped),
                match (&valid_fast, &fast) {
                    (Some(a), Some(b)) => stats::welch_t(a, b),
                    _ => 0.0,
                },
            )
        };
        results.push(ClassResult {
            class,
            summary,
            cropped,
            t,
            t_cropped,
            t_fast_half,
            resolution_ns: T_THRESHOLD * stats::standard_error(&valid_summary, &summary),
            cbc_ok: cbc,
        });
    }
    Ok(Report {
        count,
        key: key_type,
        results,
    })
}

/// What `ra::verify::open_envelope` does after choosing the recipient; true if the CBC
/// padding check passed. Everything it allocates is dropped inside the timed region, as in
/// the RA.
fn open(decrypter: &dyn Decrypter, encrypted_key: &[u8], iv: &[u8], content: &[u8]) -> bool {
    let content_key = keys::unwrap_content_key(decrypter, encrypted_key, KEY_LEN);
    keys::decrypt_cbc(ContentCipher::Aes256Cbc, &content_key, iv, content).is_ok()
}

fn ct(all: &[u8], index: u32, k: usize) -> &[u8] {
    let start = usize::try_from(index)
        .unwrap_or(usize::MAX)
        .saturating_mul(k);
    all.get(start..start.saturating_add(k)).unwrap_or(&[])
}

/// Every class must decrypt (without implicit rejection) the way it is named, or the
/// comparison means nothing.
fn check_classes(raw: &RawRsaPublic, decrypter: &dyn Decrypter) -> Result<(), BenchError> {
    for class in Class::ALL {
        for _ in 0..4 {
            let ciphertext = raw.encrypt(&class.encode(raw.k())?)?;
            let got = decrypter
                .decrypt_rsa_pkcs1v15(&ciphertext)
                .ok()
                .map(|p| p.len());
            if got != class.expected_plaintext_len() {
                return Err(BenchError::ClassCheck {
                    class,
                    got: describe(got),
                    expected: describe(class.expected_plaintext_len()),
                });
            }
        }
    }
    Ok(())
}

fn describe(len: Option<usize>) -> String {
    len.map_or_else(|| "an error".to_owned(), |n| format!("{n} bytes"))
}

/// Fisher–Yates with the OS generator (modulo bias below 2^-40 for these sizes).
fn shuffle<T>(items: &mut [T]) -> Result<(), BenchError> {
    let n = items.len();
    if n < 2 {
        return Ok(());
    }
    let mut random = vec![0u8; 8 * n];
    keys::random::fill(&mut random)?;
    for (i, chunk) in (1..n).rev().zip(random.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let bound = u64::try_from(i + 1).unwrap_or(u64::MAX);
        let j = usize::try_from(u64::from_le_bytes(word) % bound).unwrap_or(0);
        items.swap(i, j);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// CI smoke run: every class built, checked and measured; the table has one row each.
    #[test]
    fn a_small_run_measures_every_class() {
        let report = measure(50).unwrap();
        assert_eq!(report.count, 50);
        assert_eq!(report.key, "RSA-2048");
        assert_eq!(report.results.len(), 6);
        for (result, class) in report.results.iter().zip(Class::ALL) {
            assert_eq!(result.class, class);
            assert_eq!(result.summary.count, 50);
            assert!(result.summary.mean > 0.0);
            assert!(result.cropped.count <= 50);
        }
        let table = report.to_markdown();
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| class"))
            .collect();
        assert_eq!(rows.len(), 6, "{table}");
        for class in Class::ALL {
            assert!(table.contains(class.label()), "{table}");
        }
        assert!(table.contains("Verdict: "), "{table}");
    }

    #[test]
    fn raw_rsa_ciphertexts_decrypt_as_their_class_says() {
        let key = SoftwareKey::generate_rsa(KeyRole::RaDecryption, 2048).unwrap();
        let raw = RawRsaPublic::from_spki(key.public_key_spki_der()).unwrap();
        assert_eq!(raw.k(), 256);
        let decrypter = key.into_decrypter().unwrap();
        check_classes(&raw, decrypter.as_ref()).unwrap();
        // And the valid class recovers exactly the key that was encoded.
        let em = Class::Valid.encode(256).unwrap();
        let plain = decrypter
            .decrypt_rsa_pkcs1v15(&raw.encrypt(&em).unwrap())
            .unwrap();
        assert_eq!(plain.as_slice(), &em[256 - 32..]);
    }

    #[test]
    fn too_few_is_refused_and_shuffle_keeps_every_item() {
        assert!(matches!(measure(1), Err(BenchError::TooFew)));
        let mut items: Vec<u32> = (0..1000).collect();
        shuffle(&mut items).unwrap();
        assert_ne!(items, (0..1000).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..1000).collect::<Vec<_>>());
    }
}
