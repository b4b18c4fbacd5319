//! How the one CA service is configured for each deployment (see the module doc of
//! [`crate::service`]).

/// Which RAs the service answers, and who records what it issues.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ras: Ras,
    pub recording: Recording,
}

impl Settings {
    /// `scepd ca`: registered RAs over mutual TLS; the CA logs statements and records what
    /// it issues. `ra_validity_days`: the validity of the certificates issued to a registering
    /// RA.
    pub fn split(ra_validity_days: u32) -> Settings {
        Settings {
            ras: Ras::Registry { ra_validity_days },
            recording: Recording::ByCa,
        }
    }

    /// `scepd serve`: the RA of this process, counter-signing with `agent_certificate` and
    /// authorised for every template; the RA records what the CA issues.
    pub fn all_in_one(agent_certificate: Vec<u8>) -> Settings {
        Settings {
            ras: Ras::Local(LocalRa {
                name: LocalRa::NAME.to_owned(),
                counter_signing_certificate: agent_certificate,
                templates: Authorised::Every,
            }),
            recording: Recording::ByRa,
        }
    }
}

/// Who may send statements.
#[derive(Debug, Clone)]
pub enum Ras {
    /// The RAs of the ledger's registry, each identified by the SHA-256 of its TLS client
    /// certificate ([`crate::service::Caller::Tls`]), authorised for the templates it was
    /// registered with. New ones register with a one-time code.
    Registry {
        /// Validity of the certificates the CA issues to a registering RA.
        ra_validity_days: u32,
    },
    /// The one RA of this process ([`crate::service::Caller::InProcess`]). Takes no
    /// registrations.
    Local(LocalRa),
}

/// The RA of an all-in-one process.
#[derive(Debug, Clone)]
pub struct LocalRa {
    /// How logs name it.
    pub name: String,
    /// The only certificate whose statements the CA accepts from it: its enrollment agent's.
    pub counter_signing_certificate: Vec<u8>,
    pub templates: Authorised,
}

impl LocalRa {
    /// The name [`Settings::all_in_one`] gives it.
    pub const NAME: &'static str = "local";
}

/// The templates an RA may approve requests for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorised {
    /// Every template the CA has (the RA of an all-in-one process: the RA and the CA are
    /// configured from the same templates).
    Every,
    /// These, by name (a registered RA: `scepd ca register-ra --templates`).
    Only(Vec<String>),
}

impl Authorised {
    pub fn allows(&self, template: &str) -> bool {
        match self {
            Authorised::Every => true,
            Authorised::Only(names) => names.iter().any(|n| n == template),
        }
    }
}

/// Who records a certificate the CA signed for a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    /// The CA: it claims each statement's nonce before issuing (a replay gets the recorded
    /// answer, a reused nonce is refused), records the certificate in its own certificates
    /// table with the answer and the audit entry in one transaction, and audits refusals and
    /// replays. For RAs on other hosts.
    ByCa,
    /// The RA, in the same database: it commits the certificate with its SCEP transaction,
    /// challenge and audit entry. The CA writes nothing per statement.
    ByRa,
}
