//! The one-pass decoder for well-formed messages.
//!
//! Almost every message is valid, so it pays to decode those in one pass:
//! the body is read straight into its typed struct as soon as `kind` is
//! known (our own encoder writes `kind` before `body`; a body that comes
//! first is kept raw and decoded after). Anything this path does not accept
//! goes to the careful decoder, which explains exactly what is wrong.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::{Envelope, MsgId, VERSION};
use crate::domain::Id;
use crate::domain::telemetry::{Kind, Telemetry};

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    V,
    Id,
    Ts,
    Tenant,
    Device,
    Kind,
    Body,
}

struct BodySeed(Kind);

impl<'de> DeserializeSeed<'de> for BodySeed {
    type Value = Telemetry;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Telemetry, D::Error> {
        Ok(match self.0 {
            Kind::Heartbeat => Telemetry::Heartbeat(Deserialize::deserialize(d)?),
            Kind::Metrics => Telemetry::Metrics(Deserialize::deserialize(d)?),
            Kind::Signal => Telemetry::Signal(Deserialize::deserialize(d)?),
            Kind::Interfaces => Telemetry::Interfaces(Deserialize::deserialize(d)?),
            Kind::Registrations => Telemetry::Registrations(Deserialize::deserialize(d)?),
            Kind::Config => Telemetry::Config(Deserialize::deserialize(d)?),
            Kind::Log => Telemetry::Log(Deserialize::deserialize(d)?),
            Kind::Push => Telemetry::Push(Deserialize::deserialize(d)?),
        })
    }
}

struct Fast(Envelope);

struct FastVisitor;

fn set<T, E: serde::de::Error>(slot: &mut Option<T>, v: T, name: &'static str) -> Result<(), E> {
    if slot.replace(v).is_some() {
        return Err(E::duplicate_field(name));
    }
    Ok(())
}

impl<'de> Visitor<'de> for FastVisitor {
    type Value = Fast;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a vigie envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast, A::Error> {
        let mut v: Option<u64> = None;
        let mut id: Option<MsgId> = None;
        let mut ts: Option<DateTime<Utc>> = None;
        let mut tenant: Option<Id> = None;
        let mut device: Option<Id> = None;
        let mut kind: Option<Kind> = None;
        let mut body: Option<Telemetry> = None;
        let mut raw: Option<&'de RawValue> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::V => set(&mut v, map.next_value()?, "v")?,
                Field::Id => set(&mut id, map.next_value()?, "id")?,
                Field::Ts => set(&mut ts, map.next_value()?, "ts")?,
                Field::Tenant => set(&mut tenant, map.next_value()?, "tenant")?,
                Field::Device => set(&mut device, map.next_value()?, "device")?,
                Field::Kind => {
                    let name: Cow<'de, str> = map.next_value()?;
                    let k = Kind::parse(&name).ok_or_else(|| A::Error::custom("unknown kind"))?;
                    set(&mut kind, k, "kind")?;
                }
                Field::Body => match kind {
                    Some(k) if body.is_none() && raw.is_none() => {
                        body = Some(map.next_value_seed(BodySeed(k))?)
                    }
                    _ => set(&mut raw, map.next_value()?, "body")?,
                },
            }
        }
        if v != Some(VERSION) {
            return Err(A::Error::custom("version"));
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
        let body = match (body, raw) {
            (Some(b), None) => b,
            (None, Some(r)) => {
                let mut de = serde_json::Deserializer::from_str(r.get());
                BodySeed(kind)
                    .deserialize(&mut de)
                    .map_err(A::Error::custom)?
            }
            _ => return Err(A::Error::missing_field("body")),
        };
        Ok(Fast(Envelope {
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            ts: ts.ok_or_else(|| A::Error::missing_field("ts"))?,
            tenant: tenant.ok_or_else(|| A::Error::missing_field("tenant"))?,
            device: device.ok_or_else(|| A::Error::missing_field("device"))?,
            body,
        }))
    }
}

impl<'de> Deserialize<'de> for Fast {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FastVisitor)
    }
}

/// The envelope when `text` is a fully valid message; `None` otherwise.
pub(super) fn decode(text: &str) -> Option<Envelope> {
    let mut de = serde_json::Deserializer::from_str(text);
    let Fast(env) = Fast::deserialize(&mut de).ok()?;
    de.end().ok()?;
    env.body.validate().ok()?;
    Some(env)
}
