-- A lead taken off the board keeps its row, marked; reports of the pipeline
-- can leave it out. A follow-up is the time and note a partner set: what
-- due-follow-up reminders (push notifications) will read.
ALTER TABLE leads
    ADD COLUMN archived_at    timestamptz,
    ADD COLUMN follow_up_at   timestamptz,
    ADD COLUMN follow_up_note text;

CREATE INDEX leads_follow_ups_due ON leads (follow_up_at)
    WHERE follow_up_at IS NOT NULL AND archived_at IS NULL;
