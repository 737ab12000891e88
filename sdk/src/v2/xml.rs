//! The APIv2 body: one root element holding flat child elements of text, parsed defensively.
//!
//! - UTF-8 only; the caller caps the size before anything is parsed.
//! - No DTD: a `<!DOCTYPE …>` is refused before any of it is read, so no entity is ever
//!   declared, let alone expanded. References other than the five predefined entities and
//!   character references are refused.
//! - Flat: the root's children hold text (plain, CDATA, or both); an element inside a child
//!   is refused (the depth limit is 2), and so are more than [`MAX_ELEMENTS`] children.
//! - A child element that appears twice is an error, never a silent overwrite: the sign covers
//!   one value per name.
//! - Exactly one root, with the expected name; anything but whitespace, comments and the XML
//!   declaration outside it is refused; a body that ends before its root closes is truncated.

use quick_xml::events::Event;

/// How many child elements a body may have (the richest notification has a few dozen).
pub const MAX_ELEMENTS: usize = 512;

/// A flat XML document: its child elements' names and text, in document order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlatXml {
    entries: Vec<(String, String)>,
}

impl FlatXml {
    /// The elements, in document order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// The text of element `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text of element `name`, if present and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Sets element `name` to `value`: in place when present, appended otherwise.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name.to_owned(), value)),
        }
    }

    /// Removes element `name`; returns its text.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.entries.iter().position(|(k, _)| k == name)?;
        Some(self.entries.remove(i).1)
    }

    /// A document from its elements (names must be unique), for tests and the test kit.
    pub fn from_entries(entries: Vec<(String, String)>) -> Self {
        FlatXml { entries }
    }

    /// Writes the document back as XML under `root`, every value in CDATA (split where the
    /// value itself holds `]]>`).
    pub fn to_xml(&self, root: &str) -> String {
        let mut out = format!("<{root}>");
        for (k, v) in &self.entries {
            out.push_str(&format!(
                "<{k}><![CDATA[{}]]></{k}>",
                v.replace("]]>", "]]]]><![CDATA[>")
            ));
        }
        out.push_str(&format!("</{root}>"));
        out
    }
}

/// What is wrong with an XML document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum XmlFault {
    /// Not well-formed, truncated, not UTF-8, or not shaped as a flat notification.
    Malformed,
    /// A DTD, or a reference to an entity XML does not predefine.
    Entity,
    /// A child element appears more than once.
    Duplicate,
    /// Nested deeper than the flat shape allows, or too many elements.
    Limit,
}

/// An XML document was refused: what, and at which element (`xml.coupon_id`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at {path}")]
pub struct XmlError {
    /// The kind of fault.
    pub fault: XmlFault,
    /// The element at fault: the document's name (`xml`, `req_info`), then element names,
    /// joined by `.`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Parses a flat document whose root must be `root`; `label` names the document in error
/// paths (`xml` for a body, `req_info` for a decrypted field).
///
/// # Errors
/// [`XmlError`], located at the element at fault.
pub fn parse_flat(input: &[u8], root: &str, label: &str) -> Result<FlatXml, XmlError> {
    let err = |fault, path: String, message: String| XmlError {
        fault,
        path,
        message,
    };
    let text = std::str::from_utf8(input).map_err(|e| {
        err(
            XmlFault::Malformed,
            label.to_owned(),
            format!("not UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;

    let mut out = FlatXml::default();
    let mut depth = 0usize;
    let mut root_done = false;
    let mut child: Option<Child> = None;
    loop {
        let here = |child: &Option<Child>| match child {
            Some(c) => format!("{label}.{}", c.name),
            None => label.to_owned(),
        };
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                return Err(err(
                    XmlFault::Malformed,
                    here(&child),
                    format!("not well-formed XML: {e}"),
                ));
            }
        };
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Decl(_) if depth == 0 && !root_done && out.entries.is_empty() => {}
            Event::Decl(_) => {
                let msg = "an XML declaration after the start".to_owned();
                return Err(err(XmlFault::Malformed, here(&child), msg));
            }
            Event::DocType(_) => {
                let msg = "a DTD (<!DOCTYPE>) is not allowed".to_owned();
                return Err(err(XmlFault::Entity, label.to_owned(), msg));
            }
            Event::PI(_) => {
                let msg = "a processing instruction is not allowed".to_owned();
                return Err(err(XmlFault::Malformed, here(&child), msg));
            }
            Event::Comment(_) => {}
            Event::Start(e) | Event::Empty(e) if depth == 0 => {
                let name = e.name().as_ref().to_owned();
                if root_done {
                    let msg = format!("a second root element <{name}>");
                    return Err(err(XmlFault::Malformed, label.to_owned(), msg));
                }
                if name != root {
                    let msg = format!("the root element is <{name}>, expected <{root}>");
                    return Err(err(XmlFault::Malformed, label.to_owned(), msg));
                }
                if empty {
                    root_done = true;
                } else {
                    depth = 1;
                }
            }
            Event::Start(e) | Event::Empty(e) if depth == 1 => {
                let name = e.name().as_ref().to_owned();
                if out.entries.len() >= MAX_ELEMENTS {
                    let msg = format!("more than {MAX_ELEMENTS} elements");
                    return Err(err(XmlFault::Limit, label.to_owned(), msg));
                }
                let c = Child {
                    name,
                    pieces: Vec::new(),
                };
                if empty {
                    finish(&mut out, c, label)?;
                } else {
                    child = Some(c);
                    depth = 2;
                }
            }
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                let msg = format!(
                    "element <{name}> nested inside an element: notifications are flat (depth limit 2)"
                );
                return Err(err(
                    XmlFault::Limit,
                    format!("{}.{name}", here(&child)),
                    msg,
                ));
            }
            Event::Text(t) => {
                // Entity references arrive as their own events; the text is as written.
                let piece = t.into_inner();
                match &mut child {
                    Some(c) => c.pieces.push(Piece::Text(piece.into_owned())),
                    None if piece.trim().is_empty() => {}
                    None => {
                        let msg = "text outside a field element".to_owned();
                        return Err(err(XmlFault::Malformed, label.to_owned(), msg));
                    }
                }
            }
            Event::GeneralRef(r) => {
                let Some(c) = &mut child else {
                    let msg = "an entity reference outside a field element".to_owned();
                    return Err(err(XmlFault::Malformed, label.to_owned(), msg));
                };
                let path = format!("{label}.{}", c.name);
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten().ok_or_else(|| {
                        err(
                            XmlFault::Malformed,
                            path.clone(),
                            "a bad character reference".to_owned(),
                        )
                    })?
                } else {
                    match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            let msg = format!("reference to the undefined entity &{other};");
                            return Err(err(XmlFault::Entity, path, msg));
                        }
                    }
                };
                c.pieces.push(Piece::Text(ch.to_string()));
            }
            Event::CData(d) => {
                let piece = d.into_inner();
                let Some(c) = &mut child else {
                    let msg = "CDATA outside a field element".to_owned();
                    return Err(err(XmlFault::Malformed, label.to_owned(), msg));
                };
                c.pieces.push(Piece::CData(piece.into_owned()));
            }
            Event::End(_) if depth == 2 => {
                if let Some(c) = child.take() {
                    finish(&mut out, c, label)?;
                }
                depth = 1;
            }
            Event::End(_) => {
                depth = 0;
                root_done = true;
            }
            Event::Eof => {
                if depth > 0 {
                    let msg = "truncated: the document ends before its elements close".to_owned();
                    return Err(err(XmlFault::Malformed, here(&child), msg));
                }
                if !root_done {
                    let msg = format!("no <{root}> element");
                    return Err(err(XmlFault::Malformed, label.to_owned(), msg));
                }
                return Ok(out);
            }
        }
    }
}

struct Child {
    name: String,
    pieces: Vec<Piece>,
}

enum Piece {
    Text(String),
    CData(String),
}

/// Closes a child: its value (CDATA pieces, with the whitespace around them dropped; plain
/// text as is), refusing a name seen before.
fn finish(out: &mut FlatXml, c: Child, label: &str) -> Result<(), XmlError> {
    if out.entries.iter().any(|(k, _)| *k == c.name) {
        return Err(XmlError {
            fault: XmlFault::Duplicate,
            path: format!("{label}.{}", c.name),
            message: format!("the element <{}> appears more than once", c.name),
        });
    }
    let has_cdata = c.pieces.iter().any(|p| matches!(p, Piece::CData(_)));
    let mut value = String::new();
    for p in &c.pieces {
        match p {
            Piece::CData(s) => value.push_str(s),
            Piece::Text(s) if has_cdata && s.trim().is_empty() => {}
            Piece::Text(s) => value.push_str(s),
        }
    }
    out.entries.push((c.name, value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FlatXml, XmlError> {
        parse_flat(s.as_bytes(), "xml", "xml")
    }

    #[test]
    fn cdata_and_plain_text() {
        let x = parse(
            "<?xml version=\"1.0\"?>\n<xml>\n  <a><![CDATA[支付 测试]]></a>\n  <b>1</b><c> <![CDATA[x]]> </c><d/><e></e><f>a&amp;b&#x41;</f><g><![CDATA[p]]>q</g>\n</xml>\n",
        )
        .unwrap();
        let got: Vec<(&str, &str)> = x
            .entries()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "支付 测试"),
                ("b", "1"),
                ("c", "x"),
                ("d", ""),
                ("e", ""),
                ("f", "a&bA"),
                ("g", "pq")
            ]
        );
    }

    #[test]
    fn a_space_before_the_closing_bracket_is_the_same_name() {
        let x = parse("<xml><out_order_no >12</out_order_no></xml>").unwrap();
        assert_eq!(x.get("out_order_no"), Some("12"));
    }

    #[test]
    fn refusals() {
        let cases = [
            ("<xml><a>1</a><a>2</a></xml>", XmlFault::Duplicate, "xml.a"),
            ("<xml><a>1</a>", XmlFault::Malformed, "xml"),
            ("<xml><a>1", XmlFault::Malformed, "xml.a"),
            ("<xml><a><b>1</b></a></xml>", XmlFault::Limit, "xml.a.b"),
            ("<root><a>1</a></root>", XmlFault::Malformed, "xml"),
            ("<xml></xml><xml></xml>", XmlFault::Malformed, "xml"),
            ("<xml>text</xml>", XmlFault::Malformed, "xml"),
            ("<xml><a>&ent;</a></xml>", XmlFault::Entity, "xml.a"),
            (
                "<!DOCTYPE xml [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><xml><a>&b;</a></xml>",
                XmlFault::Entity,
                "xml",
            ),
            (
                "<!DOCTYPE xml SYSTEM \"file:///etc/passwd\"><xml><a>1</a></xml>",
                XmlFault::Entity,
                "xml",
            ),
            ("<xml><a>1</b></xml>", XmlFault::Malformed, "xml.a"),
            ("", XmlFault::Malformed, "xml"),
            ("<xml><?pi x?></xml>", XmlFault::Malformed, "xml"),
        ];
        for (input, fault, path) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!((e.fault, e.path.as_str()), (fault, path), "{input}: {e}");
        }
        let e = parse_flat(b"<xml>\xff</xml>", "xml", "xml").unwrap_err();
        assert_eq!(e.fault, XmlFault::Malformed);
        let many: String = (0..=MAX_ELEMENTS)
            .map(|i| format!("<e{i}>1</e{i}>"))
            .collect();
        let e = parse(&format!("<xml>{many}</xml>")).unwrap_err();
        assert_eq!(e.fault, XmlFault::Limit);
    }

    #[test]
    fn writing_back_round_trips() {
        let x = FlatXml::from_entries(vec![
            ("a".into(), "x]]>y".into()),
            ("b".into(), "<&>".into()),
        ]);
        assert_eq!(parse(&x.to_xml("xml")).unwrap(), x);
    }
}
