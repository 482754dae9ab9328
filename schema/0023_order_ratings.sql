-- A client's rating of the partner who brought their order: asked for on
-- the order's confirmation once the order is delivered, kept one per
-- order (a client may change it), read into the partner's tier progress
-- as satisfaction.
ALTER TABLE orders ADD COLUMN delivered_at timestamptz;

CREATE TABLE order_ratings (
    order_id   bigint PRIMARY KEY REFERENCES orders (id),
    partner_id text NOT NULL REFERENCES partners (id),
    stars      smallint NOT NULL CONSTRAINT order_ratings_stars CHECK (stars BETWEEN 1 AND 5),
    rated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_ratings_by_partner ON order_ratings (partner_id, rated_at);
