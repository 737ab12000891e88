//! Validation of typed notifications: constraint violations collected with their JSON paths.
//!
//! Lengths, counts, formats and enum values outside the catalogue's lists are *violations*, not
//! parse failures: a payment with an over-long `attach` is still a payment. The generated types
//! implement [`Validate`]; [`crate::Notification::validate`] runs it for any kind.
//!
//! ```
//! use wechatpay_notify::validate::{Rule, Violations};
//!
//! let mut out = Violations::default();
//! let mut path = wechatpay_notify::validate::Path::root();
//! path.field("attach", |p| wechatpay_notify::validate::check_length(p, "托管" , 3, 128, &mut out));
//! assert_eq!(out.as_slice()[0].path, "attach");
//! assert_eq!(out.as_slice()[0].rule, Rule::Length);
//! ```

use std::fmt;

/// How many violations one notification may report before the rest are summarised.
pub const MAX_VIOLATIONS: usize = 64;

/// The constraint a [`Violation`] breaks. Its `as_str` names are part of the CLI's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// A string's length in characters is outside `[min, max]`.
    Length,
    /// An array's number of elements is outside `[min, max]`.
    Count,
    /// A value does not fit its format (`rfc3339`, `digits`, an integer sent as a string…).
    Format,
    /// An enum value is not among the values the catalogue lists.
    Enum,
    /// More violations were found than [`MAX_VIOLATIONS`]; the rest were not collected.
    Truncated,
}

impl Rule {
    /// The rule's name as the CLI prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Length => "length",
            Rule::Count => "count",
            Rule::Format => "format",
            Rule::Enum => "enum",
            Rule::Truncated => "truncated",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken constraint.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// JSON path of the value, like `promotion_detail[0].amount`.
    pub path: String,
    /// Which constraint.
    pub rule: Rule,
    /// What was expected and what was found. Never contains the value of a sensitive field.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.rule)
    }
}

/// Collected violations, capped at [`MAX_VIOLATIONS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations {
    items: Vec<Violation>,
    dropped: usize,
}

impl Violations {
    /// Records a violation at `path` (only the first [`MAX_VIOLATIONS`] are kept).
    pub fn push(&mut self, path: &Path, rule: Rule, message: impl Into<String>) {
        if self.items.len() < MAX_VIOLATIONS {
            self.items.push(Violation {
                path: path.to_string(),
                rule,
                message: message.into(),
            });
        } else {
            self.dropped += 1;
        }
    }

    /// `true` when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The violations found, in document order, without the truncation marker.
    pub fn as_slice(&self) -> &[Violation] {
        &self.items
    }

    /// The violations, with a final [`Rule::Truncated`] entry when some were not collected.
    pub fn into_vec(mut self) -> Vec<Violation> {
        if self.dropped > 0 {
            self.items.push(Violation {
                path: String::new(),
                rule: Rule::Truncated,
                message: format!("{} more violations not collected", self.dropped),
            });
        }
        self.items
    }
}

/// A JSON path under construction, built as validation walks the value.
///
/// Segments are pushed and popped around each field, so no string is built until a violation
/// is actually recorded; the first eight segments live in the path itself, so a walk
/// allocates nothing unless the value nests deeper.
#[derive(Clone, Debug, Default)]
pub struct Path {
    inline: [Segment; Path::INLINE],
    len: usize,
    deeper: Vec<Segment>,
}

#[derive(Clone, Copy, Debug, Default)]
enum Segment {
    /// An inline slot not in use.
    #[default]
    Unused,
    Field(&'static str),
    Index(usize),
}

impl Path {
    /// How many segments a path holds without allocating.
    const INLINE: usize = 8;

    /// The empty path (the resource's top level).
    pub fn root() -> Self {
        Path::default()
    }

    /// Runs `f` with `name` appended to the path.
    #[inline]
    pub fn field<R>(&mut self, name: &'static str, f: impl FnOnce(&mut Path) -> R) -> R {
        self.push(Segment::Field(name));
        let r = f(self);
        self.pop();
        r
    }

    /// Runs `f` with `[index]` appended to the path.
    #[inline]
    pub fn index<R>(&mut self, index: usize, f: impl FnOnce(&mut Path) -> R) -> R {
        self.push(Segment::Index(index));
        let r = f(self);
        self.pop();
        r
    }

    #[inline]
    fn push(&mut self, segment: Segment) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = segment,
            None => self.deeper.push(segment),
        }
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) {
        self.len -= 1;
        if self.len >= Path::INLINE {
            self.deeper.pop();
        }
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.inline[..self.len.min(Path::INLINE)]
            .iter()
            .chain(&self.deeper)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments().enumerate() {
            match seg {
                Segment::Unused => {}
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A value whose constraints can be checked. Implemented by every generated type.
pub trait Validate {
    /// Appends the violations of `self`, found at `path`, to `out`.
    fn validate_into(&self, path: &mut Path, out: &mut Violations);

    /// All violations of `self`, as a list (with a truncation marker when capped).
    fn validate(&self) -> Vec<Violation> {
        let mut out = Violations::default();
        self.validate_into(&mut Path::root(), &mut out);
        out.into_vec()
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate_into(&self, path: &mut Path, out: &mut Violations) {
        if let Some(v) = self {
            v.validate_into(path, out);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_into(&self, path: &mut Path, out: &mut Violations) {
        for (i, v) in self.iter().enumerate() {
            path.index(i, |p| v.validate_into(p, out));
        }
    }
}

/// Checks that `value` has between `min` and `max` characters (Unicode scalar values).
pub fn check_length(path: &Path, value: &str, min: u32, max: u32, out: &mut Violations) {
    // A character is 1 to 4 bytes, so the byte length bounds the character count from above
    // and (÷4, rounded up) from below: most values are decided without counting.
    let bytes = value.len();
    if bytes <= max as usize && bytes.div_ceil(4) >= min as usize {
        return;
    }
    let chars = value.chars().count();
    if chars < min as usize || chars > max as usize {
        out.push(
            path,
            Rule::Length,
            format!("length {chars} characters, expected {min} to {max}"),
        );
    }
}

/// Checks that an array has between `min` and `max` elements.
pub fn check_count(path: &Path, len: usize, min: u32, max: u32, out: &mut Violations) {
    if len < min as usize || len > max as usize {
        out.push(
            path,
            Rule::Count,
            format!("{len} elements, expected {min} to {max}"),
        );
    }
}

/// Checks that an enum value is one the catalogue lists.
pub fn check_known<E: crate::types::OpenEnum>(path: &Path, value: &E, out: &mut Violations) {
    if let Some(raw) = value.unknown_value() {
        out.push(
            path,
            Rule::Enum,
            format!("value {raw:?} is not one of {}", E::VALUES.join(", ")),
        );
    }
}

/// Reports an integer that arrived as a JSON string.
pub fn check_int(path: &Path, value: &crate::types::Int, out: &mut Violations) {
    if value.was_quoted() {
        out.push(
            path,
            Rule::Format,
            "integer sent as a JSON string".to_string(),
        );
    }
}

/// The string formats the catalogue knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// RFC 3339 date-time with an offset, fractional seconds allowed: `2015-05-20T13:29:35+08:00`.
    Rfc3339,
    /// `yyyyMMddHHmmss`: `20180225112233`.
    CompactDateTime,
    /// `yyyy-MM-dd HH:mm:ss`: `2018-02-25 11:22:33`.
    SpacedDateTime,
    /// One or more ASCII digits.
    Digits,
}

impl Format {
    /// The format's name in the catalogue.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc3339 => "rfc3339",
            Format::CompactDateTime => "yyyyMMddHHmmss",
            Format::SpacedDateTime => "yyyy-MM-dd HH:mm:ss",
            Format::Digits => "digits",
        }
    }

    /// `true` when `value` fits the format.
    pub fn matches(self, value: &str) -> bool {
        let b = value.as_bytes();
        match self {
            Format::Rfc3339 => crate::time::parse_rfc3339(value).is_some(),
            Format::CompactDateTime => {
                b.len() == 14 && b.iter().all(u8::is_ascii_digit) && crate::time::valid_civil(b)
            }
            Format::SpacedDateTime => {
                b.len() == 19 && {
                    let mut compact = [0u8; 14];
                    let layout = b"dddd-dd-dd dd:dd:dd";
                    let mut j = 0;
                    let mut ok = true;
                    for (c, l) in b.iter().zip(layout) {
                        if *l == b'd' {
                            ok &= c.is_ascii_digit();
                            compact[j] = *c;
                            j += 1;
                        } else {
                            ok &= c == l;
                        }
                    }
                    ok && crate::time::valid_civil(&compact)
                }
            }
            Format::Digits => !b.is_empty() && b.iter().all(u8::is_ascii_digit),
        }
    }
}

/// Checks that a string fits `format`.
pub fn check_format(path: &Path, value: &str, format: Format, out: &mut Violations) {
    if !format.matches(value) {
        out.push(
            path,
            Rule::Format,
            format!("expected {} format", format.as_str()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_json_paths() {
        let mut p = Path::root();
        let s = p.field("promotion_detail", |p| {
            p.index(0, |p| p.field("amount", |p| p.to_string()))
        });
        assert_eq!(s, "promotion_detail[0].amount");
        assert_eq!(p.to_string(), "");
    }

    #[test]
    fn deep_paths_spill_and_unwind() {
        fn nest(p: &mut Path, depth: usize) -> String {
            if depth == 0 {
                return p.to_string();
            }
            let inner = p.field("a", |p| p.index(depth, |p| nest(p, depth - 1)));
            assert_eq!(p.len, 2 * (6 - depth), "each level pops what it pushed");
            inner
        }
        let mut p = Path::root();
        let s = nest(&mut p, 6);
        assert_eq!(s, "a[6].a[5].a[4].a[3].a[2].a[1]");
        assert_eq!(p.to_string(), "");
        assert!(p.deeper.is_empty());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let mut out = Violations::default();
        // 4 characters, 12 bytes: within [1, 4].
        check_length(&Path::root(), "粤B88", 1, 4, &mut out);
        assert!(out.is_empty());
        check_length(&Path::root(), "粤B888", 1, 4, &mut out);
        assert_eq!(out.as_slice().len(), 1);
        // 2 characters in 6 bytes: too short for [3, 128] although the bytes would fit.
        check_length(&Path::root(), "托管", 3, 128, &mut out);
        assert_eq!(out.as_slice().len(), 2);
        assert_eq!(out.as_slice()[0].rule, Rule::Length);
    }

    #[test]
    fn violations_are_capped_with_a_marker() {
        let mut out = Violations::default();
        for _ in 0..MAX_VIOLATIONS + 5 {
            check_length(&Path::root(), "", 1, 2, &mut out);
        }
        let all = out.into_vec();
        assert_eq!(all.len(), MAX_VIOLATIONS + 1);
        assert_eq!(all.last().unwrap().rule, Rule::Truncated);
        assert!(all.last().unwrap().message.starts_with("5 more"));
    }

    #[test]
    fn formats() {
        assert!(Format::Rfc3339.matches("2015-05-20T13:29:35+08:00"));
        assert!(Format::Rfc3339.matches("2015-05-20T13:29:35.120+08:00"));
        assert!(Format::Rfc3339.matches("2015-05-20T13:29:35Z"));
        assert!(!Format::Rfc3339.matches("2015-05-20 13:29:35"));
        assert!(!Format::Rfc3339.matches("2015-02-30T13:29:35+08:00"));
        assert!(Format::CompactDateTime.matches("20180225112233"));
        assert!(!Format::CompactDateTime.matches("20181325112233"));
        assert!(Format::SpacedDateTime.matches("2018-02-25 11:22:33"));
        assert!(!Format::SpacedDateTime.matches("2018-02-25T11:22:33"));
        assert!(Format::Digits.matches("0123"));
        assert!(!Format::Digits.matches(""));
        assert!(!Format::Digits.matches("12a"));
    }
}
