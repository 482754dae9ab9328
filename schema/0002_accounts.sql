-- People who may sign in. A partner applies (status 'applied'); an admin
-- approves (the partner's `partners` row and pipeline document are created
-- then) or rejects with a reason. A team is the partners whose
-- `team_leader_id` names a team leader; admins have no partner.
CREATE TABLE accounts (
    id             text PRIMARY KEY,
    -- Stored lower-cased, so uniqueness is case-insensitive without citext.
    email          text NOT NULL CONSTRAINT accounts_email_lowercase CHECK (email = lower(email)),
    name           text NOT NULL,
    company        text NOT NULL DEFAULT '',
    role           text NOT NULL CONSTRAINT accounts_role_known
                   CHECK (role IN ('partner', 'team_leader', 'admin')),
    status         text NOT NULL CONSTRAINT accounts_status_known
                   CHECK (status IN ('applied', 'approved', 'rejected')),
    -- An argon2id PHC string.
    password_hash  text NOT NULL,
    partner_id     text UNIQUE REFERENCES partners (id),
    team_leader_id text REFERENCES accounts (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    decided_at     timestamptz,
    decided_by     text REFERENCES accounts (id),
    reject_reason  text,
    CONSTRAINT accounts_email_unique UNIQUE (email),
    CONSTRAINT accounts_approved_partner_has_partner
        CHECK (role = 'admin' OR status <> 'approved' OR partner_id IS NOT NULL),
    CONSTRAINT accounts_rejected_has_reason
        CHECK (status <> 'rejected' OR reject_reason IS NOT NULL)
);
CREATE INDEX accounts_by_team_leader ON accounts (team_leader_id);

-- Sessions: the token itself is never stored, only its SHA-256, so a leaked
-- table does not sign anybody in.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY CONSTRAINT sessions_token_hash_sha256 CHECK (length(token_hash) = 32),
    account_id text NOT NULL REFERENCES accounts (id),
    kind       text NOT NULL CONSTRAINT sessions_kind_known CHECK (kind IN ('cookie', 'bearer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_by_account ON sessions (account_id);
