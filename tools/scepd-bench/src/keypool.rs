//! The client key pool: RSA-2048 keys made once, optionally cached on disk, so every server
//! in a comparison is driven by the same keys and key generation (≈ 50 ms per key) stays out
//! of every measurement.
//!
//! Cache format: records of a 4-octet big-endian length followed by a PKCS#8 DER key. The
//! keys are test keys; the file is written 0600 all the same.

use std::io::Write as _;
use std::path::Path;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize};

use crate::error::BenchError;

/// `n` PKCS#8 DER RSA-2048 keys: the first ones from `cache` (if given and present), the rest
/// generated on `threads` threads and appended to `cache`.
pub fn rsa2048_keys(
    n: usize,
    cache: Option<&Path>,
    threads: usize,
) -> Result<Vec<Vec<u8>>, BenchError> {
    let mut keys = match cache {
        Some(path) if path.exists() => read_cache(path)?,
        _ => Vec::new(),
    };
    keys.truncate(n);
    let missing = n.saturating_sub(keys.len());
    if missing > 0 {
        let fresh = generate(missing, threads)?;
        if let Some(path) = cache {
            append_cache(path, &fresh)?;
        }
        keys.extend(fresh);
    }
    Ok(keys)
}

fn generate(n: usize, threads: usize) -> Result<Vec<Vec<u8>>, BenchError> {
    let threads = threads.clamp(1, n.max(1));
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                scope.spawn(move || {
                    (0..count)
                        .map(|_| {
                            let pair = KeyPair::generate(KeySize::Rsa2048)
                                .map_err(|_| BenchError::KeyGeneration)?;
                            let der = pair.as_der().map_err(|_| BenchError::KeyGeneration)?;
                            Ok(der.as_ref().to_vec())
                        })
                        .collect::<Result<Vec<_>, BenchError>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.extend(h.join().map_err(|_| BenchError::KeyGeneration)??);
        }
        Ok(out)
    })
}

fn read_cache(path: &Path) -> Result<Vec<Vec<u8>>, BenchError> {
    let bytes = std::fs::read(path)?;
    let bad = || BenchError::KeyCache(path.display().to_string());
    let mut rest = bytes.as_slice();
    let mut keys = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| bad())?;
        let (key, tail) = tail.split_at_checked(len).ok_or_else(bad)?;
        keys.push(key.to_vec());
        rest = tail;
    }
    Ok(keys)
}

fn append_cache(path: &Path, keys: &[Vec<u8>]) -> Result<(), BenchError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    for key in keys {
        let len = u32::try_from(key.len())
            .map_err(|_| BenchError::KeyCache(path.display().to_string()))?;
        file.write_all(&len.to_be_bytes())?;
        file.write_all(key)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cached_keys_are_reused_and_topped_up() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("keys.bin");
        let first = rsa2048_keys(2, Some(&cache), 2).unwrap();
        let again = rsa2048_keys(3, Some(&cache), 1).unwrap();
        assert_eq!(again.len(), 3);
        assert_eq!(&again[..2], &first[..]);
        assert_ne!(again[2], again[0]);
        assert!(
            scep_client::ClientKey::from_pkcs8_der(&again[2])
                .unwrap()
                .is_rsa()
        );
        // A truncated cache is refused, not half-read.
        let bytes = std::fs::read(&cache).unwrap();
        std::fs::write(&cache, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(
            rsa2048_keys(1, Some(&cache), 1),
            Err(BenchError::KeyCache(_))
        ));
    }
}
