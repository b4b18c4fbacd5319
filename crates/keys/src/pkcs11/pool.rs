//! A bounded pool of PKCS#11 sessions.
//!
//! A `Session` is `Send` but not `Sync`: one thread at a time. Keys borrow a session for one
//! operation and give it back; at most `max` sessions exist, so a burst of requests queues here
//! instead of exhausting the HSM's session table (catalogue E4 bounds HSM concurrency).
//! Sessions are read-only: they only sign and decrypt, and login state is the application's, so
//! a new session is usable as soon as it is opened.

use std::sync::{Condvar, Mutex, MutexGuard};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::session::Session;
use cryptoki::slot::Slot;

use crate::KeyError;

pub(super) struct Pool {
    ctx: Pkcs11,
    slot: Slot,
    max: usize,
    state: Mutex<State>,
    returned: Condvar,
}

struct State {
    idle: Vec<Session>,
    /// Sessions open, idle or lent.
    open: usize,
}

impl Pool {
    pub(super) fn new(ctx: Pkcs11, slot: Slot, max: usize) -> Self {
        Self {
            ctx,
            slot,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, KeyError> {
        self.state
            .lock()
            .map_err(|_| KeyError::Backend("PKCS#11 session pool poisoned".into()))
    }

    /// Borrow a session, waiting while `max` are lent out.
    pub(super) fn get(&self) -> Result<Lease<'_>, KeyError> {
        let mut state = self.lock()?;
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                    broken: false,
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.ctx.open_ro_session(self.slot) {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                        broken: false,
                    }),
                    Err(e) => {
                        self.forget();
                        Err(KeyError::Backend(format!("PKCS#11 C_OpenSession: {e}")))
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .map_err(|_| KeyError::Backend("PKCS#11 session pool poisoned".into()))?;
        }
    }

    /// A session was closed (or never opened): make room for a new one.
    fn forget(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.open = state.open.saturating_sub(1);
        }
        self.returned.notify_one();
    }

    fn put(&self, session: Session) {
        match self.state.lock() {
            Ok(mut state) => state.idle.push(session),
            Err(_) => drop(session),
        }
        self.returned.notify_one();
    }

    /// Close the idle sessions (the lent ones close when they come back and find no pool).
    pub(super) fn close_idle(&self) {
        if let Ok(mut state) = self.state.lock() {
            let n = state.idle.len();
            state.idle.clear();
            state.open = state.open.saturating_sub(n);
        }
    }
}

/// A borrowed session, returned to the pool on drop unless marked broken.
pub(super) struct Lease<'a> {
    pool: &'a Pool,
    session: Option<Session>,
    broken: bool,
}

impl Lease<'_> {
    pub(super) fn session(&self) -> Result<&Session, KeyError> {
        self.session
            .as_ref()
            .ok_or_else(|| KeyError::Backend("PKCS#11 session already returned".into()))
    }

    /// Look at an error from this session: one that means the session is gone gets it closed
    /// instead of pooled, so the next caller opens a fresh one.
    pub(super) fn check<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(Error::Pkcs11(rv, _)) = &result
            && matches!(
                rv,
                RvError::SessionHandleInvalid
                    | RvError::SessionClosed
                    | RvError::DeviceRemoved
                    | RvError::DeviceError
                    | RvError::TokenNotPresent
            )
        {
            self.broken = true;
        }
        result
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            if self.broken {
                drop(session);
                self.pool.forget();
            } else {
                self.pool.put(session);
            }
        }
    }
}
