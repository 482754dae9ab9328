//! Presence and typing: the ephemeral messages a channel's members send
//! each other over samod (`DocHandle::broadcast` on the channel's index),
//! which the server relays and never stores.
//!
//! samod relays an ephemeral message's bytes as they are, and a receiver
//! learns nothing of who sent them, so the sender is named inside (as CBOR,
//! the only payload the reference JavaScript client reads): the account
//! and the device. The server reads every ephemeral message before samod
//! does and drops one that names anyone but the connection's own account
//! and device, so nobody can appear as someone else.

/// A presence message is at most this long.
pub const MAX_PRESENCE_BYTES: usize = 512;
/// A device says it is here this often while a channel is open.
pub const HEARTBEAT_MS: i64 = 15_000;
/// Someone not heard of for this long has left.
pub const HERE_FOR_MS: i64 = 45_000;
/// "Typing" lasts this long unless said again.
pub const TYPING_FOR_MS: i64 = 6_000;

/// Who says what about themselves in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub user: String,
    pub device: String,
    /// `here`, `typing` or `away`.
    pub state: String,
}

const STATES: [&str; 3] = ["here", "typing", "away"];
const MAX_TEXT: usize = 128;

impl Presence {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let mut e = minicbor::Encoder::new(&mut out);
        // Writing into a Vec cannot fail.
        let _ = e
            .map(3)
            .and_then(|e| e.str("user"))
            .and_then(|e| e.str(&self.user))
            .and_then(|e| e.str("device"))
            .and_then(|e| e.str(&self.device))
            .and_then(|e| e.str("state"))
            .and_then(|e| e.str(&self.state));
        out
    }

    /// Reads a presence message: a CBOR map of at most eight short text
    /// fields (others skipped) with `user`, `device` and a known `state`;
    /// anything else, or anything longer than [`MAX_PRESENCE_BYTES`], is
    /// refused.
    pub fn decode(bytes: &[u8]) -> Result<Presence, String> {
        if bytes.len() > MAX_PRESENCE_BYTES {
            return Err("a presence message is too long".into());
        }
        let bad = |why: &str| format!("not a presence message: {why}");
        let mut d = minicbor::Decoder::new(bytes);
        let n = match d.map() {
            Ok(Some(n)) if n <= 8 => n,
            _ => return Err(bad("not a short map")),
        };
        let (mut user, mut device, mut state) = (None, None, None);
        for _ in 0..n {
            let key = d.str().map_err(|_| bad("a key is not text"))?;
            let value = d.str().map_err(|_| bad("a value is not text"))?;
            if value.len() > MAX_TEXT {
                return Err(bad("a value is too long"));
            }
            match key {
                "user" => user = Some(value.to_owned()),
                "device" => device = Some(value.to_owned()),
                "state" => state = Some(value.to_owned()),
                _ => {}
            }
        }
        if d.position() != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        let state = state.filter(|s| STATES.contains(&s.as_str()));
        match (user, device, state) {
            (Some(user), Some(device), Some(state)) => Ok(Presence {
                user,
                device,
                state,
            }),
            _ => Err(bad("`user`, `device` and `state` are needed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_round_trips() {
        let p = Presence {
            user: "a-ben".into(),
            device: "d1".into(),
            state: "typing".into(),
        };
        assert_eq!(Presence::decode(&p.encode()), Ok(p));
    }

    #[test]
    fn hostile_presence_is_refused() {
        let mut long = Vec::new();
        minicbor::Encoder::new(&mut long)
            .map(1)
            .unwrap()
            .str("user")
            .unwrap()
            .str(&"x".repeat(600))
            .unwrap();
        let mut nested = Vec::new();
        minicbor::Encoder::new(&mut nested)
            .map(1)
            .unwrap()
            .str("user")
            .unwrap()
            .array(1)
            .unwrap()
            .str("a")
            .unwrap();
        let mut odd_state = Presence {
            user: "a".into(),
            device: "d".into(),
            state: "here".into(),
        }
        .encode();
        let at = odd_state.len() - 4;
        odd_state[at..].copy_from_slice(b"gone");
        let mut trailing = Presence {
            user: "a".into(),
            device: "d".into(),
            state: "here".into(),
        }
        .encode();
        trailing.push(0);
        for (what, bytes) in [
            ("empty", vec![]),
            ("not a map", vec![0x01]),
            ("too long", long),
            ("nested", nested),
            ("unknown state", odd_state),
            ("trailing bytes", trailing),
            (
                "huge map",
                vec![0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ] {
            assert!(Presence::decode(&bytes).is_err(), "{what}");
        }
    }
}
