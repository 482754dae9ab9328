-- The training hub: blobs kept by their SHA-256, tracks as admins author
-- them and as they were published, each partner's progress and quiz
-- attempts as projected from their training document, certificates and
-- assignments.

-- Every blob the server keeps (its bytes are in the blob store, named by
-- `sha256`).
CREATE TABLE blobs (
    sha256       text PRIMARY KEY CONSTRAINT blobs_sha256_shape CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes        bigint NOT NULL CHECK (bytes >= 0),
    content_type text NOT NULL,
    created_by   text REFERENCES accounts (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Uploads under way (their parts are in the blob store).
CREATE TABLE blob_uploads (
    id           text PRIMARY KEY CONSTRAINT blob_uploads_id_shape CHECK (id ~ '^[0-9a-f]{32}$'),
    sha256       text NOT NULL CONSTRAINT blob_uploads_sha256_shape CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes        bigint NOT NULL CHECK (bytes > 0),
    content_type text NOT NULL,
    created_by   text NOT NULL REFERENCES accounts (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- A track as its authors have it now (`draft`, a `wire::Track`), and the
-- catalog document its published versions are read from.
CREATE TABLE training_tracks (
    id                text PRIMARY KEY CONSTRAINT training_tracks_id_shape CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    draft             jsonb NOT NULL,
    audience          text NOT NULL CONSTRAINT training_tracks_audience_known CHECK (audience IN ('everyone', 'team_leaders')),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text REFERENCES accounts (id),
    doc_id            text UNIQUE REFERENCES documents (doc_id)
);

-- Published versions, never changed: what partners read (`manifest`, a
-- `wire::Published` without exam keys), the exam keys apart.
CREATE TABLE training_versions (
    track_id     text NOT NULL REFERENCES training_tracks (id),
    version      integer NOT NULL CHECK (version > 0),
    manifest     jsonb NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text REFERENCES accounts (id),
    PRIMARY KEY (track_id, version)
);

CREATE TABLE training_exam_keys (
    track_id    text NOT NULL,
    version     integer NOT NULL,
    quiz_id     text NOT NULL,
    question_id text NOT NULL,
    correct     text[] NOT NULL,
    PRIMARY KEY (track_id, version, quiz_id, question_id),
    FOREIGN KEY (track_id, version) REFERENCES training_versions (track_id, version)
);

-- The modules and lessons of each version, so SQL can count completion.
CREATE TABLE training_lessons (
    track_id  text NOT NULL,
    version   integer NOT NULL,
    module_id text NOT NULL,
    lesson_id text NOT NULL,
    PRIMARY KEY (track_id, version, lesson_id),
    FOREIGN KEY (track_id, version) REFERENCES training_versions (track_id, version)
);

-- The blobs a version shows; a partner may fetch a blob when a version
-- of a track they may read names it.
CREATE TABLE training_version_blobs (
    track_id text NOT NULL,
    version  integer NOT NULL,
    sha256   text NOT NULL REFERENCES blobs (sha256),
    PRIMARY KEY (track_id, version, sha256),
    FOREIGN KEY (track_id, version) REFERENCES training_versions (track_id, version)
);
CREATE INDEX training_version_blobs_by_blob ON training_version_blobs (sha256);

-- A catalog document may be for some readers only (a track for team
-- leaders): the share policy reads this.
ALTER TABLE documents ADD COLUMN readers text
    CONSTRAINT documents_readers_known CHECK (readers IN ('team_leaders'));

-- Lessons a partner completed, as their training document says.
CREATE TABLE training_progress (
    partner_id   text NOT NULL REFERENCES partners (id),
    track_id     text NOT NULL,
    lesson_id    text NOT NULL,
    completed_at timestamptz NOT NULL,
    PRIMARY KEY (partner_id, track_id, lesson_id)
);

-- Quiz attempts as the partner's device wrote them, and what the server
-- made of an exam.
CREATE TABLE quiz_attempts (
    partner_id    text NOT NULL REFERENCES partners (id),
    id            text NOT NULL,
    track_id      text NOT NULL,
    version       integer NOT NULL,
    quiz_id       text NOT NULL,
    kind          text NOT NULL CONSTRAINT quiz_attempts_kind_known CHECK (kind IN ('practice', 'exam')),
    answers       jsonb NOT NULL,
    started_at    timestamptz NOT NULL,
    submitted_at  timestamptz NOT NULL,
    -- A practice quiz's score as the device graded it.
    device_score  smallint,
    outcome       text CONSTRAINT quiz_attempts_outcome_known
                  CHECK (outcome IN ('passed', 'failed', 'too_soon', 'no_attempts_left', 'unknown')),
    score_percent smallint,
    graded_at     timestamptz,
    retry_after   timestamptz,
    PRIMARY KEY (partner_id, id)
);

-- Certificates: issued once per passed exam attempt, never changed.
CREATE TABLE certificates (
    id            text PRIMARY KEY CONSTRAINT certificates_id_shape CHECK (id ~ '^[0-9A-Z]{16}$'),
    partner_id    text NOT NULL REFERENCES partners (id),
    attempt_id    text NOT NULL,
    track_id      text NOT NULL,
    version       integer NOT NULL,
    quiz_id       text NOT NULL,
    recipient     text NOT NULL,
    track_title   text NOT NULL,
    score_percent smallint NOT NULL,
    issued_at     timestamptz NOT NULL,
    pdf_sha256    text REFERENCES blobs (sha256),
    UNIQUE (partner_id, attempt_id),
    FOREIGN KEY (partner_id, attempt_id) REFERENCES quiz_attempts (partner_id, id)
);

-- Modules someone must complete by a date.
CREATE TABLE training_assignments (
    partner_id  text NOT NULL REFERENCES partners (id),
    track_id    text NOT NULL REFERENCES training_tracks (id),
    module_id   text NOT NULL,
    due_on      date NOT NULL,
    assigned_by text NOT NULL REFERENCES accounts (id),
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, track_id, module_id)
);

-- What the training projection last read of each training document.
CREATE TABLE training_projected (
    doc_id text PRIMARY KEY REFERENCES documents (doc_id),
    heads  text[] NOT NULL
);

-- Training's notices.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_known;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_known
    CHECK (kind IN ('deal_approved', 'deal_rejected', 'commission_available',
                    'payout_made', 'follow_up_due', 'training_assigned', 'exam_graded'));
ALTER TABLE notification_preferences DROP CONSTRAINT notification_preferences_category_known;
ALTER TABLE notification_preferences ADD CONSTRAINT notification_preferences_category_known
    CHECK (category IN ('deals', 'money', 'reminders', 'training'));
