//! The integration tests, one binary with one module per behaviour (one link instead of one per
//! file). Shared helpers are in `common`.

mod callback;
mod command_callbacks;
mod common;
mod hostile_answers;
mod kf_account;
mod kf_bot_e2e;
mod kf_customer;
mod kf_knowledge;
mod kf_message;
mod kf_send;
mod kf_service_state;
mod kf_servicer;
mod kf_statistic;
mod kf_sync;
mod media;
mod permanent_codes;
mod provider_lifecycle;
mod provider_registry;
mod provider_tokens;
mod quickstart_e2e;
mod redis_bad_data;
mod redis_store;
mod replay_rules;
mod secrets_and_refusals;
mod simulator_control;
mod simulator_limits;
mod simulator_oracle;
mod simulator_rules;
mod token_load_counts;
mod token_rejection;
mod token_shape;
mod token_single_flight;
mod token_source;
mod token_store_races;
mod validation_and_redaction;
