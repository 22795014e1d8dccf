//! What time decides about pushes: expired orders, closed windows,
//! devices gone offline inside theirs, and rollouts' next waves.

use super::*;

impl Pushes {
    /// Acts on what time has decided: apply orders nobody answered before
    /// they expired, windows past their deadline without the device's
    /// report, and devices offline inside their window. Then moves the
    /// rollouts on. `offline` says whether a device is offline.
    pub async fn sweep(
        &self,
        offline: &(dyn Fn(&Id, &Id) -> bool + Send + Sync),
    ) -> Result<Vec<PushAlert>, PushError> {
        let now = self.clock.now();
        let open = self
            .store
            .pushes(
                &Scope::All,
                &PushQuery {
                    open_only: true,
                    limit: 10_000,
                    ..PushQuery::default()
                },
            )
            .await?;
        let mut alerts = Vec::new();
        for push in open {
            let grace = self.settings.grace;
            let (event, detail, alert) = match push.state {
                PushState::Sent if now >= push.order_expires + grace => (
                    PushEvent::ApplyFailed,
                    format!(
                        "no answer from the device before the order expired at {}",
                        push.order_expires.to_rfc3339()
                    ),
                    None,
                ),
                PushState::Applied { .. } if offline(&push.tenant, &push.device) => (
                    PushEvent::Unreachable,
                    "the device went offline inside the window; it reverts by itself at the deadline"
                        .to_string(),
                    Some(format!(
                        "push {} unconfirmed: device offline inside the revert window",
                        push.id
                    )),
                ),
                PushState::Applied { deadline } if now >= deadline + grace => (
                    PushEvent::Tick { now },
                    "the window closed without a confirm; the device did not report its revert"
                        .to_string(),
                    Some(format!(
                        "push {} unconfirmed: the device did not report its revert",
                        push.id
                    )),
                ),
                _ => continue,
            };
            let Ok(state) = push.state.next(event) else {
                continue;
            };
            let mut next = push.clone();
            next.state = state;
            next.detail = Some(SafeText::from(detail.as_str()));
            let audit = AuditEntry::new(
                &push.tenant,
                now,
                "worker",
                &format!("push.{}", state.name()),
                target(&push),
            )
            .change(push.state.name(), state.name())
            .because(detail.clone());
            tracing::info!(push = %push.id, from = push.state.name(), to = state.name(),
                %detail, "push settled by the worker");
            // Only the writer whose compare-and-set wins acts: exactly once.
            if self.commit(&push, next, vec![audit]).await?.is_some()
                && let Some(summary) = alert
            {
                alerts.push(PushAlert {
                    tenant: push.tenant.clone(),
                    device: push.device.clone(),
                    summary,
                });
            }
        }
        self.advance_rollouts().await?;
        alerts.extend(std::mem::take(
            &mut *self.raised.lock().unwrap_or_else(|p| p.into_inner()),
        ));
        Ok(alerts)
    }
}
