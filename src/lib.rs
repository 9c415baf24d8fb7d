//! smart-launch-doctor: a SMART App Launch client that performs EHR and standalone launches and
//! explains, with evidence, why one failed.

#[macro_use]
pub mod diagnosis;
pub mod check;
pub mod config;
pub mod flow;
pub mod gallery;
pub mod har;
pub mod metrics;
pub mod monitor;
pub mod phi;
pub mod practice;
pub mod record;
pub mod seal;
pub mod smart;
pub mod state;
pub mod store;
pub mod web;

pub use web::AppState;

/// The application's router; tests call it in-process or serve it on `127.0.0.1:0`.
pub fn app(state: AppState) -> axum::Router {
    web::router(state)
}
