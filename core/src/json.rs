//! The model interchange JSON, parsed with serde-json-core into caller-owned buffers.
//!
//! Layout (see `tests/fixtures/README.md`): `partition[i]`, `bias[i]`,
//! `edges: [[i, j, W_ij], ...]`, optional `qubits[i]` and `zephyr: {m, t}`; other fields are
//! ignored. Units must be ordered by partition (the layout [`crate::model`] requires).
//!
//! Parsing is separate from building: [`parse_model`] checks syntax, shapes, capacities and
//! finiteness and fills [`ModelBuffers`]; [`ParsedModel::sizes`] and the edge buffer then feed
//! [`crate::Model::from_edges`], which checks the graph (ranges, partitions, duplicates).
//! Nothing is ever read past a buffer: a full buffer is a [`ParseError::Capacity`] naming the
//! field.

use crate::model::MAX_PARTITIONS;
use core::cell::Cell;
use core::fmt;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One edge as read: unit indices and weight.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Edge {
    /// First unit.
    pub i: usize,
    /// Second unit.
    pub j: usize,
    /// W_ij.
    pub w: f64,
}

/// Caller-owned buffers the parser fills.
#[derive(Debug)]
pub struct ModelBuffers<'a> {
    /// `partition[i]`.
    pub partition: &'a mut [u8],
    /// `bias[i]`.
    pub bias: &'a mut [f64],
    /// `qubits[i]` (optional in the file).
    pub qubits: &'a mut [u32],
    /// `edges`.
    pub edges: &'a mut [Edge],
}

/// What the parser found (the values are in the buffers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedModel {
    /// Number of units.
    pub units: usize,
    /// Number of edges.
    pub edges: usize,
    /// True when `qubits` was given.
    pub has_qubits: bool,
    /// `zephyr: {m, t}` when given.
    pub zephyr: Option<(u32, u32)>,
    /// Units per partition; partitions past the last used one are 0.
    pub sizes: [usize; MAX_PARTITIONS],
    /// Number of partitions (highest label + 1).
    pub partitions: usize,
}

impl ParsedModel {
    /// Sizes of the partitions in use.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes[..self.partitions]
    }
}

/// Why a model file was refused. Every variant names the field.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum ParseError {
    /// Not valid JSON, or a value of the wrong type (`field`/`index`: where, when known).
    Syntax {
        /// serde-json-core's error.
        error: serde_json_core::de::Error,
        /// The field being read.
        field: Option<&'static str>,
        /// The element being read.
        index: Option<usize>,
    },
    /// NaN or an infinite number (including overflowing literals such as 1e999).
    NonFinite {
        /// Field.
        field: &'static str,
        /// Element.
        index: usize,
    },
    /// A required field is missing.
    Missing(&'static str),
    /// More elements than the buffer holds.
    Capacity {
        /// Field.
        field: &'static str,
        /// Elements the buffer holds.
        capacity: usize,
    },
    /// Two per-unit arrays of different lengths.
    Length {
        /// Field.
        field: &'static str,
        /// Length of `partition`.
        expected: usize,
        /// Its length.
        found: usize,
    },
    /// A partition label that is not an integer from 0 to 7.
    Partition {
        /// Unit.
        index: usize,
        /// Its label as written.
        value: f64,
    },
    /// Units not ordered by partition.
    Unsorted {
        /// First unit whose partition is lower than its predecessor's.
        index: usize,
    },
    /// A negative unit index in an edge.
    NegativeIndex {
        /// Edge.
        edge: usize,
    },
    /// Arrays and objects nested deeper than [`MAX_DEPTH`]; refused before parsing, since
    /// the parser recurses once per level (a deep file would overflow the stack).
    TooDeep {
        /// Byte offset of the bracket that goes one level too deep.
        offset: usize,
    },
}

/// Deepest nesting of arrays and objects a model file may have (its layout needs 3; the rest
/// is room for ignored fields), small enough for a microcontroller's stack.
pub const MAX_DEPTH: usize = 16;

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Syntax { error, field, index } => {
                f.write_str("invalid JSON")?;
                match (field, index) {
                    // The separator after an element is read with the next index set: the
                    // element before it is where the text went wrong (`[1.5]` as a label).
                    (Some(field), Some(i)) if i > 0 && error == serde_json_core::de::Error::ExpectedListCommaOrEnd => {
                        write!(f, " after `{field}[{}]`", i - 1)?
                    }
                    (Some(field), Some(i)) => write!(f, " in `{field}[{i}]`")?,
                    (Some(field), None) => write!(f, " in `{field}`")?,
                    _ => {}
                }
                write!(f, ": ")?;
                describe(error, f)
            }
            Self::NonFinite { field, index } => write!(f, "`{field}[{index}]` is NaN or infinite"),
            Self::Missing(field) => write!(f, "required field `{field}` is missing"),
            Self::Capacity { field, capacity } => {
                write!(f, "capacity exceeded: `{field}` has more than {capacity} entries")
            }
            Self::Length { field, expected, found } => {
                write!(f, "`{field}` has {found} entries but `partition` has {expected}")
            }
            Self::Partition { index, value } => {
                write!(f, "`partition[{index}]` = {value}: labels are integers from 0 to {}", MAX_PARTITIONS - 1)
            }
            Self::Unsorted { index } => {
                write!(f, "`partition[{index}]` is lower than the unit before it: units must be ordered by partition")
            }
            Self::NegativeIndex { edge } => write!(f, "`edges[{edge}]` has a negative unit index"),
            Self::TooDeep { offset } => {
                write!(f, "arrays and objects nested more than {MAX_DEPTH} deep (at byte {offset})")
            }
        }
    }
}

/// serde-json-core's error in our words (its own texts have typos, "ora").
fn describe(error: serde_json_core::de::Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    use serde_json_core::de::Error as E;
    f.write_str(match error {
        E::EofWhileParsingList => "the file ends inside an array",
        E::EofWhileParsingObject => "the file ends inside an object",
        E::EofWhileParsingString => "the file ends inside a string",
        E::EofWhileParsingNumber => "the file ends inside a number",
        E::EofWhileParsingValue => "the file ends where a value should be",
        E::ExpectedColon => "expected `:`",
        E::ExpectedListCommaOrEnd => "expected `,` or `]`",
        E::ExpectedObjectCommaOrEnd => "expected `,` or `}`",
        E::ExpectedSomeIdent => "expected `true`, `false` or `null`",
        E::ExpectedSomeValue => "expected a value",
        E::InvalidNumber => "not a number of the expected kind",
        E::InvalidType => "a value of the wrong type",
        E::InvalidUnicodeCodePoint => "an invalid Unicode code point",
        E::InvalidEscapeSequence => "an invalid escape sequence",
        E::EscapedStringIsTooLong => "a string too long to unescape",
        E::KeyMustBeAString => "an object key that is not a string",
        E::TrailingCharacters => "more text after the end of the model",
        E::TrailingComma => "a comma after the last element",
        other => return write!(f, "{other}"),
    })
}

impl core::error::Error for ParseError {}

/// Where the parser is, so that an error can say so.
#[derive(Default)]
struct Cursor {
    field: Cell<Option<&'static str>>,
    index: Cell<Option<usize>>,
    found: Cell<Option<ParseError>>,
}

impl Cursor {
    fn fail<E: de::Error>(&self, e: ParseError) -> E {
        self.found.set(Some(e));
        E::custom("see ParseError")
    }
}

/// One array field read into a slice.
struct Slice<'c, 'b, T> {
    cursor: &'c Cursor,
    field: &'static str,
    out: &'b mut [T],
}

/// Converts what was read into the stored element, or refuses it.
trait Element: Sized + Copy {
    type Read: for<'de> de::Deserialize<'de>;
    fn convert(read: Self::Read, field: &'static str, index: usize) -> Result<Self, ParseError>;
}

impl Element for u8 {
    // Read as a number of any kind, so that `1.5` or `-1` is named as the label it is.
    type Read = f64;
    fn convert(v: f64, _: &'static str, index: usize) -> Result<Self, ParseError> {
        if v >= 0.0 && v < MAX_PARTITIONS as f64 && v == libm::floor(v) {
            Ok(v as u8)
        } else {
            Err(ParseError::Partition { index, value: v })
        }
    }
}

impl Element for u32 {
    type Read = u32;
    fn convert(v: u32, _: &'static str, _: usize) -> Result<Self, ParseError> {
        Ok(v)
    }
}

impl Element for f64 {
    type Read = f64;
    fn convert(v: f64, field: &'static str, index: usize) -> Result<Self, ParseError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(ParseError::NonFinite { field, index })
        }
    }
}

impl Element for Edge {
    type Read = (i64, i64, f64);
    fn convert((i, j, w): (i64, i64, f64), field: &'static str, index: usize) -> Result<Self, ParseError> {
        if i < 0 || j < 0 {
            return Err(ParseError::NegativeIndex { edge: index });
        }
        if !w.is_finite() {
            return Err(ParseError::NonFinite { field, index });
        }
        Ok(Edge { i: i as usize, j: j as usize, w })
    }
}

impl<'de, T: Element> DeserializeSeed<'de> for Slice<'_, '_, T> {
    type Value = usize;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Element> Visitor<'de> for Slice<'_, '_, T> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        loop {
            self.cursor.index.set(Some(n));
            let Some(read) = seq.next_element::<T::Read>()? else {
                break;
            };
            let Some(slot) = self.out.get_mut(n) else {
                return Err(self.cursor.fail(ParseError::Capacity { field: self.field, capacity: self.out.len() }));
            };
            *slot = T::convert(read, self.field, n).map_err(|e| self.cursor.fail(e))?;
            n += 1;
        }
        self.cursor.index.set(None);
        Ok(n)
    }
}

#[derive(serde::Deserialize)]
struct ZephyrShape {
    m: u32,
    t: u32,
}

struct Top<'c, 'b, 'a> {
    cursor: &'c Cursor,
    buf: &'b mut ModelBuffers<'a>,
}

#[derive(Default)]
struct Counts {
    partition: Option<usize>,
    bias: Option<usize>,
    qubits: Option<usize>,
    edges: Option<usize>,
    zephyr: Option<(u32, u32)>,
}

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = Counts;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a model object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Counts, A::Error> {
        let mut counts = Counts::default();
        let cursor = self.cursor;
        while let Some(key) = map.next_key::<&str>()? {
            macro_rules! slice {
                ($name:literal, $out:expr) => {{
                    cursor.field.set(Some($name));
                    let n = map.next_value_seed(Slice { cursor, field: $name, out: $out })?;
                    cursor.field.set(None);
                    Some(n)
                }};
            }
            match key {
                "partition" => counts.partition = slice!("partition", &mut *self.buf.partition),
                "bias" => counts.bias = slice!("bias", &mut *self.buf.bias),
                "qubits" => counts.qubits = slice!("qubits", &mut *self.buf.qubits),
                "edges" => counts.edges = slice!("edges", &mut *self.buf.edges),
                "zephyr" => {
                    cursor.field.set(Some("zephyr"));
                    let z: ZephyrShape = map.next_value()?;
                    counts.zephyr = Some((z.m, z.t));
                    cursor.field.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(counts)
    }
}

/// The first `Some` that `visit(offset, byte)` returns for a byte outside strings.
fn outside_strings<T>(json: &[u8], mut visit: impl FnMut(usize, u8) -> Option<T>) -> Option<T> {
    let (mut in_string, mut escaped) = (false, false);
    for (at, &c) in json.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => escaped = false,
            }
        } else if c == b'"' {
            in_string = true;
        } else if let Some(found) = visit(at, c) {
            return Some(found);
        }
    }
    None
}

/// The offset of the first bracket nested deeper than [`MAX_DEPTH`], outside strings.
fn too_deep(json: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    outside_strings(json, |at, c| match c {
        b'[' | b'{' => {
            depth += 1;
            (depth > MAX_DEPTH).then_some(at)
        }
        b']' | b'}' => {
            depth = depth.saturating_sub(1);
            None
        }
        _ => None,
    })
}

/// True when the text holds a bare NaN or Infinity token outside strings (Python writes them).
fn has_non_finite_literal(json: &[u8]) -> bool {
    outside_strings(json, |at, _| (json[at..].starts_with(b"NaN") || json[at..].starts_with(b"Infinity")).then_some(()))
        .is_some()
}

/// Parse a model file into `buf`.
pub fn parse_model(json: &[u8], mut buf: ModelBuffers<'_>) -> Result<ParsedModel, ParseError> {
    if let Some(offset) = too_deep(json) {
        return Err(ParseError::TooDeep { offset });
    }
    let cursor = Cursor::default();
    let mut de = serde_json_core::de::Deserializer::new(json, None);
    let result = de::Deserializer::deserialize_map(&mut de, Top { cursor: &cursor, buf: &mut buf })
        .and_then(|counts| de.end().map(|_| counts));
    let counts = match result {
        Ok(counts) => counts,
        Err(error) => {
            if let Some(found) = cursor.found.get() {
                return Err(found);
            }
            if let (Some(field), true) = (cursor.field.get(), has_non_finite_literal(json)) {
                return Err(ParseError::NonFinite { field, index: cursor.index.get().unwrap_or(0) });
            }
            return Err(ParseError::Syntax { error, field: cursor.field.get(), index: cursor.index.get() });
        }
    };
    let units = counts.partition.ok_or(ParseError::Missing("partition"))?;
    let bias = counts.bias.ok_or(ParseError::Missing("bias"))?;
    let edges = counts.edges.ok_or(ParseError::Missing("edges"))?;
    if bias != units {
        return Err(ParseError::Length { field: "bias", expected: units, found: bias });
    }
    if let Some(q) = counts.qubits.filter(|&q| q != units) {
        return Err(ParseError::Length { field: "qubits", expected: units, found: q });
    }
    let mut sizes = [0usize; MAX_PARTITIONS];
    let mut partitions = 0;
    for (i, &p) in buf.partition[..units].iter().enumerate() {
        if i > 0 && p < buf.partition[i - 1] {
            return Err(ParseError::Unsorted { index: i });
        }
        sizes[p as usize] += 1;
        partitions = partitions.max(p as usize + 1);
    }
    Ok(ParsedModel { units, edges, has_qubits: counts.qubits.is_some(), zephyr: counts.zephyr, sizes, partitions })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message formatted without alloc.
    struct Text {
        buf: [u8; 160],
        len: usize,
    }

    impl Text {
        fn of(e: &impl fmt::Display) -> Text {
            let mut t = Text { buf: [0; 160], len: 0 };
            fmt::write(&mut t, format_args!("{e}")).unwrap();
            t
        }
        fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap()
        }
    }

    impl fmt::Write for Text {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn parse(json: &str) -> Result<(ParsedModel, [f64; 4], [Edge; 4]), ParseError> {
        let (mut p, mut b, mut q, mut e) = ([0u8; 4], [0.0; 4], [0u32; 4], [Edge::default(); 4]);
        let buf = ModelBuffers { partition: &mut p, bias: &mut b, qubits: &mut q, edges: &mut e };
        parse_model(json.as_bytes(), buf).map(|m| (m, b, e))
    }

    #[test]
    fn reads_the_layout() {
        let (m, b, e) = parse(
            r#"{"description": "x \"quoted\"", "zephyr": {"m": 1, "t": 4}, "qubits": [0, 2, 1],
                "partition": [0, 0, 1], "bias": [0.5, -1, 2e-1], "edges": [[0, 2, 1.5], [2, 1, -0.25]],
                "extra": [{"a": [1, 2]}, null, true]}"#,
        )
        .unwrap();
        assert_eq!((m.units, m.edges, m.has_qubits, m.zephyr, m.sizes()), (3, 2, true, Some((1, 4)), &[2, 1][..]));
        assert_eq!(&b[..3], &[0.5, -1.0, 0.2]);
        assert_eq!(e[1], Edge { i: 2, j: 1, w: -0.25 });
    }

    #[test]
    fn names_what_is_wrong() {
        let base =
            |bias: &str, edges: &str| std::format!(r#"{{"partition": [0, 1], "bias": {bias}, "edges": {edges}}}"#);
        assert_eq!(parse(&base("[0, NaN]", "[]")).err(), Some(ParseError::NonFinite { field: "bias", index: 1 }));
        assert_eq!(parse(&base("[0, 1e999]", "[]")).err(), Some(ParseError::NonFinite { field: "bias", index: 1 }));
        assert_eq!(
            parse(&base("[0, 1]", "[[0, 1, Infinity]]")).err(),
            Some(ParseError::NonFinite { field: "edges", index: 0 })
        );
        assert_eq!(parse(&base("[0]", "[]")).err(), Some(ParseError::Length { field: "bias", expected: 2, found: 1 }));
        assert_eq!(parse(&base("[0, 1]", "[[-1, 1, 0.5]]")).err(), Some(ParseError::NegativeIndex { edge: 0 }));
        assert_eq!(
            parse(&base("[0, 1]", "[[0,1,1],[0,1,1],[0,1,1],[0,1,1],[0,1,1]]")).err(),
            Some(ParseError::Capacity { field: "edges", capacity: 4 })
        );
        assert_eq!(parse(r#"{"partition": [0], "bias": [1]}"#).err(), Some(ParseError::Missing("edges")));
        assert_eq!(
            parse(r#"{"partition": [1, 0], "bias": [1, 1], "edges": []}"#).err(),
            Some(ParseError::Unsorted { index: 1 })
        );
        assert_eq!(
            parse(r#"{"partition": [0, 9], "bias": [1, 1], "edges": []}"#).err(),
            Some(ParseError::Partition { index: 1, value: 9.0 })
        );
        // A label that is not an integer is named where it stands (it used to be reported at
        // the next index, as a missing comma).
        assert_eq!(
            parse(r#"{"partition": [1.5, 1], "bias": [1, 1], "edges": []}"#).err(),
            Some(ParseError::Partition { index: 0, value: 1.5 })
        );
        assert_eq!(
            parse(r#"{"partition": [0, -1], "bias": [1, 1], "edges": []}"#).err(),
            Some(ParseError::Partition { index: 1, value: -1.0 })
        );
        // A stray character after an element names that element, in words without typos.
        let e = parse(r#"{"partition": [0, 1], "bias": [1 x, 1], "edges": []}"#).unwrap_err();
        assert_eq!(Text::of(&e).as_str(), "invalid JSON after `bias[0]`: expected `,` or `]`");
        assert!(matches!(
            parse(r#"{"partition": [0, 1], "bias": [1, 1"#).err(),
            Some(ParseError::Syntax { field: Some("bias"), .. })
        ));
        assert!(matches!(
            parse(r#"{"partition": [0, 1], "bias": "x", "edges": []}"#).err(),
            Some(ParseError::Syntax { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        // 200,000 levels in an ignored field overflowed the stack (issue 11).
        let deep = "[".repeat(200_000) + &"]".repeat(200_000);
        let json = std::format!(r#"{{"partition": [0], "bias": [0], "edges": [], "x": {deep}}}"#);
        let Err(ParseError::TooDeep { offset }) = parse(&json) else { panic!("not refused") };
        assert_eq!(&json[offset - 1..offset + 1], "[[");
        let (open, close) = ("[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        let ok = std::format!(
            r#"{{"partition": [0], "bias": [0], "edges": [], "x": {open}{close}, "s": "[[[[[[[[[[[[[[[[[["}}"#
        );
        assert!(parse(&ok).is_ok());
    }
}
