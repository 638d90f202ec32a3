//! Field rules checked before anything is sent, as the API documents them.

use crate::error::{Error, Result};

/// `value` has `min..=max` characters (not bytes).
pub(crate) fn chars(field: &'static str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(Error::invalid(
            field,
            format!("must be {min} to {max} characters, got {n}"),
        ));
    }
    Ok(())
}

/// `value` has `min..=max` UTF-8 bytes.
pub(crate) fn bytes(field: &'static str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.len();
    if n < min || n > max {
        return Err(Error::invalid(
            field,
            format!("must be {min} to {max} bytes, got {n}"),
        ));
    }
    Ok(())
}

/// 1 to `max` bytes of `0-9 a-z A-Z _ -`, the documented alphabet of a scene or a msgid.
pub(crate) fn is_id(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `value` is an id as [`is_id`] says, or an error that names `field`.
pub(crate) fn id(field: &'static str, value: &str, max: usize) -> Result<()> {
    bytes(field, value, 1, max)?;
    if !is_id(value, max) {
        return Err(Error::invalid(
            field,
            "may hold only 0-9, a-z, A-Z, '_' and '-'",
        ));
    }
    Ok(())
}

/// `value` is not empty (for fields the docs require without giving a limit).
pub(crate) fn non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    Ok(())
}

/// `value` lies in `min..=max`.
pub(crate) fn range(field: &'static str, value: u32, min: u32, max: u32) -> Result<()> {
    if value < min || value > max {
        return Err(Error::invalid(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}
