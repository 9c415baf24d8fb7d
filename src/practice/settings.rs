//! What the app (or a test) changes on a running practice EHR besides the global faults:
//! clients added later, faults of single clients, the login page, and where EHR launches go.

use super::{Ehr, Faults, PracticeClient};

impl Ehr {
    /// Registers `client`, replacing a registered client with the same id.
    pub fn add_client(&self, client: PracticeClient) {
        self.with(|s| {
            s.clients.retain(|c| c.client_id != client.client_id);
            s.clients.push(client);
        });
    }

    /// Gives `client_id` its own faults, which replace the global ones (they are not merged)
    /// wherever the client is known: authorize, token, refresh, id_token, and FHIR reads with
    /// its access tokens. Discovery and the JWKS keep the global faults. The client need not be
    /// registered yet.
    pub fn set_client_faults(&self, client_id: &str, faults: Faults) {
        self.with(|s| s.client_faults.insert(client_id.to_owned(), faults));
    }

    /// The faults that apply to `client_id`: its own if it has them, else the global ones.
    pub fn faults_for(&self, client_id: &str) -> Faults {
        self.with(|s| s.faults_for(Some(client_id)))
    }

    /// With `on`, a valid authorize request shows a login page (client, scopes, patient, "Sign
    /// in as Dr. Adele Smith" and "Cancel") and the redirect back waits for the user's click.
    /// Off by default: authorize then redirects at once.
    pub fn set_require_login(&self, on: bool) {
        self.with(|s| s.require_login = on);
    }

    /// The app's launch URL: "Launch the app" on the EHR page sends the browser to
    /// `{url}?iss={fhir_base}&launch={code}` (existing query parameters are kept). Launching is
    /// unavailable until it is set; a URL that does not parse is kept but refused at launch.
    pub fn set_app_launch_url(&self, url: &str) {
        if url::Url::parse(url).is_err() {
            tracing::warn!(
                url,
                "practice EHR: the app launch URL is not an absolute URL"
            );
        }
        self.with(|s| s.app_launch_url = Some(url.to_owned()));
    }
}
