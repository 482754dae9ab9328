//! What the integration tests share, by topic; everything is re-exported
//! here, so a test file says `use crate::helpers::*`.
//!
//! The server under test runs inside the test binary ([`TestServer`]), on a
//! database of its own ([`TestDb`]). The real binary is spawned
//! ([`ServerProcess`]) only where the process is under test:
//!
//! - `faults::nothing_is_lost_when_the_server_is_killed_mid_stream`: SIGKILL,
//!   then a restart on the same port;
//! - the hostile payloads of `hostile::socket` sent through
//!   `send_for_own_pipeline` and `send_first`, and
//!   `the_largest_admitted_message_has_a_bounded_cost`: they read the
//!   server's peak memory, and a guard that let one through would exhaust
//!   the memory or the stack of the whole test binary.
//!
//! Each server has its own queue for password hashing
//! (`accounts::passwords::Hashing`), so a test that fills it turns away
//! none of the other tests' sign-ins.

mod api;
mod clients;
mod db;
mod docs;
mod push;
mod server;

pub use api::*;
pub use clients::*;
pub use db::*;
pub use docs::*;
pub use push::*;
pub use server::*;
