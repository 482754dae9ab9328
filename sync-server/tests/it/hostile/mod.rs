//! The regression catalogue of what a probe of the running server found
//! (hostile input and hostile partners), beside the bad-input catalogue of
//! `bad_input.rs`. Each test failed before its fix.

mod accounts;
mod decisions;
mod http;
mod money;
mod pipeline;
mod socket;
