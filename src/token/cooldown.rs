//! Configuration errors answered from memory: WeCom bans an IP that keeps fetching with a bad
//! secret, so callers arriving after such a failure get it too instead of asking again.

use std::time::{Duration, SystemTime};

use moka::future::Cache;

use super::credential::CacheKey;
use crate::error::{Error, Result};

/// How long a configuration error of a fetch is answered from memory.
pub(super) const CONFIG_ERROR_COOLDOWN: Duration = Duration::from_secs(10);

/// The configuration errors of recent fetches, by credential, each until its cooldown ends.
/// Transient failures are never kept.
pub(super) struct Cooldown {
    errors: Cache<CacheKey, (Error, SystemTime)>,
}

impl Cooldown {
    pub(super) fn new(max_credentials: u64) -> Self {
        Self {
            errors: Cache::builder()
                .max_capacity(max_credentials)
                .time_to_live(CONFIG_ERROR_COOLDOWN)
                .build(),
        }
    }

    /// The kept error, while its cooldown runs at `now`.
    pub(super) async fn check(&self, key: &CacheKey, now: SystemTime) -> Result<()> {
        if let Some((error, until)) = self.errors.get(key).await {
            if now < until {
                return Err(error);
            }
            self.errors.invalidate(key).await;
        }
        Ok(())
    }

    /// Keeps `error` if it is a configuration error (a bad secret, a bad corp id).
    pub(super) async fn note(&self, key: &CacheKey, error: &Error, now: SystemTime) {
        if error.is_configuration() {
            let until = now + CONFIG_ERROR_COOLDOWN;
            self.errors
                .insert(key.clone(), (error.clone(), until))
                .await;
        }
    }
}
