//! Accounts: applying, signing in, who am I, the admin's decisions on
//! applications, team channels (the server's accounts API).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{AccountStatus, Role, SessionKind, vocabulary::Access};

/// The document kinds [`Me`]'s helpers look for, as `documents.kind`
/// spells them (the tests hold them to `model`'s).
const PIPELINE: &str = "pipeline";
const ACCOUNT_VIEW: &str = "account_view";
const INBOX: &str = "inbox";
const READS: &str = "reads";
const TRAINING: &str = "training";
const REFERRALS: &str = "referrals";
const TEAM: &str = "team";
const STANDINGS: &str = "standings";

/// `POST /api/applications`: a partner applies; an admin decides later.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub company: String,
    pub password: String,
    /// The code of a team leader's invite link the applicant came by
    /// ([`Invite`]); the admin who approves sees whose it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("company", &self.company)
            .field("password", &"<hidden>")
            .field("invite", &self.invite)
            .finish()
    }
}

/// The 201 answer to `POST /api/applications`; the same for every
/// well-formed application (`status` is always `applied`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub id: String,
    pub status: AccountStatus,
}

/// `POST /api/sessions`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    pub kind: SessionKind,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn")
            .field("email", &self.email)
            .field("password", &"<hidden>")
            .field("kind", &self.kind)
            .finish()
    }
}

/// The answer to `POST /api/sessions`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn<Time = String> {
    pub account_id: String,
    pub role: Role,
    pub expires_at: Time,
    /// Only for `"kind": "bearer"`; a cookie session's token stays in the
    /// HttpOnly cookie, out of reach of scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl<Time: fmt::Debug> fmt::Debug for SignedIn<Time> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("account_id", &self.account_id)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// A member of a team leader's team (in [`Me`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub account_id: String,
    pub name: String,
    pub partner_id: Option<String>,
}

/// A document the account works with (in [`Me`]): its own, or a team
/// member's (read-only) when the account leads a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyDocument {
    pub doc_id: String,
    /// The document kind's name (`sync::DocKind`).
    pub kind: String,
    pub partner_id: String,
    pub partner_name: String,
    /// Read-write for the account's own documents (its account view
    /// excepted), read-only for its account view and a team member's.
    pub access: Access,
}

impl MyDocument {
    pub fn is_pipeline(&self) -> bool {
        self.kind == PIPELINE
    }
}

/// The session a request is made under (in [`Me`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MySession<Time = String> {
    pub kind: SessionKind,
    pub expires_at: Time,
    /// What a proxy in front of several server nodes routes `/sync` by,
    /// so a team's devices meet on one node (the same for every member of
    /// a team, opaque). A browser sends it by itself, as the
    /// `portal_affinity` cookie this answer sets; a native client sends
    /// that cookie on its `/sync` request. Empty from older servers.
    #[serde(default)]
    pub affinity: String,
}

/// `GET /api/me`: who is signed in.
///
/// The partner app keeps this answer in localStorage and reads it back on
/// the next start, offline included; what older versions of the app kept
/// had only some of the fields, so those read as empty when missing
/// (`company`, `team`, `documents`, `session`). The server always sends
/// them all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me<Time = String> {
    pub account_id: String,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub company: String,
    pub role: Role,
    pub partner_id: Option<String>,
    pub team_leader_id: Option<String>,
    /// The members of a team leader's team; empty for everyone else.
    #[serde(default)]
    pub team: Vec<TeamMember>,
    /// The documents this account works with: its own, then its team's.
    /// The share policy on `/sync` is what enforces access; this is the
    /// list the app opens.
    #[serde(default)]
    pub documents: Vec<MyDocument>,
    /// Always sent by the server; `None` only in what an older app cached.
    #[serde(default)]
    pub session: Option<MySession<Time>>,
    /// The profile's phone, country and currency ([`Profile`]); empty in
    /// what an older app cached.
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    /// A photo is at `/api/me/photo`.
    #[serde(default)]
    pub has_photo: bool,
    /// The catalog documents (published training tracks) this account
    /// may read, by document id.
    #[serde(default)]
    pub catalogs: Vec<String>,
}

/// `GET /api/me/profile`, and the body of `PUT` (its answer is the
/// profile as stored): what the programme needs to know of a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub company: String,
    /// As typed: digits, spaces and `+-().`, 6 to 20 digits; empty: none.
    pub phone: String,
    /// ISO 3166-1 alpha-2: `BR`.
    pub country: Option<String>,
    /// ISO 4217: `BRL`.
    pub currency: Option<String>,
}

impl<Time> Me<Time> {
    /// Whether the profile has what the programme needs: a company, a
    /// phone, a country and a currency.
    pub fn profile_done(&self) -> bool {
        !self.company.trim().is_empty()
            && !self.phone.trim().is_empty()
            && self.country.is_some()
            && self.currency.is_some()
    }

    /// The pipelines: own first, then the team's (the server's order).
    pub fn pipelines(&self) -> impl Iterator<Item = &MyDocument> {
        self.documents.iter().filter(|d| d.is_pipeline())
    }

    /// The pipeline with this id.
    pub fn document(&self, doc_id: &str) -> Option<&MyDocument> {
        self.pipelines().find(|d| d.doc_id == doc_id)
    }

    /// The account's own account view; admins have none, and a partner's
    /// appears once the server has made it.
    pub fn account_view(&self) -> Option<&MyDocument> {
        self.documents.iter().find(|d| d.kind == ACCOUNT_VIEW)
    }

    /// The account's own read markers of the chat.
    pub fn reads(&self) -> Option<&MyDocument> {
        self.documents
            .iter()
            .find(|d| d.kind == READS && d.access == Access::ReadWrite)
    }

    /// The account's own inbox (its notifications); admins have none.
    pub fn inbox(&self) -> Option<&MyDocument> {
        self.documents.iter().find(|d| d.kind == INBOX)
    }

    /// The account's own training record (a team leader reads their
    /// members' too; this is the one they write).
    pub fn training(&self) -> Option<&MyDocument> {
        self.documents
            .iter()
            .find(|d| d.kind == TRAINING && d.access == Access::ReadWrite)
    }

    /// The account's places on the leaderboards (the server writes them).
    pub fn standings(&self) -> Option<&MyDocument> {
        self.documents
            .iter()
            .find(|d| d.kind == STANDINGS && d.access == Access::ReadOnly)
    }

    /// The team figures of a team leader (the server writes them); nobody
    /// else has one.
    pub fn team_view(&self) -> Option<&MyDocument> {
        self.documents.iter().find(|d| d.kind == TEAM)
    }

    /// The account's own referral links.
    pub fn referrals(&self) -> Option<&MyDocument> {
        self.documents
            .iter()
            .find(|d| d.kind == REFERRALS && d.access == Access::ReadWrite)
    }

    /// The pipeline to show first: the account's own.
    pub fn home_document(&self) -> Option<&MyDocument> {
        self.pipelines()
            .find(|d| d.access == Access::ReadWrite)
            .or_else(|| self.pipelines().next())
    }
}

/// An application as the back-office lists it (`GET
/// /api/admin/applications[?status=applied|approved|rejected|all]`, a
/// list, oldest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationEntry<Time = String> {
    pub id: String,
    pub email: String,
    pub name: String,
    pub company: String,
    pub status: AccountStatus,
    pub partner_id: Option<String>,
    pub created_at: Time,
    pub decided_at: Option<Time>,
    pub decided_by: Option<String>,
    pub reject_reason: Option<String>,
    /// The team leader whose invite link the applicant came by.
    pub invited_by: Option<TeamLeader>,
    /// The team leader an approved partner was placed with.
    pub team_leader_id: Option<String>,
}

/// A team leader: who invited an applicant, and a team an admin may place
/// one in (`GET /api/admin/teams`, a list, by name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamLeader {
    pub account_id: String,
    pub name: String,
    pub company: String,
    /// Approved partners in the team now.
    pub members: u32,
}

/// `POST /api/admin/applications/{id}/approve`: the team the partner
/// joins, or none (solo). A request with no body approves solo.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub team_leader_id: Option<String>,
}

/// A team leader's invite link (`POST /api/team/invite`, theirs, made the
/// first time they ask) and what a visitor who follows one learns (`GET
/// /api/invites/{code}`, public): the code, and whose team it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub code: String,
    pub leader_name: String,
}

impl Invite {
    /// A code as the server makes them: ten letters of RFC 4648's base32
    /// alphabet, lower-cased (50 random bits). Anything else is no code, and
    /// is refused before a query.
    pub fn is_code(code: &str) -> bool {
        code.len() == 10 && code.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
    }
}

/// The answer to `POST /api/admin/applications/{id}/approve` (with the new
/// partner's id) and `.../reject` (without).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: String,
    pub status: AccountStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The team an approved partner joined; none when solo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_leader_id: Option<String>,
}

/// The body of a decision that needs a reason someone will read: `POST
/// /api/admin/applications/{id}/reject`, `/api/admin/deals/{id}/clawback`,
/// `/api/admin/orders/{id}/refund`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// `POST /api/admin/channels`: a channel document for these approved
/// accounts.
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_kinds_me_looks_for_are_the_model_s() {
        assert_eq!(PIPELINE, model::PIPELINE_KIND);
        assert_eq!(ACCOUNT_VIEW, model::ACCOUNT_VIEW_KIND);
        assert_eq!(INBOX, model::INBOX_KIND);
        assert_eq!(READS, model::READS_KIND);
    }

    #[test]
    fn an_application_s_company_may_be_left_out_and_nothing_else_added() {
        let read: Application = serde_json::from_value(json!({
            "name": "Ana", "email": "ana@example.com", "password": "correct horse"
        }))
        .unwrap();
        assert_eq!(read.company, "");
        assert!(!format!("{read:?}").contains("correct horse"));
        let extra = json!({
            "name": "Ana", "email": "ana@example.com", "password": "p", "role": "admin"
        });
        assert!(serde_json::from_value::<Application>(extra).is_err());
    }

    #[test]
    fn a_cookie_session_s_answer_has_no_token_field() {
        let cookie = SignedIn {
            account_id: "a-ana".to_owned(),
            role: Role::Partner,
            expires_at: "2030-01-01T00:00:00Z".to_owned(),
            token: None,
        };
        assert_eq!(
            serde_json::to_string(&cookie).unwrap(),
            r#"{"account_id":"a-ana","role":"partner","expires_at":"2030-01-01T00:00:00Z"}"#
        );
        let bearer = SignedIn {
            token: Some("secret".to_owned()),
            ..cookie
        };
        let json = serde_json::to_string(&bearer).unwrap();
        assert!(json.ends_with(r#","token":"secret"}"#), "{json}");
        assert_eq!(serde_json::from_str::<SignedIn>(&json).unwrap(), bearer);
        assert!(!format!("{bearer:?}").contains("secret"));
    }

    #[test]
    fn a_sign_in_is_what_the_server_reads() {
        let sign_in = SignIn {
            email: "ana@example.com".to_owned(),
            password: "p".to_owned(),
            kind: SessionKind::Cookie,
        };
        assert_eq!(
            serde_json::to_string(&sign_in).unwrap(),
            r#"{"email":"ana@example.com","password":"p","kind":"cookie"}"#
        );
        let other_kind = json!({"email": "a@b.c", "password": "p", "kind": "token"});
        assert!(serde_json::from_value::<SignIn>(other_kind).is_err());
    }

    fn me() -> Me {
        Me {
            account_id: "a-ana".to_owned(),
            email: "ana@souza.example".to_owned(),
            name: "Ana Souza".to_owned(),
            company: "Souza Consulting".to_owned(),
            role: Role::TeamLeader,
            partner_id: Some("p-ana".to_owned()),
            team_leader_id: None,
            team: vec![TeamMember {
                account_id: "a-ben".to_owned(),
                name: "Ben Okafor".to_owned(),
                partner_id: Some("p-ben".to_owned()),
            }],
            documents: vec![MyDocument {
                doc_id: "d1".to_owned(),
                kind: "pipeline".to_owned(),
                partner_id: "p-ana".to_owned(),
                partner_name: "Ana Souza".to_owned(),
                access: Access::ReadWrite,
            }],
            session: Some(MySession {
                kind: SessionKind::Cookie,
                expires_at: "2030-01-01T00:00:00Z".to_owned(),
                affinity: "00c0ffee00c0ffee".to_owned(),
            }),
            phone: "+55 11 5555 0100".to_owned(),
            country: Some("BR".to_owned()),
            currency: None,
            has_photo: false,
            catalogs: vec![],
        }
    }

    #[test]
    fn me_is_written_field_for_field_as_the_server_does() {
        assert_eq!(
            serde_json::to_string(&me()).unwrap(),
            concat!(
                r#"{"account_id":"a-ana","email":"ana@souza.example","name":"Ana Souza","#,
                r#""company":"Souza Consulting","role":"team_leader","partner_id":"p-ana","#,
                r#""team_leader_id":null,"#,
                r#""team":[{"account_id":"a-ben","name":"Ben Okafor","partner_id":"p-ben"}],"#,
                r#""documents":[{"doc_id":"d1","kind":"pipeline","partner_id":"p-ana","#,
                r#""partner_name":"Ana Souza","access":"read_write"}],"#,
                r#""session":{"kind":"cookie","expires_at":"2030-01-01T00:00:00Z","#,
                r#""affinity":"00c0ffee00c0ffee"},"#,
                r#""phone":"+55 11 5555 0100","country":"BR","currency":null,"has_photo":false,"#,
                r#""catalogs":[]}"#
            )
        );
        assert!(!me().profile_done(), "no currency yet");
        assert!(
            Me {
                currency: Some("BRL".to_owned()),
                ..me()
            }
            .profile_done()
        );
        let json = serde_json::to_value(me()).unwrap();
        assert_eq!(serde_json::from_value::<Me>(json).unwrap(), me());
    }

    #[test]
    fn what_an_older_app_cached_of_me_still_reads() {
        let cached: Me = serde_json::from_value(json!({
            "account_id": "a-ben", "email": "ben@example.com", "name": "Ben",
            "role": "partner",
        }))
        .unwrap();
        assert_eq!(cached.company, "");
        assert_eq!(cached.partner_id, None);
        assert!(cached.team.is_empty() && cached.documents.is_empty());
        assert_eq!(cached.session, None);
    }

    #[test]
    fn decisions_name_a_partner_only_when_one_was_made() {
        let rejected = Decision {
            id: "a-1".to_owned(),
            status: AccountStatus::Rejected,
            partner_id: None,
            team_leader_id: None,
        };
        assert_eq!(
            serde_json::to_string(&rejected).unwrap(),
            r#"{"id":"a-1","status":"rejected"}"#
        );
        let approved = Decision {
            status: AccountStatus::Approved,
            partner_id: Some("p-1".to_owned()),
            ..rejected
        };
        assert_eq!(
            serde_json::to_string(&approved).unwrap(),
            r#"{"id":"a-1","status":"approved","partner_id":"p-1"}"#
        );
        let in_a_team = Decision {
            team_leader_id: Some("a-ana".to_owned()),
            ..approved
        };
        assert_eq!(
            serde_json::to_string(&in_a_team).unwrap(),
            r#"{"id":"a-1","status":"approved","partner_id":"p-1","team_leader_id":"a-ana"}"#
        );
    }

    #[test]
    fn an_approval_names_a_team_or_none_and_nothing_else() {
        let solo: Approval = serde_json::from_value(json!({"team_leader_id": null})).unwrap();
        assert_eq!(solo, Approval::default());
        assert!(serde_json::from_value::<Approval>(json!({"team": "a-ana"})).is_err());
    }

    #[test]
    fn invite_codes_are_ten_letters_of_base32() {
        assert!(Invite::is_code("abcdefgh27"));
        for not in [
            "",
            "abcdefgh2",
            "abcdefgh277",
            "Abcdefgh27",
            "abcdefgh18",
            "abcdéfgh2",
        ] {
            assert!(!Invite::is_code(not), "{not}");
        }
    }

    #[test]
    fn application_entries_keep_the_server_s_order_and_nulls() {
        let entry = ApplicationEntry {
            id: "a-1".to_owned(),
            email: "c@d.e".to_owned(),
            name: "Cy".to_owned(),
            company: String::new(),
            status: AccountStatus::Applied,
            partner_id: None,
            created_at: "2030-01-01T00:00:00Z".to_owned(),
            decided_at: None,
            decided_by: None,
            reject_reason: None,
            invited_by: None,
            team_leader_id: None,
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            concat!(
                r#"{"id":"a-1","email":"c@d.e","name":"Cy","company":"","status":"applied","#,
                r#""partner_id":null,"created_at":"2030-01-01T00:00:00Z","decided_at":null,"#,
                r#""decided_by":null,"reject_reason":null,"invited_by":null,"team_leader_id":null}"#
            )
        );
    }

    #[test]
    fn requests_refuse_fields_the_server_does_not_know() {
        assert!(serde_json::from_value::<Reason>(json!({"reason": "r", "x": 1})).is_err());
    }
}
