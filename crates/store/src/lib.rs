//! Persistence: challenges (atomic consume-once), transactions, certificates, hash-chained audit log (sqlx; SQLite and PostgreSQL).
#![forbid(unsafe_code)]
