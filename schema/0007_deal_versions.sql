-- What an admin reviewed: a deal's version moves whenever its amount or
-- currency does (the partner may edit the lead until a decision), and when
-- it comes back to the queue after a withdrawal, so an approval or
-- rejection names the version it was made on and is refused when the deal
-- changed in between. The decision itself does not move it: deciding again
-- on what was reviewed answers the same.
ALTER TABLE deals ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- Kept by a trigger so that every writer of deals (the projection, and any
-- later one) moves it.
CREATE FUNCTION deals_bump_version() RETURNS trigger AS $$
BEGIN
    IF (NEW.amount_minor, NEW.currency) IS DISTINCT FROM (OLD.amount_minor, OLD.currency)
       OR (NEW.status = 'submitted' AND OLD.status <> 'submitted') THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER deals_version BEFORE UPDATE ON deals
    FOR EACH ROW EXECUTE FUNCTION deals_bump_version();
