//! A parser and evaluator for SCIM-style filter expressions
//! (`profile.email eq "a@b.c" and (status eq "ACTIVE" or status eq "SUSPENDED")`),
//! the syntax Okta uses for `filter` and `search` query parameters and for
//! System Log queries.
//!
//! The evaluator is attribute-agnostic: callers supply the values of an
//! attribute for one record and decide which attributes and operators they
//! accept, because each endpoint supports a different subset.

use std::cmp::Ordering;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Starts with.
    Sw,
    /// Ends with.
    Ew,
    /// Contains.
    Co,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Present (has a value).
    Pr,
}

impl Op {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "co" => Self::Co,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            "pr" => Self::Pr,
            _ => return None,
        })
    }
}

/// A parsed filter expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `attr op value` (or `attr pr`).
    Compare {
        /// Attribute path, as written (`profile.email`).
        attr: String,
        /// The operator.
        op: Op,
        /// The literal, without quotes; `None` for `pr`.
        value: Option<String>,
    },
    /// Both sides hold.
    And(Box<Expr>, Box<Expr>),
    /// Either side holds.
    Or(Box<Expr>, Box<Expr>),
    /// The inner expression does not hold.
    Not(Box<Expr>),
}

/// Why a filter could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The expression stopped before it was complete.
    #[error("unexpected end of filter expression")]
    UnexpectedEnd,
    /// A token appeared where it makes no sense.
    #[error("unexpected token `{0}` in filter expression")]
    Unexpected(String),
    /// A quoted string was not closed.
    #[error("unterminated string in filter expression")]
    UnterminatedString,
    /// The word in operator position is not an operator.
    #[error("unknown operator `{0}`")]
    UnknownOperator(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Str(String),
    Word(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Open => "(".into(),
            Self::Close => ")".into(),
            Self::Str(s) => format!("\"{s}\""),
            Self::Word(w) => w.clone(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Parses a filter expression.
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(input)?;
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some(token) => Err(FilterError::Unexpected(token.describe())),
    }
}

impl Expr {
    /// Evaluates the expression against one record. `values` returns every
    /// value the record has for an attribute (several for array attributes
    /// such as a log event's `target.id`; none when absent). A comparison
    /// holds when any value satisfies it.
    pub fn matches(&self, values: &dyn Fn(&str) -> Vec<String>, case_insensitive: bool) -> bool {
        match self {
            Self::And(a, b) => {
                a.matches(values, case_insensitive) && b.matches(values, case_insensitive)
            }
            Self::Or(a, b) => {
                a.matches(values, case_insensitive) || b.matches(values, case_insensitive)
            }
            Self::Not(inner) => !inner.matches(values, case_insensitive),
            Self::Compare { attr, op, value } => {
                let found = values(attr);
                let Some(literal) = value else {
                    return !found.is_empty();
                };
                let fold = |s: &str| {
                    if case_insensitive {
                        s.to_lowercase()
                    } else {
                        s.to_owned()
                    }
                };
                let literal = fold(literal);
                if *op == Op::Ne {
                    return found.iter().all(|v| fold(v) != literal);
                }
                found.iter().any(|v| compare(&fold(v), *op, &literal))
            }
        }
    }

    /// Every `(attribute, operator)` pair used, so callers can reject
    /// attributes or operators their endpoint does not support.
    pub fn comparisons(&self) -> Vec<(&str, Op)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    /// Whether the expression uses `not`.
    pub fn uses_not(&self) -> bool {
        match self {
            Self::Not(_) => true,
            Self::And(a, b) | Self::Or(a, b) => a.uses_not() || b.uses_not(),
            Self::Compare { .. } => false,
        }
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a str, Op)>) {
        match self {
            Self::Compare { attr, op, .. } => out.push((attr, *op)),
            Self::And(a, b) | Self::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Self::Not(inner) => inner.collect(out),
        }
    }
}

fn compare(value: &str, op: Op, literal: &str) -> bool {
    match op {
        Op::Eq => value == literal,
        Op::Ne => value != literal,
        Op::Sw => value.starts_with(literal),
        Op::Ew => value.ends_with(literal),
        Op::Co => value.contains(literal),
        Op::Gt => value.cmp(literal) == Ordering::Greater,
        Op::Ge => value.cmp(literal) != Ordering::Less,
        Op::Lt => value.cmp(literal) == Ordering::Less,
        Op::Le => value.cmp(literal) != Ordering::Greater,
        Op::Pr => true,
    }
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(FilterError::UnterminatedString),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err(FilterError::UnterminatedString),
                            Some(escaped) => s.push(escaped),
                        },
                        Some(other) => s.push(other),
                    }
                }
                tokens.push(Token::Str(s));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Result<Token, FilterError> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or(FilterError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(token)
    }

    fn expect_close(&mut self) -> Result<(), FilterError> {
        match self.next()? {
            Token::Close => Ok(()),
            other => Err(FilterError::Unexpected(other.describe())),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and_expr()?;
        while self.peek().is_some_and(|t| t.is_keyword("or")) {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek().is_some_and(|t| t.is_keyword("and")) {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        match self.next()? {
            Token::Open => {
                let inner = self.or_expr()?;
                self.expect_close()?;
                Ok(inner)
            }
            Token::Word(w) if w.eq_ignore_ascii_case("not") => {
                match self.next()? {
                    Token::Open => {}
                    other => return Err(FilterError::Unexpected(other.describe())),
                }
                let inner = self.or_expr()?;
                self.expect_close()?;
                Ok(Expr::Not(Box::new(inner)))
            }
            Token::Word(attr) => {
                let op = match self.next()? {
                    Token::Word(op) => {
                        Op::from_word(&op).ok_or(FilterError::UnknownOperator(op))?
                    }
                    other => return Err(FilterError::Unexpected(other.describe())),
                };
                let value = if op == Op::Pr {
                    None
                } else {
                    match self.next()? {
                        Token::Str(s) | Token::Word(s) => Some(s),
                        other => return Err(FilterError::Unexpected(other.describe())),
                    }
                };
                Ok(Expr::Compare { attr, op, value })
            }
            other => Err(FilterError::Unexpected(other.describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(attr: &str) -> Vec<String> {
        match attr {
            "status" => vec!["ACTIVE".into()],
            "profile.email" => vec!["Jane.Doe@example.com".into()],
            "target.id" => vec!["00u1".into(), "00g1".into()],
            _ => vec![],
        }
    }

    #[test]
    fn parses_and_evaluates_boolean_structure() {
        let expr =
            parse(r#"status eq "SUSPENDED" or (profile.email eq "jane.doe@example.com" and target.id eq "00g1")"#)
                .unwrap();
        assert!(expr.matches(&record, true));
        assert!(!expr.matches(&record, false));
        assert_eq!(expr.comparisons().len(), 3);
    }

    #[test]
    fn supports_not_pr_and_ordering() {
        assert!(
            parse(r#"not (status eq "SUSPENDED")"#)
                .unwrap()
                .matches(&record, false)
        );
        assert!(parse("profile.email pr").unwrap().matches(&record, false));
        assert!(!parse("profile.title pr").unwrap().matches(&record, false));
        assert!(parse(r#"status gt "A""#).unwrap().matches(&record, false));
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(
            parse(r#"status eq "x"#),
            Err(FilterError::UnterminatedString)
        );
        assert_eq!(
            parse(r#"status is "x""#),
            Err(FilterError::UnknownOperator("is".into()))
        );
        assert_eq!(parse("status eq"), Err(FilterError::UnexpectedEnd));
        assert!(parse(r#"(status eq "x""#).is_err());
        assert!(parse(r#"status eq "x" )"#).is_err());
    }
}
