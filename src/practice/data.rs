//! The practice EHR's small, made-up chart: a few patients with their encounters, and the
//! practitioners, Dr. Adele Smith first (every launch signs in as her). The FHIR reads serve
//! them as R4 JSON, the login page offers the patients, and the EHR page launches with them.

use serde_json::{Value, json};

use super::STANDALONE_PATIENT;
use super::id_token::PRACTITIONER_ID;

/// A patient of the chart.
pub(super) struct Patient {
    pub(super) id: &'static str,
    pub(super) given: &'static str,
    pub(super) family: &'static str,
    /// FHIR `administrative-gender`.
    pub(super) gender: &'static str,
    pub(super) birth_date: &'static str,
}

impl Patient {
    /// "Given Family".
    pub(super) fn display(&self) -> String {
        format!("{} {}", self.given, self.family)
    }
}

/// An encounter of a patient of the chart.
pub(super) struct Encounter {
    pub(super) id: &'static str,
    pub(super) patient: &'static str,
    /// FHIR `encounter-status`.
    pub(super) status: &'static str,
    /// v3 ActCode: `AMB`, `EMER`, `IMP`.
    pub(super) class: (&'static str, &'static str),
    pub(super) reason: &'static str,
    pub(super) start: &'static str,
    pub(super) practitioner: &'static str,
}

/// A practitioner of the chart.
pub(super) struct Practitioner {
    pub(super) id: &'static str,
    pub(super) given: &'static str,
    pub(super) family: &'static str,
}

/// The patients; the first is the default of a standalone `launch/patient` launch.
pub(super) const PATIENTS: [Patient; 3] = [
    Patient {
        id: STANDALONE_PATIENT,
        given: "Amy",
        family: "Shaw",
        gender: "female",
        birth_date: "1987-02-20",
    },
    Patient {
        id: "smart-7321938",
        given: "Daniel",
        family: "Adams",
        gender: "male",
        birth_date: "1951-08-23",
    },
    Patient {
        id: "smart-1557780",
        given: "Lucía",
        family: "Ortega",
        gender: "female",
        birth_date: "2012-05-04",
    },
];

/// The encounters, by patient.
pub(super) const ENCOUNTERS: [Encounter; 4] = [
    Encounter {
        id: "encounter-shaw-2024-05",
        patient: STANDALONE_PATIENT,
        status: "in-progress",
        class: ("AMB", "ambulatory"),
        reason: "Annual check-up",
        start: "2024-05-02T09:30:00Z",
        practitioner: PRACTITIONER_ID,
    },
    Encounter {
        id: "encounter-adams-2024-03",
        patient: "smart-7321938",
        status: "finished",
        class: ("EMER", "emergency"),
        reason: "Chest pain",
        start: "2024-03-11T22:05:00Z",
        practitioner: "practitioner-haddad",
    },
    Encounter {
        id: "encounter-adams-2024-06",
        patient: "smart-7321938",
        status: "in-progress",
        class: ("AMB", "ambulatory"),
        reason: "Cardiology follow-up",
        start: "2024-06-20T14:00:00Z",
        practitioner: PRACTITIONER_ID,
    },
    Encounter {
        id: "encounter-ortega-2024-04",
        patient: "smart-1557780",
        status: "in-progress",
        class: ("AMB", "ambulatory"),
        reason: "Asthma review",
        start: "2024-04-08T10:15:00Z",
        practitioner: PRACTITIONER_ID,
    },
];

/// The practitioners; the first is the signed-in user (`sub` and `fhirUser` of the id_token).
pub(super) const PRACTITIONERS: [Practitioner; 2] = [
    Practitioner {
        id: PRACTITIONER_ID,
        given: "Adele",
        family: "Smith",
    },
    Practitioner {
        id: "practitioner-haddad",
        given: "Omar",
        family: "Haddad",
    },
];

/// The chart's patient `id`.
pub(super) fn patient(id: &str) -> Option<&'static Patient> {
    PATIENTS.iter().find(|p| p.id == id)
}

/// The chart's encounter `id`.
pub(super) fn encounter(id: &str) -> Option<&'static Encounter> {
    ENCOUNTERS.iter().find(|e| e.id == id)
}

/// The encounters of patient `id`.
pub(super) fn encounters_of(patient: &str) -> impl Iterator<Item = &'static Encounter> {
    ENCOUNTERS.iter().filter(move |e| e.patient == patient)
}

/// A Patient resource.
pub(super) fn patient_json(p: &Patient) -> Value {
    json!({
        "resourceType": "Patient",
        "id": p.id,
        "active": true,
        "name": [{ "use": "official", "given": [p.given], "family": p.family }],
        "gender": p.gender,
        "birthDate": p.birth_date,
    })
}

/// An Encounter resource.
pub(super) fn encounter_json(e: &Encounter) -> Value {
    json!({
        "resourceType": "Encounter",
        "id": e.id,
        "status": e.status,
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": e.class.0,
            "display": e.class.1,
        },
        "subject": { "reference": format!("Patient/{}", e.patient) },
        "participant": [{ "individual": { "reference": format!("Practitioner/{}", e.practitioner) } }],
        "period": { "start": e.start },
        "reasonCode": [{ "text": e.reason }],
    })
}

/// A Practitioner resource, or `None` for an id not in the chart.
pub(super) fn practitioner_json(id: &str) -> Option<Value> {
    let p = PRACTITIONERS.iter().find(|p| p.id == id)?;
    Some(json!({
        "resourceType": "Practitioner",
        "id": p.id,
        "active": true,
        "name": [{ "given": [p.given], "family": p.family, "prefix": ["Dr."] }],
    }))
}

/// The clinic every launch happens at, sent as `fhirContext` (SMART 2.2) and readable.
pub(super) const CLINIC_REFERENCE: &str = "Location/practice-clinic";

/// The clinic's Location resource, or `None` for another id.
pub(super) fn location_json(id: &str) -> Option<Value> {
    (id == "practice-clinic").then(|| {
        json!({
            "resourceType": "Location",
            "id": "practice-clinic",
            "status": "active",
            "name": "Practice Clinic, 2nd floor",
            "mode": "instance",
        })
    })
}
