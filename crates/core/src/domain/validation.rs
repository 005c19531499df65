//! Input rules shared by every operation: emails, names, lengths and passwords.
use std::{collections::HashSet, sync::OnceLock};

use crate::error::{AppError, AppResult};

/// At least 10,000 common passwords (Django's list of 19,640), one per line, lower case.
static COMMON_PASSWORDS_TXT: &str = include_str!("../../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS_TXT.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// How many passwords the common list holds.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// The inputs whose text may span lines: line breaks and tabs are allowed there, nowhere else.
const MULTI_LINE_FIELDS: &[&str] = &["bio", "address", "reasonForVisit", "reason"];

/// True for the fields whose text may hold line breaks (`\n`, `\r`) and tabs.
pub fn allows_line_breaks(field: &str) -> bool {
    MULTI_LINE_FIELDS.contains(&field)
}

/// The one classification of text inputs: what is wrong with `value`, if anything.
///
/// Refused everywhere: control characters (Unicode Cc, e.g. NUL, which PostgreSQL cannot store
/// in text) and bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069), which make
/// a name read differently from what it is. With `multi_line`, `\n`, `\r` and `\t` are allowed.
pub fn text_problem(value: &str, multi_line: bool) -> Option<&'static str> {
    for c in value.chars() {
        if c.is_control() && !(multi_line && matches!(c, '\n' | '\r' | '\t')) {
            return Some(if matches!(c, '\n' | '\r' | '\t') {
                "This field may not contain line breaks or tabs"
            } else {
                "This field may not contain control characters"
            });
        }
        if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            return Some("This field may not contain bidirectional override characters");
        }
    }
    None
}

/// Checks a text input with [`text_problem`], line breaks allowed as [`allows_line_breaks`] says.
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn text(value: &str, field: &'static str) -> AppResult<()> {
    match text_problem(value, allows_line_breaks(field)) {
        Some(message) => Err(AppError::bad_input(field, message)),
        None => Ok(()),
    }
}

/// Trims and lower-cases an email and checks its syntax.
///
/// # Errors
/// `BAD_USER_INPUT` on `field` when it is not a syntactically valid address.
pub fn normalize_email(raw: &str, field: &'static str) -> AppResult<String> {
    text(raw, field)?;
    let email = raw.trim().to_lowercase();
    if is_valid_email(&email) { Ok(email) } else { Err(AppError::bad_input(field, "Enter a valid email address")) }
}

fn is_valid_email(email: &str) -> bool {
    if email.len() > 254 {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// Trims a name and checks it is 1..=30 characters of [`text`].
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn name(raw: &str, field: &'static str) -> AppResult<String> {
    name_like(raw, field, 30)
}

/// Trims a required text and checks it is 1..=`max` characters of [`text`].
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn name_like(raw: &str, field: &'static str, max: usize) -> AppResult<String> {
    text(raw, field)?;
    let v = raw.trim();
    let len = v.chars().count();
    if len == 0 {
        return Err(AppError::bad_input(field, "This field may not be blank"));
    }
    if len > max {
        return Err(AppError::bad_input(field, format!("Ensure this field has no more than {max} characters")));
    }
    Ok(v.to_owned())
}

/// Trims an optional text; empty becomes `None`; longer than `max` characters, or not [`text`],
/// is refused.
///
/// # Errors
/// `BAD_USER_INPUT` on `field`.
pub fn optional_text(raw: Option<&str>, field: &'static str, max: usize) -> AppResult<Option<String>> {
    if let Some(raw) = raw {
        text(raw, field)?;
    }
    let Some(v) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(AppError::bad_input(field, format!("Ensure this field has no more than {max} characters")));
    }
    Ok(Some(v.to_owned()))
}

/// Checks the password rules: 8..=128 characters, not entirely numeric, not the email or its
/// local part, not a common password.
///
/// # Errors
/// `BAD_USER_INPUT` on `field`, with a message naming the rule broken.
pub fn password(pw: &str, email: &str, field: &'static str) -> AppResult<()> {
    let len = pw.chars().count();
    if len < 8 {
        return Err(AppError::bad_input(field, "This password is too short. It must contain at least 8 characters"));
    }
    if len > 128 {
        return Err(AppError::bad_input(field, "This password is too long. It must contain at most 128 characters"));
    }
    if pw.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::bad_input(field, "This password is entirely numeric"));
    }
    let lower = pw.trim().to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower == email || (!local.is_empty() && lower == local) {
        return Err(AppError::bad_input(field, "This password is too similar to the email"));
    }
    if common_passwords().contains(lower.as_str()) {
        return Err(AppError::bad_input(field, "This password is too common"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_password_list_holds_at_least_ten_thousand_entries() {
        assert!(common_password_count() >= 10_000);
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(normalize_email("  Ann@Example.COM ", "email").ok().as_deref(), Some("ann@example.com"));
        for bad in
            ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@@example.com", "ann@-x.com"]
        {
            assert!(normalize_email(bad, "email").is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_refused_and_line_breaks_only_where_allowed() {
        for bad in ["a\u{0}b", "\u{7f}", "\u{1b}[31m", "\u{85}", "ab\u{202E}cd", "\u{2066}x", "x\u{2069}"] {
            assert!(text_problem(bad, true).is_some(), "{bad:?}");
            assert!(text(bad, "firstName").is_err(), "{bad:?}");
        }
        for breaks in ["a\nb", "a\r\nb", "a\tb"] {
            assert!(text(breaks, "bio").is_ok() && text(breaks, "reason").is_ok(), "{breaks:?}");
            assert!(text(breaks, "firstName").is_err() && text(breaks, "search").is_err(), "{breaks:?}");
        }
        assert!(text("Zoë 漢字 \u{200F}ok", "lastName").is_ok());
        assert!(name("Ann\u{0}", "firstName").is_err());
        assert!(optional_text(Some("\u{202D}"), "phone", 100).is_err());
        assert!(normalize_email("ann\u{0}@example.com", "email").is_err());
    }

    #[test]
    fn each_password_rule_is_enforced() {
        let email = "ann.smith@example.com";
        assert!(password("short1!", email, "password").is_err());
        assert!(password(&"x".repeat(129), email, "password").is_err());
        assert!(password("1234567890123", email, "password").is_err());
        assert!(password("ann.smith", email, "password").is_err());
        assert!(password("Ann.Smith@example.com", email, "password").is_err());
        assert!(password("password123", email, "password").is_err());
        assert!(password("Tr1cky-Kestrel-42", email, "password").is_ok());
    }
}
