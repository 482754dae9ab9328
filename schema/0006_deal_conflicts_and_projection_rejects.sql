-- What the projection keeps against a partner's document. Pipelines are
-- written by clients, which may say what a decision has settled (a lead
-- moved out of "won" after its deal was approved) or what no table can hold
-- without inventing a value (a negative amount, a time no calendar has).

-- A lead moved out of "won" after its deal was approved, on a device that
-- did not know (the CRDT merges the move; the partner owns the pipeline).
-- The decision stands: the projection never touches a decided deal, so it
-- stays approved and its lines stay paid. The conflict is recorded here and
-- shown on the partner's lead card (through the account view) until the
-- lead is won again; the row stays as the record.
CREATE TABLE deal_conflicts (
    deal_id     bigint PRIMARY KEY REFERENCES deals (id),
    -- Where the document moved the lead.
    stage       text NOT NULL CONSTRAINT deal_conflicts_stage_not_won
                CHECK (stage IN ('new', 'contacted', 'qualified', 'proposal', 'lost')),
    noticed_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);

-- Leads whose row the projection refused to write: it kept their previous
-- row (and deal) instead of writing an invented value. One row per lead,
-- with the latest reason and how many projections skipped it, so a partner
-- editing a broken pipeline does not grow the table.
CREATE TABLE projection_rejects (
    doc_id   text NOT NULL REFERENCES documents (doc_id),
    -- The entry's key in the document (at most 64 characters of it).
    lead_id  text NOT NULL,
    reason   text NOT NULL,
    times    bigint NOT NULL DEFAULT 1,
    first_at timestamptz NOT NULL DEFAULT now(),
    last_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (doc_id, lead_id)
);
