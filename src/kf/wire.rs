//! How the kf endpoints' JSON departs from plain serde: flags sent as 0/1, lists that may be
//! `null`.

use serde::{Deserialize, Deserializer};

/// A 0/1 flag (a missing or null one is false).
pub(crate) fn bool_from_int<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.unwrap_or(0) != 0)
}

/// A list that may also come as `null`.
pub(crate) fn list_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}
