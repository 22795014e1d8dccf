//! What the worker does on its timers: the sweep of the state machines
//! and of the pushes, the periodic site rules (on the lease holder),
//! housekeeping, and picking up inventory changes and deleted tenants.

use super::*;

impl Worker {
    /// Evaluates the periodic site, sector and trend rules now, if this
    /// worker holds the lease for them (one worker evaluates them for the
    /// whole fleet), and waits until what they changed is stored.
    pub async fn run_site_rules(&mut self) -> Result<bool, WorkerError> {
        use crate::rules::site::{site_findings, trend_findings};
        self.last_site_rules = Instant::now();
        let cfg = self.cfg.site_rules.clone();
        let now = self.clock.now();
        let every = chrono::Duration::seconds(i64::from(cfg.every_s.max(1)));
        let lease = self
            .store
            .try_lease("site-rules", &self.run_id, now, now + every * 3)
            .await?;
        if !lease {
            return Ok(false);
        }
        self.flush().await?;
        let sites = self.store.sites(&Scope::All).await?;
        let sectors = self.store.sector_health(&Scope::All).await?;
        let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2));
        let recent_since = now - secs(cfg.trend_recent_s);
        let trends = self
            .store
            .signal_trends(
                &Scope::All,
                recent_since - secs(cfg.trend_baseline_s),
                recent_since,
                now,
            )
            .await?;
        let mut findings = site_findings(
            &cfg,
            &sites,
            &sectors,
            &mut self.site_rules.previous_clients,
        );
        findings.extend(trend_findings(&cfg, &trends));
        self.stats
            .rule_evaluations
            .fetch_add(findings.len() as u64, Ordering::Relaxed);
        let changed = self.site_rules.evaluate(&cfg, findings, now);
        if changed.is_empty() {
            return Ok(true);
        }
        let mut changes = Changes::default();
        self.state.apply_site_alerts(changed, now, &mut changes);
        self.begin_write(Prepared::local(changes)).await;
        self.flush().await?;
        Ok(true)
    }

    /// Housekeeping: partitions ahead, retention. Failures are logged and
    /// retried at the next pass.
    pub(super) async fn maintain(&mut self) {
        self.last_maintain = Some(Instant::now());
        match self.store.maintain(self.clock.now()).await {
            Ok(m) => tracing::info!(
                partitions_created = m.partitions_created,
                partitions_dropped = m.partitions_dropped,
                rows_deleted = m.rows_deleted,
                "housekeeping done"
            ),
            Err(e) => {
                self.stats.db_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "housekeeping failed; retrying at the next pass");
            }
        }
    }

    /// Acts on push deadlines and moves rollouts on; raises the alerts the
    /// pushes call for, and waits until they are stored.
    pub async fn sweep_pushes(&mut self) -> Result<(), WorkerError> {
        self.last_push_sweep = Instant::now();
        let offline = {
            let devices: std::collections::HashSet<(crate::domain::Id, crate::domain::Id)> =
                self.state.offline_devices().collect();
            move |t: &crate::domain::Id, d: &crate::domain::Id| {
                devices.contains(&(t.clone(), d.clone()))
            }
        };
        let alerts = match self.pushes.sweep(&offline).await {
            Ok(a) => a,
            Err(push::PushError::Store(e)) => return Err(e.into()),
            Err(push::PushError::Bus(e)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %e, "push sweep");
                Vec::new()
            }
        };
        if alerts.is_empty() {
            return Ok(());
        }
        self.flush().await?;
        let mut changes = Changes::default();
        let now = self.clock.now();
        for a in alerts {
            self.state
                .raise_push_alert(&a.tenant, &a.device, a.summary, now, &mut changes);
        }
        self.begin_write(Prepared::local(changes)).await;
        self.flush().await
    }

    /// Runs the periodic sweep now and waits until its changes are stored.
    pub async fn sweep(&mut self) -> Result<(), WorkerError> {
        self.last_sweep = Instant::now();
        self.flush().await?;
        // Before the state moves: a failure here must not strand the
        // sweep's status changes in memory only.
        if let Err(e) = self.dead_letter_exhausted().await {
            tracing::warn!(error = %e, "given-up messages not dead-lettered yet; retrying at the next sweep");
        }
        self.forget_deleted_tenants().await;
        let mut changes = Changes::default();
        let now = self.clock.now();
        self.state.sweep(now, &mut changes);
        match self.consumer.pending().await {
            Ok(n) => self.stats.consumer_lag.store(n, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "consumer lag unknown"),
        }
        self.begin_write(Prepared::local(changes)).await;
        self.flush().await
    }

    /// Loads devices and links added to the inventory since the state was
    /// built. Returns true when it looked (not more often than
    /// [`INVENTORY_RELOAD`]).
    pub(super) async fn reload_inventory(&mut self) -> bool {
        if self
            .last_inventory_reload
            .is_some_and(|t| t.elapsed() < INVENTORY_RELOAD)
        {
            return false;
        }
        self.last_inventory_reload = Some(Instant::now());
        match load_state(self.store.as_ref(), self.cfg.policy.clone()).await {
            Ok(mut fresh) => {
                let old =
                    std::mem::replace(&mut self.state, FleetState::empty(self.cfg.policy.clone()));
                fresh.adopt(old);
                self.state = fresh;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "inventory not reloaded");
                false
            }
        }
    }

    /// Tenants deleted since the last look (`vigie tenant delete` runs
    /// beside the worker): forgotten, so that none of their messages is
    /// stored again, and whatever was written since the delete removed.
    pub(super) async fn forget_deleted_tenants(&mut self) {
        let live: std::collections::HashSet<crate::domain::Id> = match self.store.tenants().await {
            Ok(t) => t.into_iter().map(|t| t.id).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "tenants not checked");
                return;
            }
        };
        for gone in self.state.tenants().difference(&live) {
            tracing::warn!(tenant = %gone, "tenant deleted: its devices are forgotten and its late rows removed");
            self.state.forget_tenant(gone);
            if let Err(e) = self.store.purge_tenant(gone).await {
                tracing::error!(tenant = %gone, error = %e, "rows of a deleted tenant not removed");
            }
        }
    }
}
