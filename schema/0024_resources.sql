-- The resources library (issue 18): assets admins publish into
-- categories, partners' co-branded copies of templates, and what partners
-- do with them (views, downloads, shares), recorded on their devices and
-- sent when online.

CREATE TABLE resource_categories (
    id       text PRIMARY KEY CONSTRAINT resource_categories_id_shape
             CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name     text NOT NULL,
    position integer NOT NULL DEFAULT 0
);

CREATE TABLE resources (
    id           text PRIMARY KEY CONSTRAINT resources_id_shape
                 CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    category_id  text NOT NULL REFERENCES resource_categories (id),
    title        text NOT NULL,
    description  text NOT NULL,
    -- An image, a PDF or a video is downloaded as it is; a template is an
    -- SVG with slots, of which each partner gets a co-branded copy.
    kind         text NOT NULL CONSTRAINT resources_kind_known
                 CHECK (kind IN ('image', 'pdf', 'video', 'template')),
    sha256       text NOT NULL,
    content_type text NOT NULL,
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    file_name    text NOT NULL,
    position     integer NOT NULL DEFAULT 0,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- A referral link the server made for a partner's co-branded copy of a
-- resource: its clicks and orders are the resource's too.
ALTER TABLE referral_links ADD COLUMN resource_id text REFERENCES resources (id);

-- A partner's co-branded copy, kept by the template and the branding it
-- was made with (name, company, link): a change of either makes it again.
CREATE TABLE cobranded_copies (
    resource_id text NOT NULL REFERENCES resources (id),
    partner_id  text NOT NULL REFERENCES partners (id),
    format      text NOT NULL CONSTRAINT cobranded_copies_format CHECK (format IN ('png', 'pdf', 'svg')),
    branding    text NOT NULL,
    sha256      text NOT NULL,
    bytes       bigint NOT NULL,
    made_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_id, partner_id, format)
);

-- What a partner did with a resource, as their device recorded it (offline
-- too) under an id of its own: sent again after a lost answer, it is kept
-- once.
CREATE TABLE resource_events (
    partner_id  text NOT NULL REFERENCES partners (id),
    id          text NOT NULL CONSTRAINT resource_events_id_shape CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    resource_id text NOT NULL REFERENCES resources (id),
    kind        text NOT NULL CONSTRAINT resource_events_kind_known
                CHECK (kind IN ('view', 'download', 'share', 'cobrand', 'link_copied')),
    at          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, id)
);
CREATE INDEX resource_events_by_resource ON resource_events (resource_id, kind);
