//! SMART 2.2 launch context from the token response (`patient`, `encounter`, `fhirContext`,
//! `intent`, `tenant`, `need_patient_banner`, `smart_style_url`): each field explained and
//! validated. Pure functions; the reads of `fhirContext` references happen in `flow/`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::conformance::Check;
use crate::smart::token_response::SmartTokenResponse;

/// FHIR R4 resource types (a `fhirContext` reference must name one).
const RESOURCE_TYPES: &str = "Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment \
AppointmentResponse AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle \
CapabilityStatement CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim \
ClaimResponse ClinicalImpression CodeSystem Communication CommunicationRequest \
CompartmentDefinition Composition ConceptMap Condition Consent Contract Coverage \
CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device DeviceDefinition \
DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest \
DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest \
EnrollmentResponse EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario \
ExplanationOfBenefit FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse \
HealthcareService ImagingStudy Immunization ImmunizationEvaluation ImmunizationRecommendation \
ImplementationGuide InsurancePlan Invoice Library Linkage List Location Measure MeasureReport \
Media Medication MedicationAdministration MedicationDispense MedicationKnowledge \
MedicationRequest MedicationStatement MedicinalProduct MessageDefinition MessageHeader \
MolecularSequence NamingSystem NutritionOrder Observation ObservationDefinition \
OperationDefinition OperationOutcome Organization OrganizationAffiliation Parameters Patient \
PaymentNotice PaymentReconciliation Person PlanDefinition Practitioner PractitionerRole \
Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson RequestGroup \
ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment \
RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen \
SpecimenDefinition StructureDefinition StructureMap Subscription Substance SupplyDelivery \
SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet VerificationResult \
VisionPrescription";

/// Whether `ty` is a FHIR R4 resource type.
pub fn known_type(ty: &str) -> bool {
    RESOURCE_TYPES.split_whitespace().any(|t| t == ty)
}

/// Why one `fhirContext` item is invalid, or `None` when it is valid.
pub fn item_problem(item: &Value) -> Option<String> {
    let Some(obj) = item.as_object() else {
        return Some(format!("{item} is not an object"));
    };
    let reference = obj.get("reference");
    let has = |k: &str| obj.get(k).is_some();
    if !has("reference") && !has("canonical") && !has("identifier") {
        return Some(format!("{item} has no reference, canonical or identifier"));
    }
    if let Some(r) = reference {
        let Some(r) = r.as_str() else {
            return Some(format!("reference {r} is not a string"));
        };
        if r.contains("://") {
            return Some(format!("reference {r} is absolute; SMART wants Type/id"));
        }
        let mut parts = r.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(ty), Some(id), None) if !id.is_empty() => {
                if !known_type(ty) {
                    return Some(format!("reference {r}: {ty} is not a FHIR resource type"));
                }
            }
            _ => return Some(format!("reference {r} is not Type/id")),
        }
    }
    if obj.get("canonical").is_some_and(|c| !c.is_string()) {
        return Some("canonical is not a string".into());
    }
    if obj.get("identifier").is_some_and(|i| !i.is_object()) {
        return Some("identifier is not an object".into());
    }
    None
}

/// The `server.fhir_context` check over the `fhirContext` member.
pub fn fhir_context_check(items: &Value) -> Check {
    let entry = id!("server.fhir_context");
    let Some(list) = items.as_array() else {
        return Check::from_entry(
            entry,
            false,
            format!("fhirContext is not an array: {items}"),
        );
    };
    let problems: Vec<String> = list.iter().filter_map(item_problem).collect();
    Check::from_entry(
        entry,
        problems.is_empty(),
        if problems.is_empty() {
            format!("{} item(s), each valid", list.len())
        } else {
            problems.join("; ")
        },
    )
}

/// One launch context field as the result page explains it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextField {
    pub name: &'static str,
    pub value: String,
    pub meaning: &'static str,
    /// Empty when valid; else why not.
    pub problem: String,
}

const MEANINGS: &[(&str, &str)] = &[
    (
        "patient",
        "The patient in context: the app shows this patient's data.",
    ),
    ("encounter", "The encounter (visit) in context."),
    (
        "fhirContext",
        "Further resources in context (SMART 2.2): an array of references, canonicals or identifiers.",
    ),
    (
        "intent",
        "What the EHR wants the app to do (e.g. reconcile-medications), agreed between EHR and app.",
    ),
    (
        "tenant",
        "The EHR tenant the launch belongs to (multi-tenant servers).",
    ),
    (
        "need_patient_banner",
        "Whether the app must show a patient banner (false: the EHR shows one already).",
    ),
    (
        "smart_style_url",
        "A JSON style sheet the app may use to look like the EHR.",
    ),
];

/// Every launch context field the token response carries, explained and validated.
pub fn fields(body: &Map<String, Value>) -> Vec<ContextField> {
    MEANINGS
        .iter()
        .filter_map(|(name, meaning)| {
            let v = body.get(*name)?;
            let problem = match *name {
                "need_patient_banner" if !v.is_boolean() => "not a boolean".to_string(),
                "fhirContext" => {
                    let c = fhir_context_check(v);
                    if c.passed { String::new() } else { c.detail }
                }
                "smart_style_url"
                    if !v
                        .as_str()
                        .is_some_and(|s| s.starts_with("https://") || s.starts_with("http://")) =>
                {
                    "not an absolute URL".to_string()
                }
                "need_patient_banner" => String::new(),
                _ if !v.is_string() => "not a string".to_string(),
                _ => String::new(),
            };
            Some(ContextField {
                name,
                value: match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                meaning,
                problem,
            })
        })
        .collect()
}

/// The `fhirContext` references a launch should read (relative, known type), at most `max`.
pub fn references(token: &SmartTokenResponse, max: usize) -> Vec<String> {
    token
        .fhir_context
        .iter()
        .filter(|i| item_problem(i).is_none())
        .filter_map(|i| i.get("reference")?.as_str().map(str::to_string))
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fhir_context_items_need_a_relative_reference_of_a_known_type() {
        assert!(fhir_context_check(&json!([{"reference": "Encounter/e1"}])).passed);
        assert!(fhir_context_check(&json!([{"canonical": "http://x/Questionnaire/q"}])).passed);
        assert!(!fhir_context_check(&json!(["Encounter/e1"])).passed);
        assert!(!fhir_context_check(&json!([{"reference": "Nonsense/1"}])).passed);
        assert!(!fhir_context_check(&json!([{"reference": "https://h/fhir/Patient/1"}])).passed);
        assert!(!fhir_context_check(&json!({"reference": "Patient/1"})).passed);
        assert!(!fhir_context_check(&json!([{"role": "x"}])).passed);
    }

    #[test]
    fn context_fields_are_explained_and_wrong_types_named() {
        let body = json!({"patient": "p1", "need_patient_banner": "yes", "intent": "x",
            "smart_style_url": "https://h/style.json"});
        let f = fields(body.as_object().unwrap());
        assert_eq!(f.len(), 4);
        let banner = f.iter().find(|x| x.name == "need_patient_banner").unwrap();
        assert_eq!(banner.problem, "not a boolean");
        assert!(
            f.iter()
                .filter(|x| x.name != "need_patient_banner")
                .all(|x| x.problem.is_empty())
        );
    }
}
