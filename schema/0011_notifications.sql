-- Notifications. An event that someone should hear of (a deal decided, a
-- commission available, a payout made, a follow-up due) writes a row here
-- in the same transaction as the event itself: the outbox. A worker then
-- writes each into its person's inbox document (`in_app_at`) and sends it
-- by Web Push to each of their subscribed devices (`push_deliveries`).
-- `dedupe_key` makes an event notify once however often it is seen (a
-- sweep that finds the same due follow-up twice).
CREATE TABLE notifications (
    id         bigserial PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id),
    kind       text NOT NULL CONSTRAINT notifications_kind_known
               CHECK (kind IN ('deal_approved', 'deal_rejected', 'commission_available',
                               'payout_made', 'follow_up_due')),
    dedupe_key text NOT NULL CONSTRAINT notifications_once UNIQUE,
    title      text NOT NULL,
    body       text NOT NULL,
    -- The app's screen it opens, as the location's hash.
    screen     text NOT NULL CONSTRAINT notifications_screen_is_a_hash CHECK (screen ~ '^#[a-z0-9-]*$'),
    -- Notices of one topic replace each other on a device that has not
    -- shown them yet (RFC 8030 section 5.4).
    topic      text CONSTRAINT notifications_topic_shape CHECK (topic ~ '^[A-Za-z0-9_-]{1,32}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    in_app_at  timestamptz
);
CREATE INDEX notifications_not_in_app ON notifications (id) WHERE in_app_at IS NULL;
CREATE INDEX notifications_by_account ON notifications (account_id, id DESC);

-- A device that agreed to receive notifications: its push service's
-- endpoint and the keys its messages are encrypted for (RFC 8291). A
-- device subscribes again on every start of the app; an endpoint the push
-- service says is gone (404, 410) is deleted.
CREATE TABLE push_subscriptions (
    endpoint        text PRIMARY KEY,
    account_id      text NOT NULL REFERENCES accounts (id),
    p256dh          bytea NOT NULL CONSTRAINT push_subscriptions_p256dh_shape CHECK (length(p256dh) = 65),
    auth            bytea NOT NULL CONSTRAINT push_subscriptions_auth_shape CHECK (length(auth) = 16),
    created_at      timestamptz NOT NULL DEFAULT now(),
    seen_at         timestamptz NOT NULL DEFAULT now(),
    last_success_at timestamptz
);
CREATE INDEX push_subscriptions_by_account ON push_subscriptions (account_id);

-- One message to one device: tried until the push service takes it (201),
-- says the device is gone, or the notice is too old to be worth sending.
CREATE TABLE push_deliveries (
    notification_id bigint NOT NULL REFERENCES notifications (id),
    endpoint        text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The notice's TTL from when it was made: not sent after.
    expires_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    -- Why it will not be sent: the device is gone or unsubscribed, or the
    -- notice expired.
    dropped         text,
    PRIMARY KEY (notification_id, endpoint)
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND dropped IS NULL;

-- What a person does not want pushed, by category; everything is pushed
-- unless they said otherwise. The inbox has every notice whatever this says.
CREATE TABLE notification_preferences (
    account_id text NOT NULL REFERENCES accounts (id),
    category   text NOT NULL CONSTRAINT notification_preferences_category_known
               CHECK (category IN ('deals', 'money', 'reminders')),
    push       boolean NOT NULL,
    PRIMARY KEY (account_id, category)
);

-- The server's VAPID key pair (RFC 8292), made at its first start: push
-- services check that every message is signed by the key a device
-- subscribed with, so it must never change.
CREATE TABLE vapid_keys (
    id          integer PRIMARY KEY CONSTRAINT vapid_keys_one CHECK (id = 1),
    private_key bytea NOT NULL CONSTRAINT vapid_keys_private_shape CHECK (length(private_key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Each partner's inbox is a document the server writes, one each.
ALTER TABLE documents DROP CONSTRAINT documents_kind_known;
ALTER TABLE documents ADD CONSTRAINT documents_kind_known
    CHECK (kind IN ('pipeline', 'training', 'note', 'account_view', 'catalog', 'channel', 'inbox'));
DROP INDEX documents_one_per_kind_and_owner;
CREATE UNIQUE INDEX documents_one_per_kind_and_owner ON documents (kind, owner_id)
    WHERE kind IN ('pipeline', 'training', 'account_view', 'inbox');
