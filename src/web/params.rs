//! A request's query parameters as given: duplicates kept, so a handler can refuse them.

use std::borrow::Cow;

/// Query parameters, keeping duplicates so they can be refused; borrowed from the query where
/// nothing was percent-encoded.
pub struct Params<'q>(Vec<(Cow<'q, str>, Cow<'q, str>)>);

impl<'q> Params<'q> {
    pub fn parse(raw: Option<&'q str>) -> Self {
        Params(url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()).collect())
    }

    /// All values of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    /// The single non-empty value of `name`; `Err` with the count when given twice.
    pub fn one(&self, name: &str) -> Result<Option<&str>, usize> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [v] if v.trim().is_empty() => Ok(None),
            [v] => Ok(Some(v)),
            many => Err(many.len()),
        }
    }
}
