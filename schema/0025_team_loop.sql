-- The team leader's loop (issue 19): each team leader's `team` document
-- and each partner's `standings` (their places on the leaderboards), both
-- written by the server alone, one per owner; and the leaderboards of
-- closed periods, frozen.

ALTER TABLE documents DROP CONSTRAINT documents_kind_known;
ALTER TABLE documents ADD CONSTRAINT documents_kind_known
    CHECK (kind IN ('pipeline', 'training', 'note', 'account_view', 'catalog', 'channel', 'inbox',
                    'messages', 'reads', 'referrals', 'team', 'standings'));
DROP INDEX documents_one_per_kind_and_owner;
CREATE UNIQUE INDEX documents_one_per_kind_and_owner ON documents (kind, owner_id)
    WHERE kind IN ('pipeline', 'training', 'account_view', 'inbox', 'reads', 'referrals', 'team',
                   'standings');

-- A lead's last change is what the team screen's "last activity" reads,
-- per partner.
CREATE INDEX leads_by_partner_updated ON leads (partner_id, updated_at);

-- A closed period's scores, written once, the first time the server sees
-- the period closed, and never again: data arriving later (a lesson done
-- offline weeks ago, a deal refunded) does not move a frozen board.
-- Ranks are not stored: `rules::rank` gives the same ranks of the same
-- scores every time.
CREATE TABLE leaderboard_periods (
    span       text NOT NULL CONSTRAINT leaderboard_periods_span_known
               CHECK (span IN ('month', 'quarter', 'year')),
    period_key text NOT NULL,
    frozen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (span, period_key)
);
CREATE TABLE leaderboard_scores (
    span       text NOT NULL,
    period_key text NOT NULL,
    -- `deals`, `training`, or `revenue` with its currency.
    metric     text NOT NULL CONSTRAINT leaderboard_scores_metric_known
               CHECK (metric IN ('deals', 'training', 'revenue')),
    currency   char(3) NOT NULL DEFAULT '',
    partner_id text NOT NULL REFERENCES partners (id),
    -- The partner's team when frozen: their team leader's account, or
    -- their own when they lead one.
    team       text,
    score      bigint NOT NULL,
    reached_at timestamptz NOT NULL,
    PRIMARY KEY (span, period_key, metric, currency, partner_id),
    FOREIGN KEY (span, period_key) REFERENCES leaderboard_periods (span, period_key)
);
CREATE FUNCTION leaderboards_are_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a closed period''s leaderboard is frozen: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER leaderboard_scores_frozen BEFORE UPDATE OR DELETE ON leaderboard_scores
    FOR EACH ROW EXECUTE FUNCTION leaderboards_are_frozen();
CREATE TRIGGER leaderboard_periods_frozen BEFORE UPDATE OR DELETE ON leaderboard_periods
    FOR EACH ROW EXECUTE FUNCTION leaderboards_are_frozen();

-- Challenges admins define as data: a metric of the leaderboards, an
-- operator and a target, over a span of the programme's calendar, and a
-- reward (a badge, or a bonus an admin approves). The server evaluates
-- them from its own figures only; an achievement is awarded once per
-- partner and period, whoever evaluates it and however often.
CREATE TABLE challenges (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    metric      text NOT NULL CONSTRAINT challenges_metric_known
                CHECK (metric IN ('deals', 'training', 'revenue')),
    currency    char(3) NOT NULL DEFAULT '',
    operator    text NOT NULL CONSTRAINT challenges_operator_known
                CHECK (operator IN ('at_least', 'more_than')),
    target      bigint NOT NULL CONSTRAINT challenges_target_positive CHECK (target > 0),
    span        text NOT NULL CONSTRAINT challenges_span_known
                CHECK (span IN ('month', 'quarter', 'year')),
    reward      text NOT NULL CONSTRAINT challenges_reward_known
                CHECK (reward IN ('badge', 'bonus')),
    bonus_minor bigint,
    bonus_currency char(3),
    active      boolean NOT NULL DEFAULT true,
    created_by  text NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT challenges_revenue_has_currency CHECK ((metric = 'revenue') = (currency <> '')),
    CONSTRAINT challenges_bonus_has_amount
        CHECK ((reward = 'bonus') = (bonus_minor IS NOT NULL AND bonus_minor > 0
                                     AND bonus_currency IS NOT NULL))
);
CREATE TABLE achievements (
    id           bigserial PRIMARY KEY,
    challenge_id bigint NOT NULL REFERENCES challenges (id),
    partner_id   text NOT NULL REFERENCES partners (id),
    period_key   text NOT NULL,
    score        bigint NOT NULL,
    achieved_at  timestamptz NOT NULL DEFAULT now(),
    -- A bonus waits for an admin's approval, as a deal does.
    bonus_status text NOT NULL DEFAULT 'none' CONSTRAINT achievements_bonus_status_known
                 CHECK (bonus_status IN ('none', 'pending', 'approved', 'rejected')),
    CONSTRAINT achievements_once UNIQUE (challenge_id, partner_id, period_key)
);
CREATE INDEX achievements_by_partner ON achievements (partner_id, achieved_at);

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_known;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_known
    CHECK (kind IN ('deal_approved', 'deal_rejected', 'commission_available',
                    'payout_made', 'follow_up_due', 'training_assigned', 'exam_graded',
                    'chat_mention', 'achievement'));
