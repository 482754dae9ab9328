-- A team's announcements (sync-server/src/chat/channels.rs): a channel per
-- team beside its own, which its leader posts to and the team reads.
ALTER TABLE channels DROP CONSTRAINT channels_form_known;
ALTER TABLE channels ADD CONSTRAINT channels_form_known
    CHECK (form IN ('team', 'announcements', 'team_announcements', 'topic', 'direct'));
ALTER TABLE channels DROP CONSTRAINT channels_team_has_leader;
ALTER TABLE channels ADD CONSTRAINT channels_team_has_leader
    CHECK ((form IN ('team', 'team_announcements')) = (team_leader_id IS NOT NULL));
CREATE UNIQUE INDEX channels_one_announcements_per_team ON channels (team_leader_id)
    WHERE form = 'team_announcements';
