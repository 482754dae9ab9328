-- The key the server signs certificates' credentials with (Ed25519: the
-- 32-byte seed), made at the first start by whichever node starts first,
-- so that every node and every restart signs alike. Its public half is
-- published at /issuer (training/badges.rs). Whoever reads this table can
-- sign as the programme: it is as secret as the password hashes.
CREATE TABLE signing_keys (
    id         text PRIMARY KEY,
    seed       bytea NOT NULL CHECK (length(seed) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
