//! Canonical JSON written straight from a typed value.
//!
//! [`crate::journal::canonical_json`] canonicalises a `serde_json::Value`;
//! a record validated from a file or a request is a typed value first, and
//! building a `Value` tree only to sort its keys and print it costs more
//! than the rest of an import row. [`to_canonical_json`] writes the same
//! bytes as `canonical_json(&serde_json::to_value(v)?)` without the tree:
//! each object's members are written as they come and reordered in place
//! when their keys were not already sorted (a repeated key keeps its last
//! value, as `to_value` does). Numbers go through `serde_json::Value`
//! (which allocates nothing for them) and strings through serde_json's own
//! escaping, so the bytes cannot drift from the `Value` form; the tests
//! compare the two on records and on arbitrary JSON.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{self, SerializeMap};
use serde_json::Value;

use crate::journal::canonical_json;

/// The error of [`to_canonical_json`]: what `serde_json::to_value` would
/// refuse (a map key that is not a string or number, a number out of range).
pub type Error = serde_json::Error;

/// The canonical JSON of `v`: the same bytes as
/// `canonical_json(&serde_json::to_value(v)?)`, without the `Value` tree.
pub fn to_canonical_json<T: Serialize + ?Sized>(v: &T) -> Result<String, Error> {
    let mut out = Vec::with_capacity(768);
    write_canonical_json(v, &mut out)?;
    Ok(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// Appends the canonical JSON of `v` to `out` (see [`to_canonical_json`]).
pub fn write_canonical_json<T: Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    let mut scratch = Vec::new();
    v.serialize(Canon {
        out,
        scratch: &mut scratch,
    })
}

/// The serializer: writes into `out`; `scratch` is reused to reorder the
/// members of objects whose keys came unsorted.
struct Canon<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Vec<u8>,
}

impl<'a> Canon<'a> {
    /// A value exactly as its `Value` form prints (rare scalars: i128,
    /// f32, char, bytes).
    fn via_value<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        let v = serde_json::to_value(v)?;
        self.out.extend_from_slice(canonical_json(&v).as_bytes());
        Ok(())
    }

    fn scalar(self, v: Value) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &v)
    }

    fn string(self, s: &str) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, s)
    }

    fn object(self, close: &'static [u8]) -> Object<'a> {
        self.out.push(b'{');
        let start = self.out.len();
        Object {
            out: self.out,
            scratch: self.scratch,
            start,
            members: Vec::with_capacity(32),
            sorted: true,
            pending: None,
            close,
        }
    }

    fn array(self, close: &'static [u8]) -> Array<'a> {
        self.out.push(b'[');
        Array {
            out: self.out,
            scratch: self.scratch,
            first: true,
            close,
        }
    }

    /// `{"variant":` before a variant's content.
    fn variant(self, variant: &str) -> Result<Canon<'a>, Error> {
        self.out.push(b'{');
        serde_json::to_writer(&mut *self.out, variant)?;
        self.out.push(b':');
        Ok(self)
    }
}

/// One member of an object being written: its key and where `"key":value`
/// sits in the output.
struct Member {
    key: Cow<'static, str>,
    start: usize,
    end: usize,
}

/// An object (struct or map) being written.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Vec<u8>,
    /// Offset of the first member (just after `{`).
    start: usize,
    members: Vec<Member>,
    /// Whether the keys so far are strictly increasing.
    sorted: bool,
    /// A map key written, its value not yet: (key, start of the member).
    pending: Option<(Cow<'static, str>, usize)>,
    /// Written after `}`: `}` more for a struct variant.
    close: &'static [u8],
}

impl Object<'_> {
    fn key(&mut self, key: Cow<'static, str>) -> Result<usize, Error> {
        if !self.members.is_empty() {
            self.out.push(b',');
        }
        let start = self.out.len();
        serde_json::to_writer(&mut *self.out, key.as_ref())?;
        self.out.push(b':');
        if let Some(last) = self.members.last() {
            self.sorted &= last.key < key;
        }
        self.pending = Some((key, start));
        Ok(start)
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let (key, start) = self
            .pending
            .take()
            .ok_or_else(|| ser::Error::custom("map value without a key"))?;
        value.serialize(Canon {
            out: self.out,
            scratch: self.scratch,
        })?;
        self.members.push(Member {
            key,
            start,
            end: self.out.len(),
        });
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        if !self.sorted {
            // Reorder in place: copy the members out, write them back sorted
            // by key (bytewise, as `canonical_json` sorts), the last value of
            // a repeated key winning.
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[self.start..]);
            self.out.truncate(self.start);
            let mut order: Vec<usize> = (0..self.members.len()).collect();
            order.sort_by(|&a, &b| self.members[a].key.cmp(&self.members[b].key));
            let mut first = true;
            for (i, &m) in order.iter().enumerate() {
                let member = &self.members[m];
                if order
                    .get(i + 1)
                    .is_some_and(|&n| self.members[n].key == member.key)
                {
                    continue;
                }
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.out.extend_from_slice(
                    &self.scratch[member.start - self.start..member.end - self.start],
                );
            }
        }
        self.out.push(b'}');
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The text a map key becomes, exactly as `serde_json::to_value` makes it.
fn key_text<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    let mut m = ser::Serializer::serialize_map(serde_json::value::Serializer, Some(1))?;
    m.serialize_key(key)?;
    m.serialize_value(&())?;
    match m.end()? {
        Value::Object(o) => Ok(o.into_iter().next().map(|(k, _)| k).unwrap_or_default()),
        _ => Err(ser::Error::custom("a map key did not make an object")),
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let k = key_text(key)?;
        self.key(Cow::Owned(k)).map(drop)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(Cow::Borrowed(key))?;
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(Cow::Borrowed(key))?;
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// An array (sequence, tuple) being written.
struct Array<'a> {
    out: &'a mut Vec<u8>,
    scratch: &'a mut Vec<u8>,
    first: bool,
    /// Written after `]`: `}` more for a tuple variant.
    close: &'static [u8],
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        v.serialize(Canon {
            out: self.out,
            scratch: self.scratch,
        })
    }

    fn finish(self) -> Result<(), Error> {
        self.out.push(b']');
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

macro_rules! array_impl {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Array<'_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.element(v)
            }

            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    };
}

array_impl!(SerializeSeq, serialize_element);
array_impl!(SerializeTuple, serialize_element);
array_impl!(SerializeTupleStruct, serialize_field);
array_impl!(SerializeTupleVariant, serialize_field);

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.via_value(&v)
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(Value::from(v))
    }

    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.via_value(&v)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.via_value(&v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        // Not finite becomes null, as in `Value::from(f64)`.
        self.scalar(Value::from(v))
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.via_value(&v)
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.via_value(v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        let c = self.variant(variant)?;
        v.serialize(Canon {
            out: &mut *c.out,
            scratch: &mut *c.scratch,
        })?;
        c.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, Error> {
        Ok(self.array(b""))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Array<'a>, Error> {
        Ok(self.array(b""))
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Array<'a>, Error> {
        Ok(self.array(b""))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'a>, Error> {
        Ok(self.variant(variant)?.array(b"}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a>, Error> {
        Ok(self.object(b""))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'a>, Error> {
        Ok(self.object(b""))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'a>, Error> {
        Ok(self.variant(variant)?.object(b"}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};

    fn same<T: Serialize>(v: &T) {
        let via_value = canonical_json(&serde_json::to_value(v).unwrap());
        assert_eq!(to_canonical_json(v).unwrap(), via_value);
    }

    #[derive(Serialize)]
    #[allow(dead_code)]
    enum E {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { z: f64, a: Option<String> },
    }

    #[derive(Serialize)]
    struct Inner {
        zeta: Vec<E>,
        alpha: HashMap<u32, bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        mid: (char, f32, i128),
    }

    #[derive(Serialize)]
    #[serde(tag = "type")]
    enum Tagged {
        Point { lon: f64, lat: f64 },
    }

    #[derive(Serialize)]
    struct Outer {
        z: Inner,
        b: Tagged,
        #[serde(flatten)]
        extra: BTreeMap<String, Value>,
        a: f64,
        nan: f64,
        s: &'static str,
        bytes: serde_json::Value,
    }

    #[test]
    fn every_serde_shape_matches_the_value_form() {
        let mut alpha = HashMap::new();
        alpha.insert(10, true);
        alpha.insert(9, false);
        alpha.insert(100, true);
        let mut extra = BTreeMap::new();
        extra.insert(
            "m".to_string(),
            serde_json::json!({"y": [1, {"b": 2, "a": 1}], "x": null}),
        );
        // Same key as a struct field: the last value wins, as in to_value.
        extra.insert("a".to_string(), serde_json::json!("first"));
        same(&Outer {
            z: Inner {
                zeta: vec![
                    E::Unit,
                    E::New(7),
                    E::Tuple(-3, "t\"\n".into()),
                    E::Struct {
                        z: 1e-7,
                        a: Some("Աղդամ – Ağdam 😀".into()),
                    },
                ],
                alpha,
                skipped: None,
                mid: ('é', 0.1, -5),
            },
            b: Tagged::Point {
                lon: 46.75,
                lat: 39.82,
            },
            extra,
            a: 2.5,
            nan: f64::NAN,
            s: "</script>\u{1}",
            bytes: serde_json::json!([1.0, -0.0, 1e300, 12345678901234567890u64, -7]),
        });
    }

    #[test]
    fn an_incident_matches_the_value_form() {
        let v = serde_json::json!({
            "occurred_at": "2026-11-20T23:10:00Z",
            "event_type": "battles",
            "sub_event_type": "armed_clash",
            "location": {"lat": 39.82, "lon": 46.75},
            "notes": "a \"quoted\", line\nbreak é",
            "deaths": {"side_a": 1, "low": 1, "high": 3},
            "source_grading": {"reliability": "C", "credibility": 3},
            "ceasefire_violation": {"kind": "burst", "perception": "seen", "count": 12,
                "direction_deg": 271.5, "attributed_to": "0192e0a0-0000-7000-8000-000000000001"},
            "sources": [{"document": "0192e0a0-0000-7000-8000-00000000000d", "start": 1, "end": 4, "text": "abc"}]
        });
        let i: crate::incident::Incident = serde_json::from_value(v).unwrap();
        same(&i);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_json_matches(v in json_value()) {
            prop_assert_eq!(to_canonical_json(&v).unwrap(), canonical_json(&v));
        }

        #[test]
        fn unsorted_struct_fields_match(a in any::<f64>(), s in ".{0,12}", n in any::<u32>()) {
            #[derive(Serialize)]
            struct S { zz: f64, a: String, m: Option<u32>, b: Vec<Option<u32>> }
            same(&S { zz: a, a: s, m: Some(n), b: vec![None, Some(n)] });
        }
    }
}
