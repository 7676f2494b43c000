-- 0006_retention: the application role may delete expired push challenges
-- (the retention sweep, cmd/latchkey's purge loop). Run as the owner role.
--
-- SQLite needs no counterpart: it has no roles.
GRANT DELETE ON push_challenges TO latchkey_app;
