-- Chunks of Automerge documents as samod stores them: a flattened storage key
-- (doc id / "snapshot" | "incremental" / hash) to bytes. COLLATE "C" orders
-- keys bytewise so a prefix load is a range scan of the primary key.
CREATE TABLE doc_chunks (
    key        text COLLATE "C" PRIMARY KEY,
    data       bytea NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE partners (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    company    text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The registry of documents the server knows: what each is and whose. The
-- owner recorded here, never a field inside the document, is what the server
-- trusts.
CREATE TABLE documents (
    doc_id     text PRIMARY KEY,
    kind       text NOT NULL CONSTRAINT documents_kind_known CHECK (kind IN ('pipeline')),
    owner_id   text NOT NULL REFERENCES partners (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_one_per_kind_and_owner UNIQUE (kind, owner_id)
);

-- The heads of each document as last projected into relational tables.
CREATE TABLE projections (
    doc_id       text PRIMARY KEY REFERENCES documents (doc_id),
    heads        text[] NOT NULL,
    projected_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE leads (
    partner_id   text NOT NULL REFERENCES partners (id),
    lead_id      text NOT NULL,
    doc_id       text NOT NULL REFERENCES documents (doc_id),
    stage        text NOT NULL CONSTRAINT leads_stage_known
                 CHECK (stage IN ('new', 'contacted', 'qualified', 'proposal', 'won', 'lost')),
    contact_name text NOT NULL,
    company      text NOT NULL,
    email        text NOT NULL,
    phone        text NOT NULL,
    notes        text NOT NULL,
    value_minor  bigint NOT NULL,
    currency     char(3) NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (partner_id, lead_id)
);
CREATE INDEX leads_by_doc ON leads (doc_id);
