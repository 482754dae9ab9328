-- A session that stops being valid is noticed on `sessions_ended` (its
-- token hash in hex), so every server process over this database closes
-- its sockets at once (`http/live_sessions.rs`), whoever ended it: a
-- sign-out on another node, an admin's tool, a rejection. A session that
-- merely reaches its expiry is found by each process's sweep.
CREATE FUNCTION notify_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('sessions_ended', encode(OLD.token_hash, 'hex'));
        RETURN OLD;
    END IF;
    IF (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
       OR (OLD.expires_at > now() AND NEW.expires_at <= now()) THEN
        PERFORM pg_notify('sessions_ended', encode(NEW.token_hash, 'hex'));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER sessions_ended AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION notify_session_ended();

-- An account that is no longer approved ends every session it has.
CREATE FUNCTION notify_account_sessions_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sessions_ended', encode(s.token_hash, 'hex'))
    FROM sessions s
    WHERE s.account_id = NEW.id AND s.revoked_at IS NULL AND s.expires_at > now();
    RETURN NEW;
END $$;

CREATE TRIGGER account_sessions_ended AFTER UPDATE OF status ON accounts
    FOR EACH ROW
    WHEN (OLD.status = 'approved' AND NEW.status <> 'approved')
    EXECUTE FUNCTION notify_account_sessions_ended();
