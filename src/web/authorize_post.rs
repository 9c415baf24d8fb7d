//! The authorization request as an auto-submitted form (`authorize_method = "post"`, SMART 2.2
//! `authorize-post`): the same parameters as the redirect's query, POSTed to the authorize
//! endpoint. `static/app.js` submits it; a visible Continue button serves browsers without
//! script. The CSP has no `form-action` directive, so the form may target the endpoint's
//! origin, which discovery names at run time; nothing else about the CSP changes.

use askama::Template;
use axum::response::Response;

use super::Problem;
use super::views;

#[derive(Template)]
#[template(path = "authorize_post.html")]
struct AuthorizePostPage {
    action: String,
    host: String,
    fields: Vec<(String, String)>,
}

/// The page for the authorization request `url` (built for a redirect): its query becomes the
/// form's fields, the rest the form's target.
pub fn page(url: &str) -> Result<Response, Problem> {
    let mut target = url::Url::parse(url).map_err(|e| {
        Problem::plain(
            http::StatusCode::BAD_GATEWAY,
            "Unusable authorization endpoint",
            format!("The authorization request could not be built as a form: {e}"),
        )
    })?;
    let fields: Vec<(String, String)> = target.query_pairs().into_owned().collect();
    target.set_query(None);
    let page = AuthorizePostPage {
        host: target.host_str().unwrap_or("the EHR").to_string(),
        action: target.to_string(),
        fields,
    };
    views::render_page(&page)
}
