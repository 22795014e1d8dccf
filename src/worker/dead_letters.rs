//! Messages that cannot be taken: dead-lettered with the reason, or
//! handed back for redelivery.

use super::*;

impl Worker {
    /// Dead-letters the messages the bus gave up at max_deliver.
    pub(super) async fn dead_letter_exhausted(&mut self) -> Result<(), WorkerError> {
        let given_up = self.consumer.exhausted().await?;
        self.exhausted.extend(given_up);
        // Kept until their letter is out (bounded: the oldest go first).
        let over = self.exhausted.len().saturating_sub(MAX_UNSENT_LETTERS);
        if over > 0 {
            tracing::error!(
                dropped = over,
                "too many given-up messages waiting for the dead-letter stream"
            );
            self.exhausted.drain(..over);
        }
        while let Some(d) = self.exhausted.front() {
            let error = format!(
                "not stored after {} deliveries; each attempt failed",
                d.delivered
            );
            self.dead_letter(d, "max-deliveries", error).await?;
            self.exhausted.pop_front();
            self.stats.exhausted.fetch_add(1, Ordering::Relaxed);
            self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Asks for redelivery of messages that were not stored.
    pub(super) async fn give_back(&mut self, tokens: &[AckToken]) {
        for t in tokens {
            // Best effort: without the nak the ack wait redelivers anyway.
            let _ = self.consumer.nak(t, self.cfg.retry_delay).await;
        }
    }

    pub(super) async fn dead_letter(
        &self,
        d: &Delivery,
        reason: &str,
        error: String,
    ) -> Result<(), WorkerError> {
        let letter = DeadLetter::new(
            reason,
            &error,
            &d.subject,
            d.delivered,
            self.clock.now(),
            &d.payload,
        );
        let body = crate::bus::json_payload(&letter)?;
        let id = format!("dlq-{}-{}", d.token.stream_seq, reason);
        self.bus.publish(&subject::dlq(reason), &id, body).await?;
        Ok(())
    }
}
