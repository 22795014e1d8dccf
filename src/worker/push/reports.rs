//! Devices' reports on their pushes: each one moves its push only when
//! it answers an order the worker sent; anything else goes to the audit
//! log as the device's word.

use super::*;

/// What following a report did.
pub(super) enum Followed {
    Changed(Box<Push>),
    Unchanged,
    /// The push changed meanwhile: read it again and follow again.
    Raced,
}

/// What a report means for its push.
pub(super) enum Verdict {
    Event(PushEvent),
    Done(Followed),
}

impl Pushes {
    /// Follows a device's report. Returns the push when it changed.
    /// Idempotent: a report delivered twice changes nothing the second time.
    pub async fn report(&self, r: &ReportIn) -> Result<Option<Push>, PushError> {
        let Some(id) = &r.report.push else {
            let audit = AuditEntry::new(
                &r.tenant,
                self.clock.now(),
                format!("agent:{}", r.device),
                "order.rejected",
                format!("device/{}", r.device),
            )
            .because(
                r.report
                    .reason
                    .clone()
                    .unwrap_or_else(|| "unreadable".into()),
            )
            .once(format!("report-{}", r.msg_id));
            self.store.append_audit(&audit).await?;
            return Ok(None);
        };
        for _ in 0..5 {
            let Some(push) = self
                .store
                .push(&Scope::Tenant(r.tenant.clone()), id)
                .await?
            else {
                // An order this worker never made (forged, or from another
                // installation): the device's word goes to the log.
                let what = format!("push.{}", r.report.outcome.as_str());
                let action = if r.report.outcome == PushOutcome::Rejected {
                    "order.rejected"
                } else {
                    what.as_str()
                };
                let why = r
                    .report
                    .reason
                    .clone()
                    .unwrap_or_else(|| SafeText::from(format!("unknown push {id}")));
                let audit = AuditEntry::new(
                    &r.tenant,
                    self.clock.now(),
                    format!("agent:{}", r.device),
                    action,
                    format!("device/{}", r.device),
                )
                .because(why)
                .change("", &format!("unknown push {id}"))
                .once(format!("report-{}", r.msg_id));
                self.store.append_audit(&audit).await?;
                return Ok(None);
            };
            if push.device != r.device {
                tracing::warn!(push = %id, device = %r.device, "report from another device ignored");
                return Ok(None);
            }
            match self.follow(&push, r).await? {
                Followed::Changed(p) => return Ok(Some(*p)),
                Followed::Unchanged => return Ok(None),
                Followed::Raced => continue,
            }
        }
        Err(PushError::Conflict(format!(
            "push {id} kept changing while its report was recorded"
        )))
    }

    /// The alerts raised by reports since the last sweep.
    pub(super) fn raise(&self, push: &Push, summary: String) {
        self.raised
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PushAlert {
                tenant: push.tenant.clone(),
                device: push.device.clone(),
                summary,
            });
    }

    /// Keeps a report that does not follow from any order the worker sent:
    /// the device's word goes to the log, the push does not move.
    pub(super) async fn refuse(
        &self,
        push: &Push,
        r: &ReportIn,
        why: String,
    ) -> Result<Verdict, PushError> {
        tracing::warn!(push = %push.id, device = %r.device, outcome = r.report.outcome.as_str(),
            seq = ?r.report.seq, %why, "push report refused");
        let audit = AuditEntry::new(
            &push.tenant,
            self.clock.now(),
            format!("agent:{}", r.device),
            &format!("push.{}", r.report.outcome.as_str()),
            target(push),
        )
        .change(push.state.name(), push.state.name())
        .because(format!("refused: {why}"))
        .once(format!("report-{}", r.msg_id));
        self.store.append_audit(&audit).await?;
        Ok(Verdict::Done(Followed::Unchanged))
    }

    pub(super) async fn follow(&self, push: &Push, r: &ReportIn) -> Result<Followed, PushError> {
        // Audit entries and the push's times are the worker's: a device's
        // clock is only its claim.
        let now = self.clock.now();
        match self.verdict(push, r, now).await? {
            Verdict::Event(event) => self.record(push, r, event, now).await,
            Verdict::Done(followed) => Ok(followed),
        }
    }

    /// What a report means for its push: an event of the push's state
    /// machine, or (refused, or a refused follow-up order) already dealt
    /// with.
    pub(super) async fn verdict(
        &self,
        push: &Push,
        r: &ReportIn,
        now: DateTime<Utc>,
    ) -> Result<Verdict, PushError> {
        let rep = &r.report;
        let of_apply = rep.seq.is_none_or(|s| s == push.seq);
        let event = match rep.outcome {
            PushOutcome::Applied | PushOutcome::Failed if !of_apply => {
                return self
                    .refuse(
                        push,
                        r,
                        format!(
                            "an apply outcome for sequence {:?}; the apply order was {}",
                            rep.seq, push.seq
                        ),
                    )
                    .await;
            }
            PushOutcome::Applied => {
                // The device counts its window from when it applied, which
                // is before the order expired and not after now.
                let latest =
                    now.min(push.order_expires) + Duration::seconds(i64::from(push.window_s));
                PushEvent::Applied {
                    deadline: rep
                        .deadline
                        .unwrap_or(now + Duration::seconds(i64::from(push.window_s)))
                        .min(latest),
                }
            }
            PushOutcome::Failed => PushEvent::ApplyFailed,
            PushOutcome::Confirmed => match push.confirm_seq {
                Some(seq) if rep.seq == Some(seq) => PushEvent::Confirm,
                Some(seq) => {
                    return self
                        .refuse(
                            push,
                            r,
                            format!(
                                "a confirm for sequence {:?}; the confirm order was {seq}",
                                rep.seq
                            ),
                        )
                        .await;
                }
                None => {
                    return self
                        .refuse(
                            push,
                            r,
                            "a confirm although no confirm order was sent".into(),
                        )
                        .await;
                }
            },
            PushOutcome::Reverted => PushEvent::Reverted {
                reason: revert_reason(rep.reason.as_ref()),
            },
            PushOutcome::Rejected if of_apply => PushEvent::Reject,
            PushOutcome::Rejected => {
                // A confirm or revert order refused: the push stays as it
                // is; the device's own timer still decides.
                let actor = format!("agent:{}", r.device);
                let audit =
                    AuditEntry::new(&push.tenant, now, actor, "order.rejected", target(push))
                        .because(rep.reason.clone().unwrap_or_else(|| "rejected".into()))
                        .once(format!("report-{}", r.msg_id));
                let mut next = push.clone();
                next.reported = Some(now);
                next.detail = rep.detail.clone().or_else(|| rep.reason.clone());
                return Ok(Verdict::Done(
                    match self.commit(push, next, vec![audit]).await? {
                        Some(p) => Followed::Changed(Box::new(p)),
                        None => Followed::Raced,
                    },
                ));
            }
        };
        Ok(Verdict::Event(event))
    }

    /// Records a report's event: the push moves (and is announced by the
    /// caller), or, already settled, only the device's word is logged.
    pub(super) async fn record(
        &self,
        push: &Push,
        r: &ReportIn,
        event: PushEvent,
        now: DateTime<Utc>,
    ) -> Result<Followed, PushError> {
        let rep = &r.report;
        let actor = format!("agent:{}", r.device);
        let unexpected_revert =
            rep.outcome == PushOutcome::Reverted && push.state.is_unexpected_revert();
        let mut audit = AuditEntry::new(
            &push.tenant,
            now,
            actor,
            &format!("push.{}", rep.outcome.as_str()),
            target(push),
        )
        .once(format!("report-{}", r.msg_id));
        if let Some(why) = rep.reason.clone().or_else(|| rep.detail.clone()) {
            audit = audit.because(why);
        }
        match push.state.next(event) {
            Ok(state) if state != push.state => {
                tracing::info!(push = %push.id, from = push.state.name(), to = state.name(),
                    report_age_ms = (self.clock.now() - r.ts).num_milliseconds(), "push report followed");
                audit = audit.change(push.state.name(), state.name());
                let mut next = push.clone();
                next.state = state;
                next.reported = Some(now);
                if rep.detail.is_some() || rep.reason.is_some() {
                    next.detail = rep.detail.clone().or_else(|| rep.reason.clone());
                }
                Ok(match self.commit(push, next, vec![audit]).await? {
                    Some(p) => {
                        if unexpected_revert {
                            self.raise(
                                push,
                                format!(
                                    "push {} reverted by the device after it was recorded {}",
                                    push.id,
                                    push.state.name()
                                ),
                            );
                        }
                        Followed::Changed(Box::new(p))
                    }
                    None => Followed::Raced,
                })
            }
            _ => {
                // Already settled (a report delivered again, or one that
                // arrives after the worker recorded the deadline): keep the
                // state, keep the device's word in the log.
                audit = audit.change(push.state.name(), push.state.name());
                self.store.append_audit(&audit).await?;
                Ok(Followed::Unchanged)
            }
        }
    }
}
