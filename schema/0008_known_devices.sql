-- Devices an account has signed in from: a random token in the browser's
-- `portal_device` cookie, of which only the SHA-256 is kept. Failed
-- sign-ins from elsewhere never slow down a known device (auth.rs,
-- SignInLimiter), so nobody can lock an account's owner out. Only browser
-- (cookie) sign-ins make a device known. A browser keeps one token
-- whichever accounts it signs in, so one token may be known to several
-- accounts (one row each); an account keeps its 20 most recently used
-- devices (api_auth.rs, remember_device).
CREATE TABLE known_devices (
    token_hash    bytea NOT NULL CONSTRAINT known_devices_token_hash_sha256
                  CHECK (length(token_hash) = 32),
    account_id    text NOT NULL REFERENCES accounts (id),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_hash, account_id)
);
-- An account's devices, most recently used first.
CREATE INDEX known_devices_by_account ON known_devices (account_id, last_seen_at);
