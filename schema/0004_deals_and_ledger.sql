-- Deals and the commission ledger. Money is never a CRDT: a partner marks a
-- lead won in their pipeline document (offline if need be); the projection
-- files it here as a submitted deal; an admin decides; the decision appends
-- ledger lines. Amounts are integer minor units with a currency.

CREATE TABLE deals (
    id           bigserial PRIMARY KEY,
    partner_id   text NOT NULL REFERENCES partners (id),
    lead_id      text NOT NULL,
    doc_id       text NOT NULL REFERENCES documents (doc_id),
    amount_minor bigint NOT NULL CONSTRAINT deals_amount_not_negative CHECK (amount_minor >= 0),
    currency     char(3) NOT NULL,
    -- submitted: waiting for the back-office; withdrawn: the lead left
    -- "won" before a decision; approved and rejected are final.
    status       text NOT NULL CONSTRAINT deals_status_known
                 CHECK (status IN ('submitted', 'withdrawn', 'approved', 'rejected')),
    reason       text,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    decided_by   text REFERENCES accounts (id),
    -- A refund or cancellation after approval: its lines are clawed back.
    reversed_at  timestamptz,
    reversed_by  text REFERENCES accounts (id),
    reverse_reason text,
    CONSTRAINT deals_one_per_lead UNIQUE (partner_id, lead_id),
    CONSTRAINT deals_rejected_has_reason CHECK (status <> 'rejected' OR reason IS NOT NULL),
    CONSTRAINT deals_decided_has_time
        CHECK ((status IN ('approved', 'rejected')) = (decided_at IS NOT NULL)),
    CONSTRAINT deals_reversed_was_approved
        CHECK (reversed_at IS NULL OR (status = 'approved' AND reverse_reason IS NOT NULL))
);
CREATE INDEX deals_by_status ON deals (status, submitted_at);
CREATE INDEX deals_approved_by_partner ON deals (partner_id, decided_at) WHERE status = 'approved';

-- What an admin agreed with an Elite partner on top of the tier's rate.
CREATE TABLE partner_terms (
    partner_id       text PRIMARY KEY REFERENCES partners (id),
    elite_custom_bps integer NOT NULL CONSTRAINT partner_terms_rate_range
                     CHECK (elite_custom_bps BETWEEN 0 AND 10000),
    set_by           text NOT NULL REFERENCES accounts (id),
    set_at           timestamptz NOT NULL DEFAULT now()
);

-- Orders: the company's sales. One attributed to a partner's referral
-- link names the partner; one without is a direct sale (the storefront will
-- record both; until then the back-office does). `reference` is the order's
-- own id, so recording it twice is refused.
CREATE TABLE orders (
    id           bigserial PRIMARY KEY,
    reference    text NOT NULL CONSTRAINT orders_reference_once UNIQUE,
    partner_id   text REFERENCES partners (id),
    amount_minor bigint NOT NULL CONSTRAINT orders_amount_positive CHECK (amount_minor > 0),
    currency     char(3) NOT NULL,
    recorded_by  text REFERENCES accounts (id),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    refunded_at  timestamptz
);

-- The ledger: append-only. A line's rate, tier and hold are frozen when it
-- accrues; "pending" and "available" are read from `available_at` against
-- the clock, never written. A correction is a new line (a clawback names
-- the line it reverses in `source_line_id`).
CREATE TABLE ledger_lines (
    id              bigserial PRIMARY KEY,
    -- One line per cause, kind and beneficiary: approving a deal twice, or
    -- from two sessions at once, cannot pay twice.
    idempotency_key text NOT NULL CONSTRAINT ledger_lines_once UNIQUE,
    partner_id      text NOT NULL REFERENCES partners (id),
    kind            text NOT NULL CONSTRAINT ledger_lines_kind_known
                    CHECK (kind IN ('base', 'elite', 'override', 'referral', 'clawback')),
    amount_minor    bigint NOT NULL,
    currency        char(3) NOT NULL,
    rate_bps        integer CONSTRAINT ledger_lines_rate_range CHECK (rate_bps BETWEEN 0 AND 10000),
    tier            text,
    deal_id         bigint REFERENCES deals (id),
    order_id        bigint REFERENCES orders (id),
    source_line_id  bigint REFERENCES ledger_lines (id),
    accrued_at      timestamptz NOT NULL,
    available_at    timestamptz NOT NULL,
    explanation     text NOT NULL
);
CREATE INDEX ledger_lines_by_partner ON ledger_lines (partner_id, accrued_at);
CREATE INDEX ledger_lines_by_source ON ledger_lines (source_line_id);

CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on ledger_lines refused', TG_OP;
END;
$$;
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only();
CREATE TRIGGER ledger_lines_no_truncate BEFORE TRUNCATE ON ledger_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only();

-- Where a partner wants to be paid. Stored masked (the last four
-- characters); no money moves in this system: a payout run produces an
-- export file for the finance team, who hold the full details.
CREATE TABLE payout_methods (
    partner_id text PRIMARY KEY REFERENCES partners (id),
    kind       text NOT NULL CONSTRAINT payout_methods_kind_known
               CHECK (kind IN ('bank_account', 'paypal')),
    holder     text NOT NULL,
    masked     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A monthly payout run; one per period.
CREATE TABLE payout_runs (
    id            bigserial PRIMARY KEY,
    period        text NOT NULL CONSTRAINT payout_runs_period_format CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
    minimum_minor bigint NOT NULL,
    run_by        text NOT NULL REFERENCES accounts (id),
    run_at        timestamptz NOT NULL,
    CONSTRAINT payout_runs_one_per_period UNIQUE (period)
);

-- One statement per partner, currency and run: the lines it pays.
CREATE TABLE statements (
    id          bigserial PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES payout_runs (id),
    partner_id  text NOT NULL REFERENCES partners (id),
    currency    char(3) NOT NULL,
    total_minor bigint NOT NULL,
    CONSTRAINT statements_one_per_run UNIQUE (run_id, partner_id, currency)
);

-- A line is paid at most once: by the statement that lists it.
CREATE TABLE statement_lines (
    line_id      bigint PRIMARY KEY REFERENCES ledger_lines (id),
    statement_id bigint NOT NULL REFERENCES statements (id)
);
CREATE INDEX statement_lines_by_statement ON statement_lines (statement_id);
