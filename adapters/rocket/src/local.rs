//! What the cache keeps with a Rocket request: one entry of the request's
//! local cache, so that a request costs at most one.

use std::sync::{Mutex, MutexGuard, OnceLock};

use http::HeaderMap;
use rocket::Request;
use webcache_core::handler::Pending;

/// The cache's state for one request.
#[derive(Default)]
pub(crate) struct RequestLocal {
    /// The header fields of the stored response a hit answers with, kept
    /// for the life of the request so that Rocket's response borrows them.
    fields: OnceLock<HeaderMap>,
    /// The forwarded request's [`Pending`], from the cached route to the
    /// fairing, tagged with the fairing it is for. Boxed: it is large, and
    /// a hit, which has none, allocates this state too.
    pending: Mutex<Option<(usize, Box<Pending>)>>,
}

impl RequestLocal {
    /// The state of `request`.
    pub(crate) fn of<'r>(request: &'r Request<'_>) -> &'r RequestLocal {
        request.local_cache(RequestLocal::default)
    }

    /// Keeps `fields` for the life of the request and lends them out; gives
    /// them back when fields are kept already.
    pub(crate) fn keep_fields(&self, fields: HeaderMap) -> Result<&HeaderMap, HeaderMap> {
        self.fields.set(fields)?;
        Ok(self.fields.get().expect("the fields were just set"))
    }

    fn lock(&self) -> MutexGuard<'_, Option<(usize, Box<Pending>)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leaves `pending` for the fairing `owner`.
    pub(crate) fn put(&self, owner: usize, pending: Pending) {
        *self.lock() = Some((owner, Box::new(pending)));
    }

    /// The pending request, if it is `owner`'s.
    pub(crate) fn take(&self, owner: usize) -> Option<Pending> {
        let mut slot = self.lock();
        match slot.take() {
            Some((o, pending)) if o == owner => Some(*pending),
            other => {
                *slot = other;
                None
            }
        }
    }
}
