-- Referral links, the clicks they bring and the storefront's orders
-- (issue 18).

-- Each partner's links are a document their devices write.
ALTER TABLE documents DROP CONSTRAINT documents_kind_known;
ALTER TABLE documents ADD CONSTRAINT documents_kind_known
    CHECK (kind IN ('pipeline', 'training', 'note', 'account_view', 'catalog', 'channel', 'inbox',
                    'messages', 'reads', 'referrals'));
DROP INDEX documents_one_per_kind_and_owner;
CREATE UNIQUE INDEX documents_one_per_kind_and_owner ON documents (kind, owner_id)
    WHERE kind IN ('pipeline', 'training', 'account_view', 'inbox', 'reads', 'referrals');

-- A link the projection confirmed: its code is this partner's for good.
-- The code was made on a device; the first partner whose document names a
-- code holds it, and the label follows the document.
CREATE TABLE referral_links (
    code         text PRIMARY KEY CONSTRAINT referral_links_code_shape
                 CHECK (code ~ '^[0-9a-hjkmnp-tv-z]{12}$'),
    partner_id   text NOT NULL REFERENCES partners (id),
    label        text NOT NULL CONSTRAINT referral_links_label_length
                 CHECK (length(label) BETWEEN 1 AND 80),
    -- As the device said (its clock), and when the server first saw it.
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_links_by_partner ON referral_links (partner_id);

-- A code a partner's document names that another partner holds: refused,
-- and said so on the partner's device (through the account view).
CREATE TABLE referral_link_refusals (
    partner_id text NOT NULL REFERENCES partners (id),
    code       text NOT NULL,
    reason     text NOT NULL,
    noticed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, code)
);

-- A click on a link, recorded at the redirect. `visitor` is the first
-- click this browser made (its own id for that one): the signed cookie
-- carries it, so every click a browser makes is found at checkout, and the
-- model (first or last click) picks among them there.
CREATE TABLE referral_clicks (
    id         bigserial PRIMARY KEY,
    code       text NOT NULL REFERENCES referral_links (code),
    partner_id text NOT NULL REFERENCES partners (id),
    visitor    bigint NOT NULL,
    clicked_at timestamptz NOT NULL,
    -- Where the click came from, cut to 200 characters; no address is kept.
    referrer   text CONSTRAINT referral_clicks_referrer_length CHECK (length(referrer) <= 200)
);
CREATE INDEX referral_clicks_by_visitor ON referral_clicks (visitor, clicked_at);
CREATE INDEX referral_clicks_by_code ON referral_clicks (code);

-- A partner's coupon code: a buyer on another device types it and the
-- order is the partner's. Made with the partner's first link.
CREATE TABLE partner_coupons (
    code       text PRIMARY KEY CONSTRAINT partner_coupons_code_shape
               CHECK (code ~ '^[A-Z0-9-]{4,24}$'),
    partner_id text NOT NULL CONSTRAINT partner_coupons_one_each UNIQUE REFERENCES partners (id)
);

-- The storefront's catalog, loaded from fixtures/shop (the shop's seed).
CREATE TABLE shop_products (
    slug        text PRIMARY KEY CONSTRAINT shop_products_slug_shape
                CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name        text NOT NULL,
    summary     text NOT NULL,
    description text NOT NULL,
    -- The picture in the blob store (SHA-256, hex) and its type.
    image_sha256 text,
    image_type  text,
    image_size  bigint,
    position    integer NOT NULL DEFAULT 0
);
-- The currencies the shop sells in, the first the one a buyer sees first.
CREATE TABLE shop_currencies (
    currency char(3) PRIMARY KEY,
    position integer NOT NULL
);
CREATE TABLE shop_prices (
    slug         text NOT NULL REFERENCES shop_products (slug),
    currency     char(3) NOT NULL,
    amount_minor bigint NOT NULL CONSTRAINT shop_prices_positive CHECK (amount_minor > 0),
    PRIMARY KEY (slug, currency)
);

-- A checkout: one per checkout page shown, keyed by the idempotency key
-- the page carries, stored before the payment provider is asked and sent
-- to it on every try. A second submit of the same page finds the order
-- the first made.
CREATE TABLE checkouts (
    -- 128 random bits, hex: made by the server when it shows the page.
    key          text PRIMARY KEY CONSTRAINT checkouts_key_shape CHECK (key ~ '^[0-9a-f]{32}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    currency     char(3) NOT NULL,
    amount_minor bigint NOT NULL CONSTRAINT checkouts_amount_positive CHECK (amount_minor > 0),
    -- [{slug, name, quantity, unit_minor}] as priced when submitted.
    items        jsonb NOT NULL,
    email        text NOT NULL,
    name         text NOT NULL,
    status       text NOT NULL CONSTRAINT checkouts_status_known
                 CHECK (status IN ('pending', 'paid', 'declined')),
    payment_ref  text,
    declined     text,
    order_id     bigint REFERENCES orders (id)
);

-- An order from the storefront names its checkout, its buyer and how it
-- was attributed: the clicks considered, the model, the coupon and the
-- winner, kept for disputes and for the partner's explanation.
ALTER TABLE orders
    ADD COLUMN checkout_key text CONSTRAINT orders_checkout_once UNIQUE REFERENCES checkouts (key),
    ADD COLUMN link_code    text REFERENCES referral_links (code),
    ADD COLUMN attribution  jsonb;
CREATE INDEX orders_by_link ON orders (link_code) WHERE link_code IS NOT NULL;
