-- A team leader's invite link carries a code of theirs; an application
-- made by it names the leader (`invited_by`), and the admin who approves
-- it decides the team (`team_leader_id`), the invite's or another, or none.
CREATE TABLE team_invites (
    -- Ten letters of base32, lower-cased: 50 random bits.
    code       text PRIMARY KEY CONSTRAINT team_invites_code_shape CHECK (code ~ '^[a-z2-7]{10}$'),
    leader_id  text NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- One link per leader: the same code every time they ask.
    CONSTRAINT team_invites_one_per_leader UNIQUE (leader_id)
);

ALTER TABLE accounts ADD COLUMN invited_by text REFERENCES accounts (id);
