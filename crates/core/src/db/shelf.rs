//! Connections kept in a plain list: one is taken for a statement and put back when its
//! [`Lease`] is dropped, also when the request that took it is cancelled. What [`super::reads`]
//! and [`super::inline`] hand out their connections with.
use std::sync::{Mutex, PoisonError};

/// Idle connections of one kind.
pub struct Shelf<C>(Mutex<Vec<C>>);

impl<C> Shelf<C> {
    pub fn new(connections: Vec<C>) -> Self {
        Self(Mutex::new(connections))
    }

    /// How many are idle now.
    pub fn idle_count(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// An idle connection, if there is one.
    pub fn take(&self) -> Option<Lease<'_, C>> {
        let conn = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
        Some(Lease { shelf: self, conn: Some(conn) })
    }
}

/// A connection taken from a [`Shelf`], put back when dropped.
pub struct Lease<'a, C> {
    shelf: &'a Shelf<C>,
    /// Always `Some` until dropped.
    conn: Option<C>,
}

impl<C> std::ops::Deref for Lease<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.conn.as_ref().unwrap_or_else(|| unreachable!("a lease holds its connection until dropped"))
    }
}

impl<C> std::ops::DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().unwrap_or_else(|| unreachable!("a lease holds its connection until dropped"))
    }
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.shelf.0.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
        }
    }
}
