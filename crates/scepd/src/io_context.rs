//! Every I/O error the binary reports names the file it was about.

use std::path::Path;

pub trait Context<T> {
    fn context(self, path: &Path, doing: &str) -> Result<T, String>;
}

impl<T> Context<T> for std::io::Result<T> {
    fn context(self, path: &Path, doing: &str) -> Result<T, String> {
        self.map_err(|e| format!("{doing} {}: {e}", path.display()))
    }
}
