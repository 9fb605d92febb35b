//! Test helpers shared by the unit tests that run whole exchanges through
//! [`Cache::serve`](crate::Cache::serve).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::StoreError;
use crate::store::{Store, StoreKey, Write};

/// A map that keeps everything and honours no TTL.
#[derive(Clone, Default)]
pub(crate) struct MapStore(Arc<Mutex<HashMap<StoreKey, Bytes>>>);

impl Store for MapStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        let map = self.0.lock().unwrap();
        Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
    }
    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.0.lock().unwrap();
        for w in writes {
            map.insert(w.key, w.value);
        }
        Ok(())
    }
    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        let mut map = self.0.lock().unwrap();
        for k in keys {
            map.remove(k);
        }
        Ok(())
    }
}
