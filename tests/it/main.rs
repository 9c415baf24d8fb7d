//! The one integration-test binary: the app on 127.0.0.1:0 against the strict fake EHR, and
//! (ignored unless asked for) against an independent oidc-provider peer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod sessions;
mod signout;
mod sweep;

mod active_probes;
mod adhoc;
mod agreement;
mod backend;
mod backend_secret;
mod binary;
mod browser;
mod bytes;
mod caches;
mod callback;
mod case_file;
mod catalogue;
mod chaos;
mod check;
mod check_verdict;
mod corpus;
mod csrf;
mod diagnoses;
mod explain;
mod faults;
mod fhir_reads;
mod gallery;
mod har;
mod hardening;
mod hostile;
mod id_scan;
mod id_token_rules;
mod identity;
mod inert;
mod launch;
mod layering;
mod layout;
mod load;
mod monitor;
mod never_returned;
mod ops;
mod pages;
mod peer;
mod readme;
mod reasoning;
mod results;
mod scorecard;
mod secrets;
mod token;
mod upstream;
mod words;
