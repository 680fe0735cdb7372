//! SQLSTATE codes: a leaf module, so that every layer (the pager
//! included) can name the code its errors map to.

/// A five-character SQLSTATE code, e.g. `"23505"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SqlState(pub &'static str);

impl SqlState {
    pub const IO_ERROR: SqlState = SqlState("58030");
    pub const DISK_FULL: SqlState = SqlState("53100");
    pub const OUT_OF_MEMORY: SqlState = SqlState("53200");
    pub const DATA_CORRUPTED: SqlState = SqlState("XX001");
    pub const INDEX_CORRUPTED: SqlState = SqlState("XX002");
    pub const INTERNAL_ERROR: SqlState = SqlState("XX000");
    pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState("54000");
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState("22023");
    pub const DATA_EXCEPTION: SqlState = SqlState("22000");
    pub const CANNOT_CONNECT_NOW: SqlState = SqlState("57P03");
    pub const SYNTAX_ERROR: SqlState = SqlState("42601");
    pub const UNDEFINED_TABLE: SqlState = SqlState("42P01");
    pub const UNDEFINED_COLUMN: SqlState = SqlState("42703");
    pub const UNDEFINED_FUNCTION: SqlState = SqlState("42883");
    pub const AMBIGUOUS_FUNCTION: SqlState = SqlState("42725");
    pub const UNDEFINED_OBJECT: SqlState = SqlState("42704");
    pub const DUPLICATE_TABLE: SqlState = SqlState("42P07");
    pub const DUPLICATE_COLUMN: SqlState = SqlState("42701");
    pub const SUCCESSFUL_COMPLETION: SqlState = SqlState("00000");
    pub const DUPLICATE_OBJECT: SqlState = SqlState("42710");
    pub const AMBIGUOUS_COLUMN: SqlState = SqlState("42702");
    pub const DATATYPE_MISMATCH: SqlState = SqlState("42804");
    pub const CANNOT_COERCE: SqlState = SqlState("42846");
    pub const GROUPING_ERROR: SqlState = SqlState("42803");
    pub const UNIQUE_VIOLATION: SqlState = SqlState("23505");
    pub const FOREIGN_KEY_VIOLATION: SqlState = SqlState("23503");
    pub const NOT_NULL_VIOLATION: SqlState = SqlState("23502");
    pub const CHECK_VIOLATION: SqlState = SqlState("23514");
    pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState("22P02");
    pub const INVALID_DATETIME_FORMAT: SqlState = SqlState("22007");
    pub const DATETIME_FIELD_OVERFLOW: SqlState = SqlState("22008");
    pub const DIVISION_BY_ZERO: SqlState = SqlState("22012");
    pub const NUMERIC_VALUE_OUT_OF_RANGE: SqlState = SqlState("22003");
    pub const STRING_DATA_RIGHT_TRUNCATION: SqlState = SqlState("22001");
    pub const STRING_DATA_LENGTH_MISMATCH: SqlState = SqlState("22026");
    pub const BAD_COPY_FILE_FORMAT: SqlState = SqlState("22P04");
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState("22021");
    pub const PROTOCOL_VIOLATION: SqlState = SqlState("08P01");
    pub const INVALID_PASSWORD: SqlState = SqlState("28P01");
    pub const INVALID_ESCAPE_SEQUENCE: SqlState = SqlState("22025");
    pub const INVALID_JSON_TEXT: SqlState = SqlState("22P02");
    pub const CARDINALITY_VIOLATION: SqlState = SqlState("21000");
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState("0A000");
    pub const SERIALIZATION_FAILURE: SqlState = SqlState("40001");
    pub const DEADLOCK_DETECTED: SqlState = SqlState("40P01");
    pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState("25P02");
    pub const ACTIVE_SQL_TRANSACTION: SqlState = SqlState("25001");
    pub const NO_ACTIVE_SQL_TRANSACTION: SqlState = SqlState("25P01");
    pub const READ_ONLY_SQL_TRANSACTION: SqlState = SqlState("25006");
    pub const INVALID_TRANSACTION_STATE: SqlState = SqlState("25000");
    pub const INVALID_SAVEPOINT: SqlState = SqlState("3B001");
    pub const LOCK_NOT_AVAILABLE: SqlState = SqlState("55P03");
    pub const QUERY_CANCELED: SqlState = SqlState("57014");
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: SqlState = SqlState("55000");
    pub const UNDEFINED_PARAMETER: SqlState = SqlState("42704");
    pub const INVALID_COLUMN_REFERENCE: SqlState = SqlState("42P10");
    pub const WRONG_OBJECT_TYPE: SqlState = SqlState("42809");
    pub const INSUFFICIENT_PRIVILEGE: SqlState = SqlState("42501");
    pub const DEPENDENT_OBJECTS_STILL_EXIST: SqlState = SqlState("2BP01");
    pub const INVALID_TABLE_DEFINITION: SqlState = SqlState("42P16");
    pub const INDETERMINATE_DATATYPE: SqlState = SqlState("42P18");
    pub const UNDEFINED_PARAMETER_REF: SqlState = SqlState("42P02");

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for SqlState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
