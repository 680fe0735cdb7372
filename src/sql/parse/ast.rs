//! NeuralDB's own SQL AST. `translate` builds it from sqlparser's AST,
//! which never leaves that step (DESIGN.md, invariant 3). It keeps
//! only what we execute, with names still unresolved: the planner binds
//! them against the catalog.

use crate::catalog::RefAction;
use crate::txn::{IsolationLevel, LockMode};
use crate::value::types::DataType;
use crate::value::Value;

/// A possibly qualified name, lower-cased unless it was quoted.
pub type Name = Vec<String>;

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    Query(Box<Query>),
    Insert(Box<Insert>),
    Update(Box<Update>),
    Delete(Box<Delete>),
    CreateTable(Box<CreateTable>),
    DropTable {
        names: Vec<Name>,
        if_exists: bool,
        cascade: bool,
    },
    CreateIndex(Box<CreateIndex>),
    /// `CREATE [OR REPLACE] VIEW name [(columns)] AS query`.
    CreateView(Box<CreateView>),
    DropView {
        names: Vec<Name>,
        if_exists: bool,
        cascade: bool,
    },
    DropIndex {
        names: Vec<Name>,
        if_exists: bool,
    },
    AlterTable {
        name: Name,
        if_exists: bool,
        ops: Vec<AlterOp>,
    },
    /// `ALTER VIEW name RENAME ...` (ALTER TABLE's renames, on a view).
    AlterView {
        name: Name,
        if_exists: bool,
        ops: Vec<AlterOp>,
    },
    CreateSequence {
        name: Name,
        if_not_exists: bool,
        start: Option<i64>,
        increment: Option<i64>,
    },
    DropSequence {
        names: Vec<Name>,
        if_exists: bool,
    },
    /// `CREATE EXTENSION [IF NOT EXISTS] name ...` (`tag` "CREATE
    /// EXTENSION") and `COMMENT ON EXTENSION name IS ...` ("COMMENT"):
    /// pgvector is built in, so `vector` is always there; nothing else is.
    Extension {
        name: String,
        tag: String,
    },
    /// `ALTER SEQUENCE name OWNED BY {table.column | NONE}` (`None`: NONE).
    AlterSequenceOwnedBy {
        name: Name,
        owner: Option<(Name, String)>,
    },
    /// `ALTER {TABLE | SEQUENCE | VIEW | INDEX | SCHEMA | TYPE} name OWNER
    /// TO role`, which pg_dump emits for every object. There is one role,
    /// so ownership is not recorded: the object must exist, nothing changes.
    /// `kind` is the upper-cased object kind (the command tag's second word).
    AlterOwner {
        kind: String,
        name: Name,
    },
    /// `COMMENT ON kind name IS 'text' | NULL`.
    Comment {
        on: CommentOn,
        name: Name,
        text: Option<String>,
    },
    /// `CREATE TYPE name AS ENUM (labels)`.
    CreateEnum {
        name: Name,
        labels: Vec<String>,
    },
    /// `CREATE SCHEMA [IF NOT EXISTS] name [AUTHORIZATION role]`
    /// (`AUTHORIZATION role` alone names the schema after the role).
    CreateSchema {
        name: String,
        if_not_exists: bool,
    },
    /// `DROP SCHEMA [IF EXISTS] names [CASCADE | RESTRICT]`.
    DropSchema {
        names: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    /// `DROP TYPE [IF EXISTS] names [CASCADE]`.
    DropType {
        names: Vec<Name>,
        if_exists: bool,
        cascade: bool,
    },
    /// `ALTER TYPE name ADD VALUE [IF NOT EXISTS] 'label' [BEFORE|AFTER 'neighbour']`
    /// (`before`: Some(true) for BEFORE, Some(false) for AFTER).
    AlterEnumAddValue {
        name: Name,
        label: String,
        if_not_exists: bool,
        neighbour: Option<(bool, String)>,
    },
    Truncate {
        names: Vec<Name>,
    },
    Begin {
        modes: TxnModes,
    },
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    SetTransaction {
        modes: TxnModes,
        session_default: bool,
    },
    /// SET TRANSACTION SNAPSHOT 'id'.
    SetTransactionSnapshot(String),
    /// DISCARD ALL | PLANS | SEQUENCES | TEMP.
    Discard(DiscardWhat),
    Set {
        name: String,
        value: SetValue,
        local: bool,
    },
    Show(String),
    Reset(String),
    Explain {
        analyze: bool,
        statement: Box<Statement>,
    },
    Vacuum {
        tables: Vec<Name>,
    },
    /// `ANALYZE [table [(columns)]]`: there are no planner statistics, so
    /// it only checks its names.
    Analyze {
        table: Option<Name>,
        columns: Vec<String>,
    },
    Copy(Box<Copy>),
    /// `SET CONSTRAINTS { ALL | name [, ...] } { DEFERRED | IMMEDIATE }`
    /// (`names` None: ALL).
    SetConstraints {
        names: Option<Vec<Name>>,
        deferred: bool,
    },
    /// `LOCK [TABLE] name [, ...] [IN mode MODE] [NOWAIT]`.
    LockTable {
        names: Vec<Name>,
        mode: LockMode,
        nowait: bool,
    },
    PrepareTransaction(String),
    CommitPrepared(String),
    RollbackPrepared(String),
    /// `PREPARE name [(types)] AS statement`.
    Prepare {
        name: String,
        types: Vec<DataType>,
        body: Box<Statement>,
    },
    /// `EXECUTE name [(args)]`.
    Execute {
        name: String,
        args: Vec<Expr>,
    },
    /// `DEALLOCATE [PREPARE] {name | ALL}` (`None`: all).
    Deallocate(Option<String>),
    /// `LISTEN channel`.
    Listen(String),
    /// `UNLISTEN {channel | *}` (`None`: all).
    Unlisten(Option<String>),
    /// `NOTIFY channel [, 'payload']`.
    Notify {
        channel: String,
        payload: String,
    },
    /// `DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL]
    /// CURSOR [{WITH | WITHOUT} HOLD] FOR query`.
    DeclareCursor {
        name: String,
        query: Box<Query>,
        binary: bool,
        /// `Some(true)`: SCROLL, `Some(false)`: NO SCROLL.
        scroll: Option<bool>,
        hold: bool,
    },
    /// `FETCH [direction] [FROM | IN] name`, and MOVE (`is_move`): the
    /// same without returning the rows.
    Fetch {
        name: String,
        direction: FetchDirection,
        is_move: bool,
    },
    /// `CLOSE {name | ALL}` (`None`: all).
    ClosePortal(Option<String>),
}

impl Statement {
    /// A SELECT, INSERT, UPDATE or DELETE: the statements literal lifting
    /// and the plan cache apply to.
    pub fn is_query_or_dml(&self) -> bool {
        matches!(
            self,
            Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_)
        )
    }
}

/// Where a FETCH or MOVE goes.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchDirection {
    /// NEXT, FORWARD, FORWARD n, n (n may be 0 or negative).
    Forward(i64),
    /// ALL, FORWARD ALL.
    ForwardAll,
    /// PRIOR, BACKWARD, BACKWARD n.
    Backward(i64),
    BackwardAll,
    /// FIRST, LAST, ABSOLUTE n, RELATIVE n: positioned fetches, which the
    /// forward-only cursors refuse.
    Absolute(i64),
    Relative(i64),
    Last,
}

/// `COPY table [(columns)] FROM STDIN` / `COPY {table | (query)} TO STDOUT`.
/// Only the protocol streams are supported (no server-side files).
#[derive(Clone, Debug, PartialEq)]
pub struct Copy {
    pub source: CopySource,
    /// True for `FROM STDIN`, false for `TO STDOUT`.
    pub from_stdin: bool,
    pub format: CopyFormat,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CopySource {
    Table { name: Name, columns: Vec<String> },
    Query(Box<Query>),
}

/// The options of PostgreSQL's text and CSV COPY formats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFormat {
    pub csv: bool,
    pub delimiter: char,
    /// The string that stands for NULL (`\N` in text, empty in CSV).
    pub null: String,
    pub header: bool,
    pub quote: char,
    pub escape: char,
}

impl CopyFormat {
    pub fn text() -> Self {
        CopyFormat {
            csv: false,
            delimiter: '\t',
            null: "\\N".into(),
            header: false,
            quote: '"',
            escape: '"',
        }
    }

    pub fn csv() -> Self {
        CopyFormat {
            csv: true,
            delimiter: ',',
            null: String::new(),
            ..CopyFormat::text()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TxnModes {
    pub isolation: Option<IsolationLevel>,
    pub read_only: Option<bool>,
    /// `DEFERRABLE` / `NOT DEFERRABLE` (SERIALIZABLE READ ONLY
    /// DEFERRABLE waits for a safe snapshot).
    pub deferrable: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    Default,
    Values(Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub ctes: Vec<Cte>,
    pub recursive: bool,
    pub body: SetExpr,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<Expr>,
    pub offset: Option<Expr>,
    pub locking: Option<Locking>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cte {
    pub name: String,
    pub columns: Vec<String>,
    pub query: Query,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockStrength {
    Update,
    NoKeyUpdate,
    Share,
    KeyShare,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockWait {
    Wait,
    NoWait,
    SkipLocked,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Locking {
    pub strength: LockStrength,
    pub wait: LockWait,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SetExpr {
    Select(Box<Select>),
    Values(Vec<Vec<Expr>>),
    SetOp {
        op: SetOp,
        all: bool,
        left: Box<SetExpr>,
        right: Box<SetExpr>,
    },
    Query(Box<Query>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Distinct {
    None,
    All,
    On(Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    pub distinct: Distinct,
    pub projection: Vec<SelectItem>,
    pub from: Vec<TableRef>,
    pub selection: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SelectItem {
    Expr { expr: Expr, alias: Option<String> },
    Wildcard,
    QualifiedWildcard(Name),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableAlias {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TableRef {
    Table {
        name: Name,
        alias: Option<TableAlias>,
    },
    Subquery {
        query: Box<Query>,
        alias: Option<TableAlias>,
        lateral: bool,
    },
    Function {
        name: Name,
        args: Vec<Expr>,
        alias: Option<TableAlias>,
        /// WITH ORDINALITY: a row-number column follows.
        ordinality: bool,
    },
    Join {
        left: Box<TableRef>,
        right: Box<TableRef>,
        kind: JoinKind,
        constraint: JoinConstraint,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JoinConstraint {
    On(Expr),
    Using(Vec<String>),
    Natural,
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderItem {
    pub expr: Expr,
    pub desc: bool,
    /// `None`: PostgreSQL's default (NULLS LAST for ASC, FIRST for DESC).
    pub nulls_first: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Insert {
    pub table: Name,
    pub alias: Option<String>,
    pub columns: Vec<String>,
    pub source: InsertSource,
    pub on_conflict: Option<OnConflict>,
    pub returning: Vec<SelectItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InsertSource {
    Query(Box<Query>),
    DefaultValues,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OnConflict {
    pub target: Vec<String>,
    pub constraint: Option<String>,
    pub action: ConflictAction,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ConflictAction {
    Nothing,
    Update {
        assignments: Vec<Assignment>,
        selection: Option<Expr>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub column: String,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub table: Name,
    pub alias: Option<String>,
    pub assignments: Vec<Assignment>,
    pub from: Vec<TableRef>,
    pub selection: Option<Expr>,
    pub returning: Vec<SelectItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delete {
    pub table: Name,
    pub alias: Option<String>,
    pub using: Vec<TableRef>,
    pub selection: Option<Expr>,
    pub returning: Vec<SelectItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateTable {
    pub name: Name,
    /// `CREATE TEMP TABLE`: private to the session, dropped when it ends.
    pub temporary: bool,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnSpec>,
    pub constraints: Vec<TableConstraint>,
    /// `WITH (fillfactor = n)`, 10 to 100.
    pub fillfactor: Option<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateView {
    pub name: Name,
    pub or_replace: bool,
    /// Names for the query's columns (the first ones; the others keep
    /// theirs).
    pub columns: Vec<String>,
    pub query: Query,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSpec {
    pub name: String,
    pub ty: DataType,
    /// `serial`/`bigserial`, or GENERATED ... AS IDENTITY.
    pub serial: bool,
    pub identity: Option<Identity>,
    pub not_null: bool,
    pub default: Option<Expr>,
    /// The default as written, stored in the catalog.
    pub default_sql: Option<String>,
    /// `GENERATED ALWAYS AS (expr) STORED`.
    pub generated: Option<Expr>,
    pub constraints: Vec<TableConstraint>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    Always,
    ByDefault,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TableConstraint {
    PrimaryKey {
        name: Option<String>,
        columns: Vec<String>,
        deferral: Deferral,
    },
    Unique {
        name: Option<String>,
        columns: Vec<String>,
        deferral: Deferral,
    },
    Check {
        name: Option<String>,
        expr: Expr,
        source: String,
    },
    ForeignKey(ForeignKey),
}

/// `[NOT] DEFERRABLE [INITIALLY DEFERRED | IMMEDIATE]` of a constraint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deferral {
    pub deferrable: bool,
    pub initially_deferred: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForeignKey {
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub table: Name,
    pub referred: Vec<String>,
    pub on_delete: RefAction,
    pub on_update: RefAction,
    pub deferrable: bool,
    pub initially_deferred: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateIndex {
    pub name: Option<String>,
    pub table: Name,
    pub columns: Vec<IndexColumn>,
    pub unique: bool,
    pub if_not_exists: bool,
    pub method: Option<String>,
    pub with: Vec<(String, Expr)>,
    /// A partial index's WHERE clause, and its SQL text.
    pub predicate: Option<(Expr, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IndexColumn {
    pub expr: Expr,
    /// The expression as written (what the catalog keeps of a key
    /// expression).
    pub source: String,
    pub desc: bool,
    pub opclass: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AlterOp {
    AddColumn {
        spec: ColumnSpec,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        if_exists: bool,
        cascade: bool,
    },
    AddConstraint(TableConstraint),
    DropConstraint {
        name: String,
        if_exists: bool,
    },
    RenameTable(String),
    RenameColumn {
        old: String,
        new: String,
    },
    /// New default as SQL text (None = DROP DEFAULT).
    AlterColumnSetDefault {
        column: String,
        default: Option<String>,
    },
    AlterColumnNotNull {
        column: String,
        not_null: bool,
    },
    /// `ALTER COLUMN c [SET DATA] TYPE ty [USING expr]`.
    AlterColumnType {
        column: String,
        ty: DataType,
        using: Option<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    BitAnd,
    BitOr,
    BitXor,
    ShiftLeft,
    ShiftRight,
    JsonGet,
    JsonGetText,
    JsonPath,
    JsonPathText,
    JsonContains,
    JsonContained,
    JsonHasKey,
    /// pgvector distance operators.
    L2Distance,
    NegInnerProduct,
    CosineDistance,
    L1Distance,
    /// pgvector's `<~>` and `<%>` on bit strings.
    HammingDistance,
    JaccardDistance,
}

/// What `COMMENT ON` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentOn {
    Table,
    Column,
    Index,
    Sequence,
    Type,
    Schema,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Plus,
    Not,
    BitNot,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Column reference, possibly qualified (`t.c`).
    Column(Name),
    Literal(Value),
    /// A string literal whose type is not known yet (PostgreSQL's unknown).
    UntypedString(String),
    /// `$n` (1-based).
    Param(usize),
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    IsBool {
        expr: Box<Expr>,
        value: bool,
        negated: bool,
    },
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<Expr>,
        query: Box<Query>,
        negated: bool,
    },
    Exists {
        query: Box<Query>,
        negated: bool,
    },
    Subquery(Box<Query>),
    /// `x op ANY (subquery|array)` / `ALL`.
    Quantified {
        left: Box<Expr>,
        op: BinOp,
        all: bool,
        right: QuantifiedRhs,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
        case_insensitive: bool,
    },
    Function(Box<FunctionCall>),
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        ty: DataType,
    },
    Array(Vec<Expr>),
    /// `ARRAY(subquery)`.
    ArraySubquery(Box<Query>),
    /// `a[i]` (1-based; NULL when out of range).
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    Row(Vec<Expr>),
    /// The `DEFAULT` keyword in INSERT ... VALUES or UPDATE SET.
    Default,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QuantifiedRhs {
    Subquery(Box<Query>),
    Expr(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionCall {
    pub name: String,
    pub args: Vec<Expr>,
    /// `count(*)`.
    pub star: bool,
    pub distinct: bool,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub over: bool,
}

/// What DISCARD discards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscardWhat {
    All,
    Plans,
    Sequences,
    Temp,
}
