//! The exchange with АИС «Рынок труда»: the canonical payload a list is signed as, the package
//! the portal delivers, the results АИС posts back, the delivery worker (outbox) and the
//! simulator of the АИС side (`talapker ais-sim`).

/// The outbox worker: delivers signed packages to АИС, retrying with backoff.
pub mod delivery;
/// The person registry (ГБД ФЛ) of the simulator and the programme rules it checks.
pub mod registry;
/// `talapker ais-sim`: the АИС side, as a separate process or inside the portal.
pub mod sim;

use serde::{Deserialize, Serialize};

/// The format tag inside every payload.
pub const PAYLOAD_FORMAT: &str = "talapker-list/1";

/// The name АИС signs status changes with in the portal's history.
pub const AIS_ACTOR: &str = "АИС «Рынок труда»";

/// What a list version is signed as: a deterministic serialisation (compact JSON, fields in
/// this declaration order, applicants ordered by id) of the list and every applicant field it
/// sends. The server rebuilds it from the stored list and compares byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPayload {
    pub format: String,
    pub list: String,
    pub num: i64,
    pub region: String,
    pub version: i64,
    pub signer_iin: String,
    pub applicants: Vec<PayloadApplicant>,
}

/// One applicant as sent. `status` is `new` or `changed` for those АИС must check, `refused`
/// for refusals by the mobile group, `passed` for those already passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadApplicant {
    pub id: String,
    pub iin: String,
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    pub birth_date: String,
    pub gender: String,
    pub kato: String,
    pub street: String,
    pub house: String,
    pub flat: String,
    pub applicant_category: String,
    pub employment_category: String,
    pub status: String,
    pub mg_reason: String,
}

impl PayloadApplicant {
    /// АИС checks new applicants and those changed after a failed check.
    pub fn to_check(&self) -> bool {
        self.status == "new" || self.status == "changed"
    }
}

impl ListPayload {
    /// The exact bytes that are signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload always serialises")
    }
}

/// What the portal posts to АИС: `POST {ais}/api/packages` with `Authorization: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Unique per signed version; АИС deduplicates by it.
    pub package_id: String,
    pub list_id: String,
    pub version: i64,
    /// The canonical payload, exactly the signed bytes (UTF-8 JSON).
    pub payload: String,
    /// The CMS SignedData, DER in standard base64.
    pub signature: String,
    /// Where АИС posts the results back (`POST {callback}`), with its own token.
    pub callback: String,
}

/// What АИС posts back: `POST /api/ais/results` with `Authorization: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// Unique per result; the portal applies a result once however often it arrives.
    pub result_id: String,
    pub package_id: String,
    pub list_id: String,
    pub version: i64,
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub applicant_id: String,
    pub iin: String,
    pub passed: bool,
    /// Why the check failed (empty when passed).
    #[serde(default)]
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applicant(id: &str, status: &str) -> PayloadApplicant {
        PayloadApplicant {
            id: id.into(),
            iin: "920526450510".into(),
            last_name: "Жаншакимова".into(),
            first_name: "Айнур".into(),
            middle_name: "Мараловна".into(),
            birth_date: "1992-05-26".into(),
            gender: "female".into(),
            kato: "711310000".into(),
            street: "Сейфуллина \"37\"".into(),
            house: "37".into(),
            flat: "".into(),
            applicant_category: "neet".into(),
            employment_category: "unemployed".into(),
            status: status.into(),
            mg_reason: "".into(),
        }
    }

    #[test]
    fn the_payload_serialises_the_same_bytes_every_time_and_round_trips() {
        let p = ListPayload {
            format: PAYLOAD_FORMAT.into(),
            list: "abc".into(),
            num: 3,
            region: "710000000".into(),
            version: 1,
            signer_iin: "941008400880".into(),
            applicants: vec![applicant("a1", "new"), applicant("a2", "passed")],
        };
        let bytes = p.to_bytes();
        assert_eq!(bytes, p.clone().to_bytes());
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"format":"talapker-list/1","list":"abc","num":3,"#));
        assert!(text.contains(r#""street":"Сейфуллина \"37\"""#), "{text}");
        assert!(!text.contains('\n') && !text.contains(": "));
        let back: ListPayload = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, p);
        assert!(back.applicants[0].to_check());
        assert!(!back.applicants[1].to_check());
    }
}
