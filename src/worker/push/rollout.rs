//! Rollouts: one configuration to a group of devices, the canary first,
//! then waves, stopping at the first push that fails, is rejected or
//! reverts. Each wave is sent by whoever wins the rollout's
//! compare-and-set, so exactly once.

use super::{CreateRollout, PushError, Pushes, check_body, new_id};
use crate::domain::audit::AuditEntry;
use crate::domain::push::PushQuery;
use crate::domain::push::{Push, PushState, Rollout, RolloutState, RolloutStep};
use crate::domain::{Id, SafeText};
use crate::store::Scope;

/// The most devices one rollout takes.
pub const MAX_ROLLOUT_DEVICES: usize = 5_000;

impl Pushes {
    /// Starts a rollout: the canary's push goes out now.
    pub async fn create_rollout(
        &self,
        tenant: &Id,
        req: CreateRollout,
    ) -> Result<Rollout, PushError> {
        self.key()?;
        let window_s = self.window(req.window_s)?;
        let reason = Self::reason(&req.reason)?;
        check_body(&req.body, self.settings.max_body)?;
        if req.devices.is_empty() {
            return Err(PushError::Invalid(
                "a rollout needs at least one device".into(),
            ));
        }
        if req.devices.len() > MAX_ROLLOUT_DEVICES {
            return Err(PushError::Invalid(format!(
                "devices: {} listed, at most {MAX_ROLLOUT_DEVICES} in one rollout",
                req.devices.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(d) = req.devices.iter().find(|d| !seen.insert(*d)) {
            return Err(PushError::Invalid(format!("device {d} is listed twice")));
        }
        let scope = Scope::Tenant(tenant.clone());
        for d in &req.devices {
            if self.store.device(&scope, d).await?.is_none() {
                return Err(PushError::NotFound(format!(
                    "no device {d} in tenant {tenant}"
                )));
            }
        }
        let now = self.clock.now();
        let actor = Self::actor(req.actor.as_deref());
        let rollout = Rollout {
            tenant: tenant.clone(),
            id: new_id("rollout", now),
            state: RolloutState::Running,
            devices: req.devices,
            wave_size: req
                .wave_size
                .unwrap_or(self.settings.default_wave_size)
                .max(1),
            next_index: 1,
            wave: 0,
            body: req.body,
            reason: reason.clone(),
            actor: actor.clone(),
            window_s,
            created: now,
            updated: now,
            detail: None,
            version: 1,
        };
        let audit = AuditEntry::new(
            tenant,
            now,
            actor,
            "rollout.create",
            format!("rollout/{}", rollout.id),
        )
        .because(reason)
        .change("", &format!("{} devices", rollout.devices.len()));
        self.store.insert_rollout(&rollout, &audit).await?;
        for d in rollout.wave_devices(0).to_vec() {
            self.start_wave_push(&rollout, &d, 0).await;
        }
        Ok(rollout)
    }

    async fn start_wave_push(&self, r: &Rollout, device: &Id, wave: u32) {
        if let Err(e) = self
            .start(
                &r.tenant,
                device,
                r.body.clone(),
                None,
                r.reason.clone(),
                r.actor.clone(),
                r.window_s,
                Some((r.id.clone(), wave)),
            )
            .await
        {
            // The rollout sees no push for this device and waits; the
            // failure is in the log and stops it at the next sweep.
            tracing::warn!(error = %e, rollout = %r.id, device = %device, "rollout push not started");
            let audit = AuditEntry::new(
                &r.tenant,
                self.clock.now(),
                "worker",
                "rollout.push-failed",
                format!("rollout/{}", r.id),
            )
            .because(format!("{device}: {e}"));
            let _ = self.store.append_audit(&audit).await;
        }
    }

    /// Confirms every applied push of a rollout's current wave.
    pub async fn confirm_rollout(
        &self,
        tenant: &Id,
        id: &Id,
        actor: Option<&str>,
    ) -> Result<Vec<Push>, PushError> {
        let rollout = self.rollout(tenant, id).await?;
        let wave = self.wave_pushes(&rollout).await?;
        let applied: Vec<&Push> = wave
            .iter()
            .filter(|p| matches!(p.state, PushState::Applied { .. }))
            .collect();
        if applied.is_empty() {
            return Err(PushError::WrongState(format!(
                "rollout {id} wave {} has no applied push to confirm",
                rollout.wave
            )));
        }
        let mut out = Vec::new();
        for p in applied {
            out.push(self.confirm(tenant, &p.id, actor).await?);
        }
        Ok(out)
    }

    /// One rollout.
    pub async fn rollout(&self, tenant: &Id, id: &Id) -> Result<Rollout, PushError> {
        self.store
            .rollouts(&Scope::Tenant(tenant.clone()), Some(id), false)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| PushError::NotFound(format!("no rollout {id} in tenant {tenant}")))
    }

    async fn wave_pushes(&self, r: &Rollout) -> Result<Vec<Push>, PushError> {
        let all = self
            .store
            .pushes(
                &Scope::Tenant(r.tenant.clone()),
                &PushQuery {
                    rollout: Some(r.id.clone()),
                    limit: 10_000,
                    ..PushQuery::default()
                },
            )
            .await?;
        Ok(all.into_iter().filter(|p| p.wave == r.wave).collect())
    }

    /// Moves every running rollout on by one step where it can.
    pub async fn advance_rollouts(&self) -> Result<(), PushError> {
        for r in self.store.rollouts(&Scope::All, None, true).await? {
            let wave = self.wave_pushes(&r).await?;
            let states: Vec<(Id, PushState)> =
                wave.iter().map(|p| (p.device.clone(), p.state)).collect();
            let now = self.clock.now();
            let mut next = r.clone();
            next.updated = now;
            let target = format!("rollout/{}", r.id);
            let (audit, send) = match r.step(&states) {
                RolloutStep::Wait => continue,
                RolloutStep::Stop { device, outcome } => {
                    next.state = RolloutState::Stopped;
                    let why = format!(
                        "wave {}: {device} {outcome}; {} devices not pushed",
                        r.wave,
                        r.devices.len().saturating_sub(r.next_index as usize)
                    );
                    next.detail = Some(SafeText::from(why.as_str()));
                    let a = AuditEntry::new(&r.tenant, now, "worker", "rollout.stopped", target)
                        .change("running", "stopped")
                        .because(why);
                    (a, Vec::new())
                }
                RolloutStep::Done => {
                    next.state = RolloutState::Done;
                    let a = AuditEntry::new(&r.tenant, now, "worker", "rollout.done", target)
                        .change("running", "done");
                    (a, Vec::new())
                }
                RolloutStep::Send(devices) => {
                    next.wave = r.wave + 1;
                    next.next_index = r.next_index + devices.len() as u32;
                    let a = AuditEntry::new(&r.tenant, now, "worker", "rollout.wave", target)
                        .because(format!("wave {}: {} devices", next.wave, devices.len()));
                    (a, devices)
                }
            };
            // Whoever wins the compare-and-set sends the wave, once.
            if self
                .store
                .update_rollout(&next, r.version, &[audit])
                .await?
            {
                for d in &send {
                    self.start_wave_push(&next, d, next.wave).await;
                }
            }
        }
        Ok(())
    }
}
