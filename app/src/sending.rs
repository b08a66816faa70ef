//! A composer's messages leave in the order they were written. Each send is a
//! request of its own, and two in flight at once may be stored in either
//! order (an agent who types fast, or a customer whose sends pile up while
//! the connection is down), so a composer sends through one [`InOrder`]: a
//! request starts when the one before it has settled, delivered or failed.

use std::{collections::VecDeque, future::Future, pin::Pin};

use leptos::prelude::*;

type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// One queue of sends, each started after the previous one finished.
#[derive(Clone, Copy)]
pub struct InOrder {
    waiting: StoredValue<VecDeque<Job>>,
    draining: StoredValue<bool>,
}

impl Default for InOrder {
    fn default() -> Self {
        Self::new()
    }
}

impl InOrder {
    pub fn new() -> Self {
        Self { waiting: StoredValue::new(VecDeque::new()), draining: StoredValue::new(false) }
    }

    /// Queues the send that `start` begins; it runs once every send queued
    /// before it has finished. (In the browser only: it spawns a local task.)
    pub fn push<F, Fut>(self, start: F)
    where
        F: FnOnce() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.waiting.update_value(|q| q.push_back(Box::new(move || Box::pin(start()))));
        if self.draining.get_value() {
            return;
        }
        self.draining.set_value(true);
        leptos::task::spawn_local(async move {
            while let Some(job) = self.waiting.try_update_value(VecDeque::pop_front).flatten() {
                job().await;
            }
            self.draining.set_value(false);
        });
    }
}
