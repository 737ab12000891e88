//! The catalogue model: what the emitter needs, checked and resolved, and nothing about how
//! the code is spelled (no `quote` here).
//!
//! Every name has two forms: the wire name (`trade_state`, `TRANSACTION.SUCCESS`, `PAY_FAIL`)
//! and its Rust identifier, made by [`sanitize`](crate::sanitize::sanitize). Lists are in a
//! deterministic order: files by name, fields and values in the order the YAML gives them,
//! kinds by id.

/// The whole checked catalogue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalogue {
    /// Shared enums, one per file, by file name.
    pub enums: Vec<EnumFile>,
    /// Shared objects, one per file, by file name.
    pub objects: Vec<ObjectFile>,
    /// Kind files, by file name.
    pub kinds: Vec<KindFile>,
    /// How APIv3 notifications are classified, by event_type.
    pub routes: Vec<Route>,
}

impl Catalogue {
    /// The kinds, sorted by id: the order of `Kind`, `Kind::ALL` and `KINDS`.
    pub fn kinds_by_id(&self) -> Vec<&Kind> {
        let mut kinds: Vec<&Kind> = self.kinds.iter().map(|k| &k.kind).collect();
        kinds.sort_by(|a, b| a.id.cmp(&b.id));
        kinds
    }
}

/// Where a definition comes from and where its code goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The schema file, relative to the repository root (`schema/kinds/x.yaml`).
    pub path: String,
    /// The generated module's name (`x`, snake_case of the file name).
    pub module: Ident,
}

/// A Rust identifier, possibly raw (`r#type`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ident(pub String);

impl Ident {
    /// The identifier as Rust source spells it (`r#type`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier without a raw prefix (`type`): what serde and `Debug` call it.
    pub fn unraw(&self) -> &str {
        self.0.strip_prefix("r#").unwrap_or(&self.0)
    }
}

/// A shared enum file.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumFile {
    /// Its file.
    pub source: SourceFile,
    /// The enum.
    pub def: EnumDef,
}

/// A shared object file.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectFile {
    /// Its file.
    pub source: SourceFile,
    /// The object.
    pub def: ObjectDef,
}

/// A kind file: the kind, and the types only it uses.
#[derive(Clone, Debug, PartialEq)]
pub struct KindFile {
    /// Its file.
    pub source: SourceFile,
    /// The kind.
    pub kind: Kind,
    /// Object types local to this kind, in file order.
    pub objects: Vec<ObjectDef>,
    /// Enums local to this kind, in file order.
    pub enums: Vec<EnumDef>,
}

/// An open enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumDef {
    /// The type name.
    pub name: Ident,
    /// The description.
    pub doc: String,
    /// The known values, in catalogue order (at least one).
    pub values: Vec<EnumValue>,
}

/// One known value of an enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// The wire text (`PAY_FAIL`).
    pub wire: String,
    /// The variant (`PayFail`).
    pub variant: Ident,
    /// The description, when the catalogue gives one.
    pub doc: Option<String>,
}

/// A struct: a shared or local object, or the fields of a kind.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDef {
    /// The type name.
    pub name: Ident,
    /// The description (may span several lines).
    pub doc: String,
    /// The fields, in wire order.
    pub fields: Vec<Field>,
    /// Part of a kind's reply data, which handlers build: constructible outside the SDK, so
    /// not `#[non_exhaustive]`.
    pub reply: bool,
}

/// One field of a struct.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The wire name (`trade_state`).
    pub wire: String,
    /// The Rust field name (`trade_state`, `r#type`).
    pub ident: Ident,
    /// The value type.
    pub ty: FieldType,
    /// Missing or `null` fails the parse; otherwise the field is an `Option`.
    pub required: bool,
    /// The description.
    pub doc: String,
    /// Redacted from `Debug`.
    pub sensitive: bool,
    /// `[min, max]` characters, for strings (each element, for arrays of strings).
    pub length: Option<Bounds>,
    /// The string format (each element, for arrays of strings).
    pub format: Option<Format>,
    /// `[min, max]` elements, for arrays.
    pub count: Option<Bounds>,
}

/// Inclusive bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The least allowed.
    pub min: u32,
    /// The most allowed.
    pub max: u32,
}

/// The string formats of `validate::Format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `rfc3339`.
    Rfc3339,
    /// `yyyyMMddHHmmss`.
    CompactDateTime,
    /// `yyyy-MM-dd HH:mm:ss`.
    SpacedDateTime,
    /// `digits`.
    Digits,
}

impl Format {
    /// Every format with its catalogue spelling.
    pub const ALL: [(&'static str, Format); 4] = [
        ("rfc3339", Format::Rfc3339),
        ("yyyyMMddHHmmss", Format::CompactDateTime),
        ("yyyy-MM-dd HH:mm:ss", Format::SpacedDateTime),
        ("digits", Format::Digits),
    ];
}

/// The type of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A built-in type.
    Scalar(Scalar),
    /// An object or enum of the catalogue.
    Named(TypeRef),
    /// A list; the element is never itself an array.
    Array(Box<FieldType>),
}

/// The built-in types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `string` → `String`.
    String,
    /// `integer` → `types::Int`.
    Integer,
    /// `number` → `f64`.
    Number,
    /// `boolean` → `bool`.
    Boolean,
    /// `object` → a JSON object kept as is.
    Object,
    /// `json` → any JSON value kept as is.
    Json,
}

/// A reference to a catalogue type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeRef {
    /// The type name.
    pub name: Ident,
    /// Object or enum.
    pub def: DefKind,
    /// Which module defines it.
    pub home: Home,
}

/// What a type name names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    /// An object type (a struct).
    Object,
    /// An enum.
    Enum,
}

/// Which module defines a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    /// `enums/`.
    SharedEnums,
    /// `objects/`.
    SharedObjects,
    /// The kind file that uses it (only that file may).
    Local,
}

/// `v3-json` or `v2-xml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WireFormat {
    /// APIv3 JSON.
    V3Json,
    /// APIv2 XML.
    V2Xml,
}

/// How far a kind's opened payload can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Signed and verified.
    Authenticated,
    /// Decrypted, unauthenticated.
    DecryptedUnauthenticated,
}

/// One notification kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Kind {
    /// The kind id (`TRANSACTION.SUCCESS#PARKING`).
    pub id: String,
    /// The schema file (`schema/kinds/x.yaml`).
    pub schema: String,
    /// The wire format.
    pub format: WireFormat,
    /// The event_type on the wire, if any.
    pub event_type: Option<String>,
    /// The text after `#`, if any.
    pub variant: Option<String>,
    /// The Chinese title.
    pub title: String,
    /// Documentation links.
    pub docs: Vec<String>,
    /// The envelope's `resource.original_type`, where known.
    pub original_type: Option<String>,
    /// Retry intervals in seconds.
    pub retry: Vec<u32>,
    /// How far the payload can be trusted.
    pub trust: Trust,
    /// The fields identifying the business object.
    pub business_key: Vec<FieldPath>,
    /// The fields naming the merchant, first present wins.
    pub merchant: Vec<FieldPath>,
    /// The field stating the state, if any.
    pub state: Option<FieldPath>,
    /// The fields compared with the merchant's expectation, in catalogue order (at least
    /// one).
    pub cross_check: Vec<FieldPath>,
    /// The reply data type, if any (an object).
    pub reply: Option<TypeRef>,
    /// The kind's struct: its name is the kind's Rust name.
    pub body: ObjectDef,
    /// The APIv2 wire form, for `v2-xml` kinds.
    pub v2: Option<V2>,
}

/// The APIv2 wire form of a kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V2 {
    /// `None` when the kind carries no sign; else the element naming the algorithm and the
    /// default.
    pub sign: Option<(String, V2SignDefault)>,
    /// How the business data is encrypted.
    pub encryption: V2Encryption,
    /// How a body is recognised as this kind.
    pub recognise: V2Recognise,
    /// `true` for `code`/`message` replies, `false` for `return_code`/`return_msg`.
    pub code_message_reply: bool,
    /// Outer elements kept in the typed value (encrypted kinds).
    pub envelope: Vec<String>,
    /// Indexed families: (field, members, unnumbered members).
    pub repeated: Vec<(String, Vec<String>, Vec<String>)>,
    /// Elements whose text is JSON.
    pub json: Vec<String>,
    /// The merchant elements (top-level wire names).
    pub merchant: Vec<String>,
    /// The state element (a top-level wire name).
    pub state: Option<String>,
}

/// The sign algorithm assumed when the body names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V2SignDefault {
    /// `MD5`.
    Md5,
    /// `HMAC-SHA256`.
    HmacSha256,
    /// `by-length`: 64 hex characters HMAC-SHA256, else MD5.
    ByLength,
}

/// How an APIv2 kind's business data is encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V2Encryption {
    /// Not encrypted.
    None,
    /// AES-256-ECB with md5(APIv2 key): (field, root).
    Ecb {
        /// The element.
        field: String,
        /// The plaintext's root element.
        root: String,
    },
    /// AEAD_AES_256_GCM with the APIv3 key.
    Gcm {
        /// The element.
        field: String,
        /// The nonce element.
        nonce: String,
        /// The associated-data element.
        associated_data: String,
        /// The algorithm element, if any.
        algorithm: Option<String>,
        /// The plaintext's root element.
        root: String,
    },
}

/// How an APIv2 body is recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V2Recognise {
    /// By its `event_type`.
    EventType(String),
    /// By any of these elements, at this priority.
    AnyPresent(Vec<String>, i64),
}

/// A top-level field of a kind, by both names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldRef {
    /// The wire name.
    pub wire: String,
    /// The Rust field name.
    pub ident: Ident,
}

/// A value of a kind reached by a top-level field or a path through object-typed fields,
/// ending at a string, integer or enum: what a business fact (key, merchant, state) or the
/// business cross-check reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    /// The catalogue path, wire names joined by `.` (`amount.total`).
    pub path: String,
    /// The field of the kind's `…Expected` struct (`amount_total`), for cross-check paths.
    pub ident: Ident,
    /// The fields walked from the kind's struct, the last one holding the compared value.
    pub steps: Vec<Step>,
    /// The compared value's type: a string, an integer or an enum.
    pub ty: FieldType,
    /// The value's description.
    pub doc: String,
    /// The value is personal data (never cross-checked).
    pub sensitive: bool,
}

/// One field on a [`FieldPath`]'s path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The Rust field name.
    pub ident: Ident,
    /// Required (the value itself) or optional (an `Option`).
    pub required: bool,
}

/// How the kinds of one APIv3 event_type are told apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The event_type.
    pub event_type: String,
    /// The decision.
    pub choice: Choice,
}

/// The decision for one event_type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// One kind: no need to look at the plaintext.
    Single(Ident),
    /// Several kinds: rules by priority, then the default.
    Rules {
        /// Rules, highest priority first (ties by kind id: they cannot overlap).
        rules: Vec<Rule>,
        /// The kind taking what no rule claimed.
        default: Option<Ident>,
    },
}

/// One classification rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The kind's Rust name (its `Kind` variant).
    pub kind: Ident,
    /// Higher is tried first.
    pub priority: i64,
    /// All must hold.
    pub conditions: Vec<Condition>,
}

/// One condition of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    /// A top-level field equals a string.
    Equals(FieldRef, String),
    /// A top-level field is present and not null (`true`) or absent or null (`false`).
    Present(FieldRef, bool),
    /// The envelope's `resource.original_type` equals a string.
    OriginalType(String),
}
