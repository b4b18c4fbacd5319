-- scepd store, schema 6 (SQLite): the binding a held request was accepted under. Keep in step
-- with ../postgres/0006_pending_binding.sql.
--
-- A request held for manual approval spent its challenge when it was held; once an officer
-- approves it, the RA counter-signs it on the device's next poll and the CA decides it again.
-- The CA must decide it within the names and template the challenge was minted for (or, for a
-- renewal, those of the certificate renewed), as it does for a request issued at once, so the
-- binding is kept with the request.
--
-- binding_recorded = 0: the row was held before this schema, when no binding was kept; the CA
-- then decides without one, as it did. binding_recorded = 1: binding_template and
-- binding_subject (NULL: not bound to one) and the rows of pending_request_binding_sans (none:
-- not bound to SANs) are the binding.
ALTER TABLE pending_requests ADD COLUMN binding_recorded INTEGER NOT NULL DEFAULT 0
    CHECK (binding_recorded IN (0, 1));
ALTER TABLE pending_requests ADD COLUMN binding_template TEXT;
ALTER TABLE pending_requests ADD COLUMN binding_subject TEXT;   -- RFC 4514 text

-- The bound SANs in the order minted, like challenge_binding_sans (the requested SANs shown to
-- the officer stay in pending_request_sans).
CREATE TABLE pending_request_binding_sans (
    request_id INTEGER NOT NULL REFERENCES pending_requests (id),
    position   INTEGER NOT NULL,
    san        TEXT    NOT NULL,                          -- e.g. "dns:device1.example"
    PRIMARY KEY (request_id, position)
);
