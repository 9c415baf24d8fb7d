//! The built-in practice EHR's registrations (added when `practice_ehr` is on).

use std::sync::Arc;

use super::{ClientAuth, Config, Registration, Secret};
use crate::smart::client_auth::SigningKey;

/// The id and client id of the built-in practice registration.
pub const PRACTICE_ID: &str = "practice";
/// Path prefix of the sloppy practice EHR.
pub const PRACTICE_SLOPPY_PREFIX: &str = "/practice-sloppy";

pub const PRACTICE_CLIENT_ID: &str = "practice-app";
/// The id and client id of the built-in practice Backend Services registration.
pub const PRACTICE_BACKEND_ID: &str = "practice-backend";
/// The id and client id of the built-in client_credentials registration with a client secret.
pub const PRACTICE_BACKEND_SECRET_ID: &str = "practice-backend-secret";
/// The secret the practice EHR holds for [`PRACTICE_BACKEND_SECRET_ID`] (a practice value,
/// never a real credential; reserved characters so RFC 6749 §2.3.1 encoding matters).
pub const PRACTICE_BACKEND_SECRET: &str = "practice backend secret: 100% + fun";

impl Config {
    /// The FHIR base of the built-in practice EHR.
    pub fn practice_fhir_base(&self) -> String {
        format!(
            "{}/practice/fhir",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    /// The FHIR base of the sloppy practice EHR (gallery entries that show server deviations).
    pub fn practice_sloppy_fhir_base(&self) -> String {
        format!(
            "{}{PRACTICE_SLOPPY_PREFIX}/fhir",
            self.public_url.as_str().trim_end_matches('/')
        )
    }

    /// Whether `iss` is one of the built-in practice EHRs (trusted like a registration).
    pub fn is_practice_base(&self, iss: &str) -> bool {
        self.practice_ehr && iss.trim_end_matches('/') == self.practice_sloppy_fhir_base()
    }

    /// Adds the `practice` registration when the practice EHR is on (unless one is configured).
    pub(super) fn with_practice(mut self) -> Self {
        if self.practice_ehr && self.registration(PRACTICE_ID).is_none() {
            let scope = "launch openid fhirUser patient/*.read offline_access";
            self.registrations.insert(
                0,
                Registration::simple(
                    PRACTICE_ID,
                    "Practice EHR (built in)",
                    self.practice_fhir_base(),
                    PRACTICE_CLIENT_ID,
                    ClientAuth::None,
                    scope,
                ),
            );
        }
        if self.practice_ehr && self.registration(PRACTICE_BACKEND_ID).is_none() {
            self = self.with_practice_backend();
        }
        if self.practice_ehr && self.registration(PRACTICE_BACKEND_SECRET_ID).is_none() {
            self = self.with_practice_backend_secret();
        }
        self
    }

    /// Adds the `practice-backend-secret` registration: a client_credentials client of the
    /// practice EHR with a client secret (client_secret_basic), the non-SMART variant many
    /// deployments run.
    fn with_practice_backend_secret(mut self) -> Self {
        let mut reg = Registration::simple(
            PRACTICE_BACKEND_SECRET_ID,
            "Practice EHR backend client with a secret (built in)",
            self.practice_fhir_base(),
            PRACTICE_BACKEND_SECRET_ID,
            ClientAuth::Basic(Secret::new(PRACTICE_BACKEND_SECRET)),
            "system/*.read",
        );
        reg.backend = true;
        let at = self
            .registrations
            .iter()
            .position(|r| r.id == PRACTICE_BACKEND_ID)
            .map_or(0, |i| i + 1);
        self.registrations
            .insert(at.min(self.registrations.len()), reg);
        self
    }

    /// Adds the `practice-backend` registration: a Backend Services client of the practice EHR
    /// with a key made for this process (the practice EHR registers its public half).
    fn with_practice_backend(mut self) -> Self {
        let key = match SigningKey::generate("ES384") {
            Ok((_, key)) => key,
            Err(why) => {
                tracing::warn!(%why, "no practice-backend registration: key generation failed");
                return self;
            }
        };
        let mut reg = Registration::simple(
            PRACTICE_BACKEND_ID,
            "Practice EHR backend client (built in)",
            self.practice_fhir_base(),
            PRACTICE_BACKEND_ID,
            ClientAuth::PrivateKeyJwt(Arc::new(key)),
            "system/*.read",
        );
        reg.backend = true;
        let at = self.registration(PRACTICE_ID).map_or(0, |_| 1);
        self.registrations
            .insert(at.min(self.registrations.len()), reg);
        self
    }
}
