//! Tests that read what the SDK logs, in a binary of their own (see `capture` for why).

#[path = "../it/common/mod.rs"]
mod common;

mod capture;
mod redaction;
#[cfg(feature = "redis")]
mod redis_down;
