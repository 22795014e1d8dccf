//! The simulated fleet's agents: they answer signed orders by the same
//! protocol as `vigie agent` (the same checks, backup, local revert timer,
//! reports), and behave like a real fleet: a few refuse a configuration,
//! a few drop off the network right after applying one (their reports
//! come when they are back).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::Simulator;
use crate::bus::envelope::Envelope;
use crate::domain::telemetry::{PushOutcome, PushReport, Telemetry};
use crate::domain::{Id, SafeText};
use crate::orders::{OrderKind, SignedOrder, TrustedKeys, verify};

/// Out of 100 pushes, how many fail to apply.
const FAIL_PCT: u64 = 8;
/// Out of 100 pushes, how many leave the device unreachable.
const UNREACHABLE_PCT: u64 = 5;

#[derive(Debug, Default)]
struct AgentSim {
    last_seq: Option<u64>,
    pending: Option<Pending>,
    /// Apply orders accepted so far.
    applies: u32,
}

#[derive(Debug, Clone)]
struct Pending {
    push: Id,
    seq: u64,
    deadline: DateTime<Utc>,
    backup: String,
}

/// Every simulated agent.
pub struct SimAgents {
    trusted: TrustedKeys,
    agents: HashMap<usize, AgentSim>,
    /// Reports of devices that are down, sent once they are back.
    held: Vec<(usize, DateTime<Utc>, PushReport)>,
}

/// What a simulated device does with a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// Refuses it (a syntax error).
    Fail,
    /// Applies it, then drops off the network.
    Unreachable,
}

/// What `device` does with the `nth` configuration pushed to it (0: the
/// first): the same in every run, so that a demo can be replayed.
pub fn behaviour(device: &Id, nth: u32) -> Behaviour {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in device.as_str().bytes().chain(nth.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    match h % 100 {
        n if n < FAIL_PCT => Behaviour::Fail,
        n if n < FAIL_PCT + UNREACHABLE_PCT => Behaviour::Unreachable,
        _ => Behaviour::Accept,
    }
}

fn report(push: &Id, seq: u64, outcome: PushOutcome, reason: Option<&str>) -> PushReport {
    PushReport {
        push: Some(push.clone()),
        seq: Some(seq),
        outcome,
        reason: reason.map(SafeText::from),
        deadline: None,
        detail: None,
    }
}

impl SimAgents {
    /// Agents that accept orders signed by these keys.
    pub fn new(trusted: TrustedKeys) -> Self {
        Self {
            trusted,
            agents: HashMap::new(),
            held: Vec::new(),
        }
    }

    fn say(
        &mut self,
        sim: &mut Simulator,
        i: usize,
        now: DateTime<Utc>,
        r: PushReport,
        out: &mut Vec<Envelope>,
    ) {
        if sim.is_down(i, now) {
            self.held.push((i, now, r));
        } else {
            out.push(sim.message(i, now, Telemetry::Push(r)));
        }
    }

    /// Answers one order published on `subject`.
    pub fn on_order(
        &mut self,
        sim: &mut Simulator,
        subject: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Vec<Envelope> {
        let mut out = Vec::new();
        let mut tokens = subject.split('.').skip(2);
        let (Some(t), Some(d)) = (tokens.next(), tokens.next()) else {
            return out;
        };
        let (Ok(tenant), Ok(device)) = (Id::parse(t), Id::parse(d)) else {
            return out;
        };
        let Some(i) = sim.index_of(&tenant, &device) else {
            return out;
        };
        if sim.is_down(i, now) {
            // Unreachable: the order is lost to it, as on a real network
            // (it expires; the worker records that).
            return out;
        }
        let Ok(signed) = serde_json::from_slice::<SignedOrder>(payload) else {
            let r = PushReport {
                push: None,
                seq: None,
                outcome: PushOutcome::Rejected,
                reason: Some(SafeText::from("malformed")),
                deadline: None,
                detail: None,
            };
            self.say(sim, i, now, r, &mut out);
            return out;
        };
        let agent = self.agents.entry(i).or_default();
        let order = match verify(
            &signed,
            &self.trusted,
            &tenant,
            &device,
            agent.last_seq,
            now,
        ) {
            Ok(o) => o.clone(),
            Err(rej) => {
                let o = &signed.order;
                let mut r = report(&o.push, o.seq, PushOutcome::Rejected, Some(rej.reason()));
                r.detail = Some(SafeText::from(rej.to_string()));
                self.say(sim, i, now, r, &mut out);
                return out;
            }
        };
        agent.last_seq = Some(order.seq);
        let pending = agent.pending.clone();
        match order.kind {
            OrderKind::Apply if pending.is_some() => {
                let r = report(&order.push, order.seq, PushOutcome::Rejected, Some("busy"));
                self.say(sim, i, now, r, &mut out);
            }
            OrderKind::Apply => self.apply(sim, i, &device, &order, now, &mut out),
            OrderKind::Confirm | OrderKind::Revert => {
                let Some(p) = pending.filter(|p| p.push == order.push) else {
                    let r = report(
                        &order.push,
                        order.seq,
                        PushOutcome::Rejected,
                        Some("not-pending"),
                    );
                    self.say(sim, i, now, r, &mut out);
                    return out;
                };
                if let Some(a) = self.agents.get_mut(&i) {
                    a.pending = None;
                }
                let r = if order.kind == OrderKind::Confirm {
                    report(&p.push, order.seq, PushOutcome::Confirmed, None)
                } else {
                    sim.set_config(i, p.backup);
                    report(&p.push, p.seq, PushOutcome::Reverted, Some("manual"))
                };
                self.say(sim, i, now, r, &mut out);
                out.push(sim.config_snapshot(i, now));
            }
        }
        out
    }

    /// An apply order: the device fails, applies (and keeps a backup and
    /// its window), or applies and cuts itself off, as its behaviour says.
    fn apply(
        &mut self,
        sim: &mut Simulator,
        i: usize,
        device: &Id,
        order: &crate::orders::Order,
        now: DateTime<Utc>,
        out: &mut Vec<Envelope>,
    ) {
        let nth = self.agents.get(&i).map_or(0, |a| a.applies);
        if let Some(a) = self.agents.get_mut(&i) {
            a.applies += 1;
        }
        let will = behaviour(device, nth);
        if will == Behaviour::Fail {
            let mut r = report(
                &order.push,
                order.seq,
                PushOutcome::Failed,
                Some("apply-failed"),
            );
            r.detail = Some(SafeText::from("line 2: syntax error near unexpected token"));
            self.say(sim, i, now, r, out);
            return;
        }
        let deadline = now + Duration::seconds(i64::from(order.window_s));
        let backup = sim.config(i);
        sim.set_config(i, order.body.clone());
        if let Some(a) = self.agents.get_mut(&i) {
            a.pending = Some(Pending {
                push: order.push.clone(),
                seq: order.seq,
                deadline,
                backup,
            });
        }
        let mut r = report(&order.push, order.seq, PushOutcome::Applied, None);
        r.deadline = Some(deadline);
        self.say(sim, i, now, r, out);
        out.push(sim.config_snapshot(i, now));
        if will == Behaviour::Unreachable {
            // The new configuration cut it off; it comes back (with
            // the old one) well after its window.
            sim.take_down(i, deadline + Duration::minutes(20));
        }
    }

    /// Local revert timers, and reports held while devices were down.
    pub fn tick(&mut self, sim: &mut Simulator, now: DateTime<Utc>) -> Vec<Envelope> {
        let mut out = Vec::new();
        let due: Vec<(usize, Pending)> = self
            .agents
            .iter_mut()
            .filter_map(|(i, a)| {
                if a.pending.as_ref().is_some_and(|p| now >= p.deadline) {
                    a.pending.take().map(|p| (*i, p))
                } else {
                    None
                }
            })
            .collect();
        for (i, p) in due {
            sim.set_config(i, p.backup);
            let r = report(&p.push, p.seq, PushOutcome::Reverted, Some("timeout"));
            self.say(sim, i, now, r, &mut out);
        }
        let (back, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|(i, _, _)| !sim.is_down(*i, now));
        self.held = still;
        for (i, at, r) in back {
            out.push(sim.message(i, at, Telemetry::Push(r)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::{Order, SigningKey};

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn setup() -> (Simulator, SimAgents, SigningKey) {
        let key = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut trusted = TrustedKeys::default();
        trusted
            .add_base64(&key.public_base64())
            .unwrap_or_else(|e| panic!("{e}"));
        let sim = Simulator::new(
            &super::super::SimConfig::default(),
            super::super::plan(3, 80),
            t0(),
        );
        (sim, SimAgents::new(trusted), key)
    }

    fn order(
        sim: &Simulator,
        i: usize,
        push: &str,
        seq: u64,
        kind: OrderKind,
        key: &SigningKey,
    ) -> (String, Vec<u8>) {
        let d = &sim.inventory().devices[i];
        let o = Order {
            tenant: d.tenant.clone(),
            device: d.id.clone(),
            push: Id::parse(push).unwrap_or_else(|e| panic!("{e}")),
            seq,
            expires: t0() + Duration::minutes(2),
            kind,
            window_s: 60,
            body: "new config\n".into(),
        };
        let subject = crate::bus::subject::order(&d.tenant, &d.id);
        (
            subject,
            serde_json::to_vec(&o.sign(key)).unwrap_or_default(),
        )
    }

    fn outcomes(out: &[Envelope]) -> Vec<&'static str> {
        out.iter()
            .filter_map(|e| match &e.body {
                Telemetry::Push(r) => Some(r.outcome.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The first device at or after `from` whose first push does `b`.
    fn device_that(sim: &Simulator, from: usize, b: Behaviour) -> usize {
        (from..sim.inventory().devices.len())
            .find(|&i| behaviour(&sim.inventory().devices[i].id, 0) == b)
            .unwrap_or_else(|| panic!("no device does {b:?}"))
    }

    #[test]
    fn apply_confirm_timeout_failure_and_unreachable() {
        let (mut sim, mut agents, key) = setup();
        let a = device_that(&sim, 0, Behaviour::Accept);
        let (s, b) = order(&sim, a, "push-1", 1, OrderKind::Apply, &key);
        let out = agents.on_order(&mut sim, &s, &b, t0());
        assert_eq!(outcomes(&out), ["applied"]);
        assert_eq!(sim.config(a), "new config\n");
        let (s, b) = order(&sim, a, "push-1", 2, OrderKind::Confirm, &key);
        assert_eq!(
            outcomes(&agents.on_order(&mut sim, &s, &b, t0())),
            ["confirmed"]
        );
        // Replayed: refused.
        assert_eq!(
            outcomes(&agents.on_order(&mut sim, &s, &b, t0())),
            ["rejected"]
        );

        // Applied, no confirm, reverted by its own timer.
        let r = device_that(&sim, a + 1, Behaviour::Accept);
        let before = sim.config(r);
        let (s, b) = order(&sim, r, "push-2", 1, OrderKind::Apply, &key);
        agents.on_order(&mut sim, &s, &b, t0());
        assert!(outcomes(&agents.tick(&mut sim, t0() + Duration::seconds(59))).is_empty());
        assert_eq!(
            outcomes(&agents.tick(&mut sim, t0() + Duration::seconds(60))),
            ["reverted"]
        );
        assert_eq!(sim.config(r), before);

        // The configuration is refused.
        let f = device_that(&sim, 0, Behaviour::Fail);
        let (s, b) = order(&sim, f, "push-3", 1, OrderKind::Apply, &key);
        assert_eq!(
            outcomes(&agents.on_order(&mut sim, &s, &b, t0())),
            ["failed"]
        );

        // Applied, then unreachable; its revert is reported when it is back.
        let u = device_that(&sim, 0, Behaviour::Unreachable);
        let (s, b) = order(&sim, u, "push-4", 1, OrderKind::Apply, &key);
        assert_eq!(
            outcomes(&agents.on_order(&mut sim, &s, &b, t0())),
            ["applied"]
        );
        assert!(sim.is_down(u, t0() + Duration::seconds(1)));
        assert!(outcomes(&agents.tick(&mut sim, t0() + Duration::seconds(61))).is_empty());
        let back = t0() + Duration::minutes(22);
        assert_eq!(outcomes(&agents.tick(&mut sim, back)), ["reverted"]);

        // A forged order is refused.
        let other = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let (s, b) = order(&sim, a, "push-5", 9, OrderKind::Apply, &other);
        assert_eq!(
            outcomes(&agents.on_order(&mut sim, &s, &b, t0())),
            ["rejected"]
        );
    }
}
