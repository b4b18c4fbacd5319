-- scepd store, schema 5 (SQLite): the CA's registry of RA services (split deployment, issue 5)
-- and the RA statements it has answered. Keep in step with ../postgres/0005_ra_registry.sql.
--
-- An RA is registered under a name with the templates it may approve, by a one-time code
-- (stored as the hex SHA-256 of the code, never the code). Once the RA has sent its public
-- keys the code is spent and the row holds the three certificates the CA issued to it; the
-- hex SHA-256 of its TLS client certificate is the CA listener's allow-list. RAs are revoked,
-- never deleted, so the statements they signed keep pointing at a row.
CREATE TABLE ra_registrations (
    name             TEXT    NOT NULL PRIMARY KEY,
    templates        TEXT    NOT NULL,                -- comma-separated template names
    code_sha256      TEXT    NOT NULL UNIQUE,         -- hex SHA-256 of the one-time code
    code_expires_at  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    registered_at    INTEGER,                         -- NULL: the code is not spent yet
    signing_cert     BLOB,                            -- enrollment agent (Certificate Request Agent EKU)
    encryption_cert  BLOB,                            -- CEP encryption
    tls_cert         BLOB,                            -- TLS client certificate toward the CA
    tls_cert_sha256  TEXT    UNIQUE,                  -- hex SHA-256 of tls_cert's DER
    revoked_at       INTEGER
);

-- Every statement the CA accepted for processing, keyed by the SHA-256 of its nonce: a replay
-- (same nonce) gets the recorded answer back, never a second certificate.
CREATE TABLE ra_statements (
    nonce_sha256     TEXT    NOT NULL PRIMARY KEY,
    statement_sha256 TEXT    NOT NULL,                -- hex SHA-256 of the whole ContentInfo
    ra_name          TEXT    NOT NULL REFERENCES ra_registrations (name),
    received_at      INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'issued', 'refused')),
    certificate      BLOB,                            -- state 'issued'
    refusal          TEXT,                            -- state 'refused': the typed refusal
    bad_alg          INTEGER NOT NULL DEFAULT 0 CHECK (bad_alg IN (0, 1))
);
