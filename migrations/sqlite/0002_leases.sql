-- Leases: which worker runs the jobs that must run once for the whole
-- fleet (the periodic site and trend rules). A lease is held until
-- `expires` (epoch milliseconds) and renewed by its holder.

CREATE TABLE vigie_leases (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    expires BIGINT NOT NULL
);
