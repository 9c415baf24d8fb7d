//! A request's query parameters as given: duplicates kept, so a handler can refuse them.

/// Query parameters, keeping duplicates so they can be refused.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        Params(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// All values of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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
