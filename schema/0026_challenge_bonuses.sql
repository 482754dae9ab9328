-- A challenge's bonus reaches the ledger the way a deal's commission
-- does: an admin approves it. The amount is frozen on the achievement
-- when it is awarded (a challenge's terms may change afterwards; what was
-- promised then is what is paid), and approval appends one `bonus` line
-- keyed by the achievement, so approving twice, or from two sessions at
-- once, pays once.
-- Added NOT VALID and validated after: the scan of the ledger then holds
-- a lock that lets payouts and decisions go on.
ALTER TABLE ledger_lines DROP CONSTRAINT ledger_lines_kind_known;
ALTER TABLE ledger_lines ADD CONSTRAINT ledger_lines_kind_known
    CHECK (kind IN ('base', 'elite', 'override', 'referral', 'clawback', 'bonus')) NOT VALID;
ALTER TABLE ledger_lines VALIDATE CONSTRAINT ledger_lines_kind_known;

ALTER TABLE achievements
    ADD COLUMN bonus_minor bigint CONSTRAINT achievements_bonus_positive CHECK (bonus_minor > 0),
    ADD COLUMN bonus_currency char(3),
    ADD COLUMN decided_by text REFERENCES accounts (id),
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN reason text,
    ADD COLUMN line_id bigint REFERENCES ledger_lines (id);

-- Achievements awarded before amounts were frozen take their challenge's.
UPDATE achievements a SET bonus_minor = c.bonus_minor, bonus_currency = c.bonus_currency
FROM challenges c
WHERE c.id = a.challenge_id AND a.bonus_status <> 'none';

ALTER TABLE achievements ADD CONSTRAINT achievements_bonus_has_amount
    CHECK ((bonus_status = 'none') = (bonus_minor IS NULL AND bonus_currency IS NULL));
ALTER TABLE achievements ADD CONSTRAINT achievements_bonus_decided
    CHECK ((bonus_status IN ('approved', 'rejected')) = (decided_at IS NOT NULL AND decided_by IS NOT NULL));
ALTER TABLE achievements ADD CONSTRAINT achievements_bonus_paid_by_line
    CHECK ((bonus_status = 'approved') = (line_id IS NOT NULL));

-- The back-office's list of bonuses waiting.
CREATE INDEX achievements_bonus_pending ON achievements (achieved_at) WHERE bonus_status = 'pending';
