//! String escaping per RFC 8785 §3.2.2.2: the fewest escapes JSON allows, so the bytes depend
//! only on the string's code points and never on which library wrote them.

/// Append `s` to `out` as a JSON string literal in canonical form.
pub(crate) fn write_escaped(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xF]));
            }
            // U+007F, '/', '<' and all non-ASCII stay as they are (raw UTF-8).
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::write_escaped;

    fn esc(s: &str) -> String {
        let mut out = String::new();
        write_escaped(&mut out, s);
        out
    }

    #[test]
    fn short_forms_for_the_five_named_controls() {
        assert_eq!(esc("\u{8}\t\n\u{c}\r"), r#""\b\t\n\f\r""#);
    }

    #[test]
    fn other_controls_are_lowercase_u00xx() {
        assert_eq!(
            esc("\u{0}\u{1}\u{b}\u{f}\u{1f}"),
            r#""\u0000\u0001\u000b\u000f\u001f""#
        );
    }

    #[test]
    fn quote_and_backslash_are_escaped_solidus_is_not() {
        assert_eq!(esc(r#"a"b\c/d"#), r#""a\"b\\c/d""#);
    }

    #[test]
    fn delete_and_non_ascii_are_raw_utf8() {
        assert_eq!(esc("\u{7f}\u{80}é€😂"), "\"\u{7f}\u{80}é€😂\"");
        assert_eq!(esc("</script>"), "\"</script>\"");
    }
}
