//! User names: short, lower-case and shell/URL/log safe, so they can appear unquoted in audit
//! entries, table output and URLs, and two names never differ only by case or Unicode form.

use crate::AccountError;

const MAX_LEN: usize = 64;

/// Accepts 1 to 64 characters of `[a-z0-9._-]`, the first a letter or digit.
pub fn validate_user_name(name: &str) -> Result<(), AccountError> {
    let invalid = |reason| {
        Err(AccountError::InvalidUserName {
            name: name.chars().take(MAX_LEN + 1).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("empty");
    }
    if name.len() > MAX_LEN {
        return invalid("longer than 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
    {
        return invalid("only a-z, 0-9, '.', '_' and '-' are allowed");
    }
    if !name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
    {
        return invalid("must start with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in [
            "admin",
            "a",
            "mdm-intune",
            "j.doe_2",
            "0day",
            &"x".repeat(64),
        ] {
            assert!(validate_user_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Admin",
            "-admin",
            ".admin",
            "_x",
            "a b",
            "a/b",
            "ädmin",
            "a\n",
            &"x".repeat(65),
        ] {
            assert!(validate_user_name(bad).is_err(), "{bad:?}");
        }
    }
}
