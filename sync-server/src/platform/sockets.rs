//! Open `/sync` sockets per account, capped (`--max-sockets-per-account`).

/// Open `/sync` sockets per account, capped: each holds a samod
/// connection and a share of its shard's work, and an account is one
/// person.
#[derive(Debug)]
pub struct SocketCounts {
    cap: usize,
    open: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

impl SocketCounts {
    pub fn new(cap: usize) -> SocketCounts {
        SocketCounts {
            cap,
            open: Default::default(),
        }
    }

    /// A slot for one more socket of `account`, or `None` at the cap. The
    /// slot is given back when dropped.
    pub fn open(self: &std::sync::Arc<Self>, account: &str) -> Option<SocketSlot> {
        let mut open = crate::lock(&self.open);
        let n = open.entry(account.to_owned()).or_default();
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            counts: self.clone(),
            account: account.to_owned(),
        })
    }
}

/// One open socket of an account (see [`SocketCounts`]).
#[derive(Debug)]
pub struct SocketSlot {
    counts: std::sync::Arc<SocketCounts>,
    account: String,
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = crate::lock(&self.counts.open);
        if let Some(n) = open.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.account);
            }
        }
    }
}
