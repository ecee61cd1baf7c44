//! The journal entry format: append-only, hash-chained, canonical.
//!
//! Every change to a mission's record is one entry. Each entry's hash covers
//! the previous entry's hash and a canonical JSON encoding of every field, so
//! changing one byte of any stored entry breaks the chain at that entry and
//! [`ChainVerifier`] names it. Stores decide where entries live; this module
//! decides what they are.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first entry.
pub const GENESIS: Hash = [0; 32];

/// What an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    /// A record came into being.
    Create,
    /// A record changed; the payload is its new state.
    Update,
    /// A record was withdrawn; it stays readable in the journal.
    Retract,
    /// A restricted record was read (audit).
    Read,
    /// A user signed in.
    Login,
    /// An account or credential was disabled or revoked.
    Revoke,
}

impl Op {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Retract => "retract",
            Op::Read => "read",
            Op::Login => "login",
            Op::Revoke => "revoke",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Op> {
        [
            Op::Create,
            Op::Update,
            Op::Retract,
            Op::Read,
            Op::Login,
            Op::Revoke,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// One journal entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JournalEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// Globally unique id (UUID v7), stable across replication.
    pub entry_id: Uuid,
    /// Entity kind, e.g. `incident`, `user`.
    pub entity: String,
    /// The entity's id.
    pub entity_id: Uuid,
    /// What happened.
    pub op: Op,
    /// Canonical JSON of the new state or of the event's details.
    pub payload: String,
    /// Who did it (user name, or `system`).
    pub actor: String,
    /// When the store accepted it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Why, as the actor said.
    pub reason: Option<String>,
    /// The client's idempotency key, when it sent one.
    pub idempotency_key: Option<String>,
    /// Hash of the previous entry, hex.
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub prev_hash: Hash,
    /// SHA-256(prev_hash || canonical entry), hex.
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
}

impl JournalEntry {
    /// The bytes the hash covers after `prev_hash`: canonical JSON of every
    /// field but the two hashes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // The canonical JSON of {"seq", "entry_id", "entity", "entity_id",
        // "op", "payload", "actor", "at", "reason", "idempotency_key"},
        // written directly with its keys in sorted order: no temporary
        // object and no copy of the payload (same bytes as building the
        // object and canonicalising it; see the test).
        let mut out = Vec::with_capacity(self.payload.len() + 320);
        out.extend_from_slice(b"{\"actor\":");
        write_scalar(&mut out, &self.actor);
        out.extend_from_slice(b",\"at\":");
        write_scalar(&mut out, &self.at.to_string());
        out.extend_from_slice(b",\"entity\":");
        write_scalar(&mut out, &self.entity);
        out.extend_from_slice(b",\"entity_id\":");
        write_scalar(&mut out, &self.entity_id.to_string());
        out.extend_from_slice(b",\"entry_id\":");
        write_scalar(&mut out, &self.entry_id.to_string());
        out.extend_from_slice(b",\"idempotency_key\":");
        write_scalar(&mut out, &self.idempotency_key);
        out.extend_from_slice(b",\"op\":");
        write_scalar(&mut out, self.op.as_str());
        out.extend_from_slice(b",\"payload\":");
        write_scalar(&mut out, &self.payload);
        out.extend_from_slice(b",\"reason\":");
        write_scalar(&mut out, &self.reason);
        out.extend_from_slice(b",\"seq\":");
        write_scalar(&mut out, &self.seq);
        out.push(b'}');
        out
    }

    /// The hash this entry must carry, given its `prev_hash`.
    pub fn compute_hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(self.prev_hash);
        h.update(self.canonical_bytes());
        h.finalize().into()
    }

    /// Fills `hash` from the other fields; stores call this when appending.
    pub fn seal(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }

    /// The payload parsed back to JSON.
    pub fn payload_json(&self) -> Option<Value> {
        serde_json::from_str(&self.payload).ok()
    }
}

/// The newest entry's position and hash: what a bulletin or a backup names
/// to say which state of the record it reflects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Head {
    /// Sequence of the newest entry (0 when empty).
    pub seq: u64,
    /// Its hash (all zero when empty).
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub hash: Hash,
}

impl Head {
    /// The head of an empty journal.
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: GENESIS,
    };
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("journal entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The first entry that does not match.
    pub seq: u64,
    /// What does not match.
    pub reason: String,
}

/// Walks entries in order and reports the first that does not match.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    head: Head,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { head: Head::EMPTY }
    }
}

impl ChainVerifier {
    /// A verifier that continues a chain whose last verified entry is `head`
    /// (replication appends to an existing journal).
    pub fn from_head(head: Head) -> Self {
        Self { head }
    }

    /// Checks the next entry against everything seen so far.
    pub fn check(&mut self, e: &JournalEntry) -> Result<(), ChainBreak> {
        let expected = self.head.seq + 1;
        let brk = |reason: String| ChainBreak { seq: e.seq, reason };
        if e.seq != expected {
            return Err(brk(format!(
                "expected sequence {expected}, found {}",
                e.seq
            )));
        }
        if e.prev_hash != self.head.hash {
            return Err(brk(
                "prev_hash does not match the hash of the entry before".into()
            ));
        }
        if e.compute_hash() != e.hash {
            return Err(brk("content does not match its hash (altered)".into()));
        }
        self.head = Head {
            seq: e.seq,
            hash: e.hash,
        };
        Ok(())
    }

    /// The last verified head.
    pub fn head(&self) -> Head {
        self.head
    }
}

/// JSON with object keys sorted and no insignificant whitespace, so the same
/// value always gives the same bytes, whatever map order serde_json was built with.
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(out, k);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        other => write_scalar(out, other),
    }
}

/// Appends the compact JSON of a string or scalar without a temporary
/// String per value (the same bytes `to_string` gives).
fn write_scalar<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    serde_json::to_writer(out, v).expect("JSON of a string or scalar");
}

/// Hex (de)serialisation of hashes.
pub mod hex_hash {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes lowercase hex.
    pub fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    /// Reads 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(D::Error::custom)?;
        v.try_into()
            .map_err(|_| D::Error::custom("hash must be 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored canonical JSON is parsed again by `truce verify`; a float that
    /// does not survive parse + print would make an untouched record look
    /// altered. 39.800000000000004 is a coordinate the demo produced.
    #[test]
    fn canonical_json_round_trips_floats_exactly() {
        for text in [
            "39.800000000000004",
            "46.800000000000004",
            "0.1",
            "1e-7",
            "123456.789012345",
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            let exact: f64 = text.parse().unwrap();
            assert_eq!(v.as_f64(), Some(exact), "{text} parsed inexactly");
            let again: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
            assert_eq!(again, v, "{text} changed after a round trip");
        }
    }

    /// The object form `canonical_bytes` replaced; hashes must not change.
    fn canonical_bytes_via_object(e: &JournalEntry) -> Vec<u8> {
        let v = serde_json::json!({
            "seq": e.seq,
            "entry_id": e.entry_id.to_string(),
            "entity": e.entity,
            "entity_id": e.entity_id.to_string(),
            "op": e.op.as_str(),
            "payload": e.payload,
            "actor": e.actor,
            "at": e.at.to_string(),
            "reason": e.reason,
            "idempotency_key": e.idempotency_key,
        });
        canonical_json(&v).into_bytes()
    }

    #[test]
    fn canonical_bytes_match_the_object_form() {
        let mut e = entry(u64::MAX, GENESIS, r#"{"data":{"t":"é\"\\\n\u0001"},"x":1}"#);
        e.actor = "Ани \"q\"".into();
        e.entry_id = Uuid::now_v7();
        for (reason, key) in [
            (None, None),
            (
                Some("import /tmp/a \"b\".csv".to_string()),
                Some("k\u{7f}😀".to_string()),
            ),
        ] {
            e.reason = reason;
            e.idempotency_key = key;
            for op in [Op::Create, Op::Retract, Op::Read] {
                e.op = op;
                assert_eq!(
                    String::from_utf8(e.canonical_bytes()).unwrap(),
                    String::from_utf8(canonical_bytes_via_object(&e)).unwrap()
                );
            }
        }
    }

    fn entry(seq: u64, prev: Hash, payload: &str) -> JournalEntry {
        JournalEntry {
            seq,
            entry_id: Uuid::nil(),
            entity: "incident".into(),
            entity_id: Uuid::nil(),
            op: Op::Create,
            payload: payload.into(),
            actor: "obs1".into(),
            at: "2026-11-21T10:00:00Z".parse().unwrap(),
            reason: None,
            idempotency_key: None,
            prev_hash: prev,
            hash: GENESIS,
        }
        .seal()
    }

    #[test]
    fn chain_verifies_and_names_the_altered_entry() {
        let a = entry(1, GENESIS, "{}");
        let b = entry(2, a.hash, r#"{"x":1}"#);
        let c = entry(3, b.hash, r#"{"x":2}"#);
        let mut v = ChainVerifier::default();
        for e in [&a, &b, &c] {
            v.check(e).unwrap();
        }
        let mut b2 = b.clone();
        b2.payload = r#"{"x":9}"#.into();
        let mut v = ChainVerifier::default();
        v.check(&a).unwrap();
        assert_eq!(v.check(&b2).unwrap_err().seq, 2);
    }

    /// The first implementation, kept as the reference: stored hashes
    /// depend on these exact bytes.
    fn reference_canonical(v: &Value) -> String {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let parts: Vec<String> = keys
                    .into_iter()
                    .map(|k| {
                        format!(
                            "{}:{}",
                            Value::String(k.clone()),
                            reference_canonical(&m[k])
                        )
                    })
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
            Value::Array(a) => {
                let parts: Vec<String> = a.iter().map(reference_canonical).collect();
                format!("[{}]", parts.join(","))
            }
            other => other.to_string(),
        }
    }

    #[test]
    fn canonical_json_bytes_are_unchanged() {
        let v: Value = serde_json::from_str(
            r#"{"z":"q\"uote\\ tab\t nl\n é \u0001 \ud83d\ude00","a":[1.5,-0,1e300,12345678901234567890,-7,true,false,null,{}],"m":{"b":[],"a":{"x":"</script>"}},"":0}"#,
        )
        .unwrap();
        assert_eq!(canonical_json(&v), reference_canonical(&v));
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":null}}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }
}
