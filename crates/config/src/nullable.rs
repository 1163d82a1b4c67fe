//! k0s writes empty lists and maps as `null` (Go's nil slices and maps: `charts: null` and
//! `excludeCIDRs: null` are in its own `config create` output and docs), so `null` reads as empty.

use serde::{Deserialize, Deserializer};

pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
