//! SQL data types.

use std::fmt;

/// A column or expression type, as PostgreSQL names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DataType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// `numeric(precision, scale)`; `None` = unconstrained.
    Numeric(Option<(u32, u32)>),
    Text,
    /// `varchar(n)`; `None` = unlimited.
    Varchar(Option<u32>),
    /// `char(n)`, blank-padded.
    Char(u32),
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    /// `json`: the input text as given (validated, not normalised).
    Json,
    Jsonb,
    /// pgvector's `vector(n)`; `None` = any dimension.
    Vector(Option<u32>),
    /// pgvector's `halfvec(n)`: f16 elements; `None` = any dimension.
    HalfVec(Option<u32>),
    /// `bit(n)`; `None` = any length (`bit` without a length as a value's
    /// type, e.g. what `binary_quantize` returns; a column declared `bit`
    /// is `bit(1)`, as in PostgreSQL).
    Bit(Option<u32>),
    Array(Box<DataType>),
    /// An object identifier shown by name: `regclass`, `regtype`,
    /// `regnamespace` (PostgreSQL's OID alias types).
    Reg(RegKind),
    /// The type of an untyped literal or parameter before inference
    /// (PostgreSQL's `unknown`).
    Unknown,
    /// A type made by `CREATE TYPE ... AS ENUM`; values are its labels, held
    /// as text. Parsing yields it with OID 0 and no labels (the name only);
    /// the catalog fills it in (`EnumType::is_resolved`).
    Enum(Box<EnumType>),
}

/// An enum type: its labels in sort order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct EnumType {
    pub oid: u32,
    /// Its array type's OID.
    pub array_oid: u32,
    pub name: String,
    pub labels: Vec<String>,
    /// The schema the name was qualified with, until the catalog resolves
    /// it (a resolved type has none: its OID says where it lives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

impl EnumType {
    /// A (possibly schema-qualified) name the parser met, to be looked up
    /// in the catalog.
    pub fn named(schema: Option<String>, name: &str) -> DataType {
        DataType::Enum(Box::new(EnumType {
            oid: 0,
            array_oid: 0,
            name: name.to_string(),
            labels: Vec::new(),
            schema,
        }))
    }

    /// The name as written: schema (if given) and name.
    pub fn qualified_name(&self) -> Vec<String> {
        self.schema
            .iter()
            .cloned()
            .chain([self.name.clone()])
            .collect()
    }

    pub fn is_resolved(&self) -> bool {
        self.oid != 0
    }

    /// The label's position (0-based), which orders values.
    pub fn position(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }
}

/// Which catalog an OID alias type (`regclass`...) names objects of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RegKind {
    /// `regclass`: relations (`pg_class`).
    Class,
    /// `regtype`: types (`pg_type`).
    Type,
    /// `regnamespace`: schemas (`pg_namespace`).
    Namespace,
}

impl RegKind {
    /// The type's name, e.g. `regclass`.
    pub fn type_name(self) -> &'static str {
        match self {
            RegKind::Class => "regclass",
            RegKind::Type => "regtype",
            RegKind::Namespace => "regnamespace",
        }
    }

    pub fn oid(self) -> u32 {
        match self {
            RegKind::Class => 2205,
            RegKind::Type => 2206,
            RegKind::Namespace => 4089,
        }
    }
}

/// One built-in type as PostgreSQL's `pg_type` describes it. The table
/// [`BUILTIN_TYPES`] is the single source of type OIDs: `DataType::oid`,
/// the `pg_type` system relation and the wire protocol's field descriptions
/// all read it.
#[derive(Debug)]
pub struct TypeInfo {
    pub oid: u32,
    /// `typname`, e.g. `int4`, `_int4` for its array type.
    pub name: &'static str,
    /// `typlen`: bytes of a fixed-size value, -1 for varlena, -2 for C strings.
    pub len: i16,
    pub byval: bool,
    /// `typtype`: 'b' base, 'p' pseudo-type.
    pub kind: char,
    /// `typcategory`: 'B' boolean, 'N' numeric, 'S' string, 'D' date/time,
    /// 'T' timespan, 'U' user-defined, 'A' array, 'X' unknown, 'P' pseudo.
    pub category: char,
    /// Element type of an array type, else 0.
    pub elem: u32,
    /// The array type over this type, else 0.
    pub array: u32,
    /// `typinput` / `typoutput` function names.
    pub input: &'static str,
    pub output: &'static str,
}

const fn base(
    oid: u32,
    name: &'static str,
    len: i16,
    category: char,
    array: u32,
    input: &'static str,
    output: &'static str,
) -> TypeInfo {
    TypeInfo {
        oid,
        name,
        len,
        byval: len > 0 && len <= 8,
        kind: 'b',
        category,
        elem: 0,
        array,
        input,
        output,
    }
}

const fn array(oid: u32, name: &'static str, elem: u32) -> TypeInfo {
    TypeInfo {
        oid,
        name,
        len: -1,
        byval: false,
        kind: 'b',
        category: 'A',
        elem,
        array: 0,
        input: "array_in",
        output: "array_out",
    }
}

/// OID of pgvector's `vector`. PostgreSQL assigns it at CREATE EXTENSION
/// time; we fix one (and one for its array type).
pub const VECTOR_OID: u32 = 16385;
/// OID of pgvector's `halfvec` (fixed like [`VECTOR_OID`]).
pub const HALFVEC_OID: u32 = 16387;
pub const BIT_OID: u32 = 1560;
/// PostgreSQL's `anyarray`: what we report for arrays of types without an
/// array type of their own.
pub const ANYARRAY_OID: u32 = 2277;

/// The types PostgreSQL clients may meet in our results and catalogs, with
/// PostgreSQL's OIDs. `oid`, `json` and `time` are listed because clients
/// look them up, although columns cannot have those types yet.
pub static BUILTIN_TYPES: &[TypeInfo] = &[
    base(16, "bool", 1, 'B', 1000, "boolin", "boolout"),
    base(17, "bytea", -1, 'U', 1001, "byteain", "byteaout"),
    base(20, "int8", 8, 'N', 1016, "int8in", "int8out"),
    base(21, "int2", 2, 'N', 1005, "int2in", "int2out"),
    base(23, "int4", 4, 'N', 1007, "int4in", "int4out"),
    base(25, "text", -1, 'S', 1009, "textin", "textout"),
    base(26, "oid", 4, 'N', 1028, "oidin", "oidout"),
    base(114, "json", -1, 'U', 199, "json_in", "json_out"),
    base(700, "float4", 4, 'N', 1021, "float4in", "float4out"),
    base(701, "float8", 8, 'N', 1022, "float8in", "float8out"),
    TypeInfo {
        kind: 'p',
        ..base(705, "unknown", -2, 'X', 0, "unknownin", "unknownout")
    },
    base(1042, "bpchar", -1, 'S', 1014, "bpcharin", "bpcharout"),
    base(1043, "varchar", -1, 'S', 1015, "varcharin", "varcharout"),
    base(1082, "date", 4, 'D', 1182, "date_in", "date_out"),
    base(1083, "time", 8, 'D', 1183, "time_in", "time_out"),
    base(
        1114,
        "timestamp",
        8,
        'D',
        1115,
        "timestamp_in",
        "timestamp_out",
    ),
    base(
        1184,
        "timestamptz",
        8,
        'D',
        1185,
        "timestamptz_in",
        "timestamptz_out",
    ),
    base(
        1186,
        "interval",
        16,
        'T',
        1187,
        "interval_in",
        "interval_out",
    ),
    base(1700, "numeric", -1, 'N', 1231, "numeric_in", "numeric_out"),
    base(2205, "regclass", 4, 'N', 2210, "regclassin", "regclassout"),
    base(2206, "regtype", 4, 'N', 2211, "regtypein", "regtypeout"),
    base(
        4089,
        "regnamespace",
        4,
        'N',
        4090,
        "regnamespacein",
        "regnamespaceout",
    ),
    base(2950, "uuid", 16, 'U', 2951, "uuid_in", "uuid_out"),
    base(3802, "jsonb", -1, 'U', 3807, "jsonb_in", "jsonb_out"),
    base(
        VECTOR_OID,
        "vector",
        -1,
        'U',
        VECTOR_OID + 1,
        "vector_in",
        "vector_out",
    ),
    base(
        HALFVEC_OID,
        "halfvec",
        -1,
        'U',
        HALFVEC_OID + 1,
        "halfvec_in",
        "halfvec_out",
    ),
    base(BIT_OID, "bit", -1, 'V', 1561, "bit_in", "bit_out"),
    TypeInfo {
        kind: 'p',
        category: 'P',
        ..array(ANYARRAY_OID, "anyarray", 0)
    },
    array(199, "_json", 114),
    array(1000, "_bool", 16),
    array(1001, "_bytea", 17),
    array(1005, "_int2", 21),
    array(1007, "_int4", 23),
    array(1009, "_text", 25),
    array(1014, "_bpchar", 1042),
    array(1015, "_varchar", 1043),
    array(1016, "_int8", 20),
    array(1021, "_float4", 700),
    array(1022, "_float8", 701),
    array(1028, "_oid", 26),
    array(1115, "_timestamp", 1114),
    array(1182, "_date", 1082),
    array(1183, "_time", 1083),
    array(1185, "_timestamptz", 1184),
    array(1187, "_interval", 1186),
    array(1231, "_numeric", 1700),
    array(2210, "_regclass", 2205),
    array(2211, "_regtype", 2206),
    array(4090, "_regnamespace", 4089),
    array(2951, "_uuid", 2950),
    array(3807, "_jsonb", 3802),
    array(VECTOR_OID + 1, "_vector", VECTOR_OID),
    array(HALFVEC_OID + 1, "_halfvec", HALFVEC_OID),
    array(1561, "_bit", BIT_OID),
];

/// The built-in type with `oid`, if any.
pub fn type_info(oid: u32) -> Option<&'static TypeInfo> {
    BUILTIN_TYPES.iter().find(|t| t.oid == oid)
}

impl DataType {
    /// PostgreSQL's type OID, for the wire protocol's field descriptions,
    /// `pg_type`/`pg_attribute` and clients' type maps. Arrays get their
    /// element type's array type (multi-dimensional arrays share it, as in
    /// PostgreSQL), or `anyarray` if the element type has none.
    pub fn oid(&self) -> u32 {
        match self {
            DataType::Bool => 16,
            DataType::Bytea => 17,
            DataType::Int8 => 20,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Text => 25,
            DataType::Json => 114,
            DataType::Jsonb => 3802,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Char(_) => 1042,
            DataType::Varchar(_) => 1043,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::Timestamptz => 1184,
            DataType::Interval => 1186,
            DataType::Numeric(_) => 1700,
            DataType::Uuid => 2950,
            DataType::Vector(_) => VECTOR_OID,
            DataType::HalfVec(_) => HALFVEC_OID,
            DataType::Bit(_) => BIT_OID,
            DataType::Reg(k) => k.oid(),
            DataType::Array(inner) if matches!(**inner, DataType::Enum(_)) => match &**inner {
                DataType::Enum(e) => e.array_oid,
                _ => ANYARRAY_OID,
            },
            DataType::Array(inner) => {
                let elem = inner.oid();
                match type_info(elem) {
                    Some(t) if t.elem != 0 => elem,
                    Some(t) if t.array != 0 => t.array,
                    _ => ANYARRAY_OID,
                }
            }
            DataType::Unknown => 705,
            DataType::Enum(e) => e.oid,
        }
    }

    /// `typlen` of the type (the wire protocol's "data type size").
    pub fn typlen(&self) -> i16 {
        type_info(self.oid()).map_or(-1, |t| t.len)
    }

    /// PostgreSQL's type modifier (`atttypmod`, the wire protocol's "type
    /// modifier"): declared length + 4 for varchar/char, `(precision << 16 |
    /// scale) + 4` for numeric, the dimension for vector, else -1.
    pub fn typmod(&self) -> i32 {
        match self {
            DataType::Varchar(Some(n)) | DataType::Char(n) => *n as i32 + 4,
            DataType::Numeric(Some((p, s))) => ((*p << 16) | *s) as i32 + 4,
            DataType::Vector(Some(n)) | DataType::HalfVec(Some(n)) | DataType::Bit(Some(n)) => {
                *n as i32
            }
            DataType::Array(inner) => inner.typmod(),
            _ => -1,
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, DataType::Int2 | DataType::Int4 | DataType::Int8)
    }

    pub fn is_numeric_family(&self) -> bool {
        matches!(
            self,
            DataType::Int2
                | DataType::Int4
                | DataType::Int8
                | DataType::Float4
                | DataType::Float8
                | DataType::Numeric(_)
        )
    }

    pub fn is_string(&self) -> bool {
        matches!(
            self,
            DataType::Text | DataType::Varchar(_) | DataType::Char(_)
        )
    }
}

/// The column type that `pg_attribute` describes as `atttypid` and
/// `atttypmod` (the inverse of [`DataType::oid`] and [`DataType::typmod`]),
/// or None for a type OID that no column can have.
pub fn from_oid_typmod(oid: u32, typmod: i32) -> Option<DataType> {
    let m = u32::try_from(typmod).ok();
    Some(match oid {
        16 => DataType::Bool,
        17 => DataType::Bytea,
        20 => DataType::Int8,
        21 => DataType::Int2,
        23 => DataType::Int4,
        25 => DataType::Text,
        700 => DataType::Float4,
        701 => DataType::Float8,
        1042 => DataType::Char(m.map_or(1, |m| m.saturating_sub(4))),
        1043 => DataType::Varchar(m.map(|m| m.saturating_sub(4))),
        1082 => DataType::Date,
        1114 => DataType::Timestamp,
        1184 => DataType::Timestamptz,
        1186 => DataType::Interval,
        1700 => DataType::Numeric(
            m.map(|m| m.saturating_sub(4))
                .map(|m| (m >> 16, m & 0xffff)),
        ),
        2950 => DataType::Uuid,
        114 => DataType::Json,
        3802 => DataType::Jsonb,
        VECTOR_OID => DataType::Vector(m),
        HALFVEC_OID => DataType::HalfVec(m),
        BIT_OID => DataType::Bit(m),
        2205 => DataType::Reg(RegKind::Class),
        2206 => DataType::Reg(RegKind::Type),
        4089 => DataType::Reg(RegKind::Namespace),
        _ => {
            let elem = type_info(oid).map(|t| t.elem).filter(|&e| e != 0)?;
            DataType::Array(Box::new(from_oid_typmod(elem, typmod)?))
        }
    })
}

impl fmt::Display for DataType {
    /// The name PostgreSQL prints (`format_type`), e.g. `character varying(20)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Bool => f.write_str("boolean"),
            DataType::Int2 => f.write_str("smallint"),
            DataType::Int4 => f.write_str("integer"),
            DataType::Int8 => f.write_str("bigint"),
            DataType::Float4 => f.write_str("real"),
            DataType::Float8 => f.write_str("double precision"),
            DataType::Numeric(None) => f.write_str("numeric"),
            DataType::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            DataType::Text => f.write_str("text"),
            DataType::Varchar(None) => f.write_str("character varying"),
            DataType::Varchar(Some(n)) => write!(f, "character varying({n})"),
            DataType::Char(n) => write!(f, "character({n})"),
            DataType::Bytea => f.write_str("bytea"),
            DataType::Date => f.write_str("date"),
            DataType::Timestamp => f.write_str("timestamp without time zone"),
            DataType::Timestamptz => f.write_str("timestamp with time zone"),
            DataType::Interval => f.write_str("interval"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Json => f.write_str("json"),
            DataType::Jsonb => f.write_str("jsonb"),
            DataType::Vector(None) => f.write_str("vector"),
            DataType::Vector(Some(n)) => write!(f, "vector({n})"),
            DataType::HalfVec(None) => f.write_str("halfvec"),
            DataType::HalfVec(Some(n)) => write!(f, "halfvec({n})"),
            DataType::Bit(None) => f.write_str("bit"),
            DataType::Bit(Some(n)) => write!(f, "bit({n})"),
            DataType::Array(inner) => write!(f, "{inner}[]"),
            DataType::Reg(k) => f.write_str(k.type_name()),
            DataType::Unknown => f.write_str("unknown"),
            DataType::Enum(e) => {
                let plain = e
                    .name
                    .starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && e.name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if plain {
                    f.write_str(&e.name)
                } else {
                    write!(f, "\"{}\"", e.name.replace('"', "\"\""))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_pg_type_entry() {
        let all = [
            DataType::Bool,
            DataType::Int2,
            DataType::Int4,
            DataType::Int8,
            DataType::Float4,
            DataType::Float8,
            DataType::Numeric(Some((10, 2))),
            DataType::Text,
            DataType::Varchar(Some(5)),
            DataType::Char(3),
            DataType::Bytea,
            DataType::Date,
            DataType::Timestamp,
            DataType::Timestamptz,
            DataType::Interval,
            DataType::Uuid,
            DataType::Json,
            DataType::Jsonb,
            DataType::Vector(Some(3)),
            DataType::HalfVec(Some(3)),
            DataType::Bit(Some(8)),
            DataType::Reg(RegKind::Class),
            DataType::Reg(RegKind::Type),
            DataType::Reg(RegKind::Namespace),
            DataType::Unknown,
        ];
        for ty in all {
            let info = type_info(ty.oid()).expect("scalar type listed");
            assert_eq!(info.elem, 0, "{ty}");
            let arr = DataType::Array(Box::new(ty.clone()));
            let ainfo = type_info(arr.oid()).expect("array type listed");
            if info.array != 0 {
                assert_eq!(ainfo.elem, info.oid, "{ty}[]");
                // Nested arrays share the array type.
                assert_eq!(DataType::Array(Box::new(arr.clone())).oid(), arr.oid());
            } else {
                assert_eq!(arr.oid(), ANYARRAY_OID);
            }
        }
        assert_eq!(DataType::Int4.oid(), 23);
        assert_eq!(DataType::Array(Box::new(DataType::Int4)).oid(), 1007);
        assert_eq!(DataType::Int8.typlen(), 8);
        assert_eq!(DataType::Varchar(Some(10)).typmod(), 14);
        assert_eq!(
            DataType::Numeric(Some((10, 2))).typmod(),
            (10 << 16 | 2) + 4
        );
    }

    #[test]
    fn array_entries_point_back_to_their_elements() {
        for t in BUILTIN_TYPES.iter().filter(|t| t.array != 0) {
            let a = type_info(t.array).expect("array type listed");
            assert_eq!(a.elem, t.oid, "{}", t.name);
        }
        let mut oids: Vec<u32> = BUILTIN_TYPES.iter().map(|t| t.oid).collect();
        oids.sort_unstable();
        oids.dedup();
        assert_eq!(oids.len(), BUILTIN_TYPES.len(), "OIDs are unique");
    }
}
