-- scepd store, schema 3: which public key each certificate certifies, so a key already
-- certified to one subject is refused for another (RFC 8894 §8.6). NULL for certificates
-- recorded before this schema.
ALTER TABLE certificates ADD COLUMN subject_key_sha256 TEXT;   -- hex SHA-256 of the SPKI DER
CREATE INDEX certificates_subject_key ON certificates (subject_key_sha256);
