//! I/O errors that name the file they were about, and what was being done to it: how scepd
//! reports every I/O error.

use std::path::{Path, PathBuf};

/// An I/O error on a named file: "reading /path: No such file or directory".
#[derive(Debug, thiserror::Error)]
#[error("{doing} {}: {source}", path.display())]
pub struct FileError {
    pub doing: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

pub trait Context<T> {
    /// Names the file and what was being done to it.
    fn context(self, path: &Path, doing: &'static str) -> Result<T, FileError>;
}

impl<T> Context<T> for std::io::Result<T> {
    fn context(self, path: &Path, doing: &'static str) -> Result<T, FileError> {
        self.map_err(|source| FileError {
            doing,
            path: path.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_message_names_what_was_done_to_which_file() {
        let path = Path::new("/nonexistent/scepd-io-context");
        let err = std::fs::read(path).context(path, "reading").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("reading /nonexistent/scepd-io-context: "),
            "{err}"
        );
        assert_eq!(err.to_string().split(": ").count(), 2);
    }
}
