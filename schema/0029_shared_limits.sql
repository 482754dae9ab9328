-- What the sign-in and application limiters remember, shared by every node
-- over the database (`accounts/shared_limits.rs`). Keys are SHA-256
-- digests: the tables hold neither emails nor addresses.
CREATE TABLE sign_in_tallies (
    key       bytea PRIMARY KEY,
    failures  double precision NOT NULL,
    last_at   timestamptz NOT NULL,
    -- When every failure is forgiven and the row may go.
    forget_at timestamptz NOT NULL
);
CREATE INDEX sign_in_tallies_forgotten ON sign_in_tallies (forget_at);

CREATE TABLE application_buckets (
    key    bytea PRIMARY KEY,
    tokens double precision NOT NULL,
    at     timestamptz NOT NULL
);
