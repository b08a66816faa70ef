//! Validation of free-text input: trimmed, bounded, named in errors.

use crate::{Error, Result};

/// A required field: trimmed, non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_owned())
}

/// An optional field: blank means absent.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required_text(field, v, max).map(Some),
    }
}

pub fn validate_email(field: &str, email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace)
        && email.matches('@').count() == 1;
    if ok { Ok(()) } else { Err(Error::invalid(field, format!("{email:?} is not an e-mail address"))) }
}

/// A URL-safe identifier: lowercase letters, digits and dashes.
pub fn validate_slug(field: &str, slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "use 1-63 lowercase letters, digits and dashes, not starting with a dash"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_named() {
        assert_eq!(required_text("body", "  hi  ", 10).expect("ok"), "hi");
        let err = required_text("body", "   ", 10).expect_err("empty");
        assert_eq!(err, Error::invalid("body", "must not be empty"));
        assert!(required_text("body", "abcdef", 5).is_err());
        assert!(required_text("body", "a\u{0}b", 5).is_err());
        assert_eq!(optional_text("name", Some("  "), 5).expect("ok"), None);
        assert!(validate_email("email", "a@b.co").is_ok());
        assert!(validate_email("email", "a@b").is_err());
        assert!(validate_email("email", "a b@c.de").is_err());
        assert!(validate_slug("slug", "billing-eu").is_ok());
        assert!(validate_slug("slug", "Billing").is_err());
    }
}
