//! The words the API, the database and the apps share: each an enum whose
//! JSON text, `as_str` and `parse` come from one literal per variant, so
//! they cannot disagree. The tests check each list against the schema's
//! CHECK constraint where there is one (`schema/*.sql`), and against the
//! crates that restate it for documents (`model`) and pricing (`rules`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An enum of words: `ALL` in declaration order, `as_str`, `parse`,
/// `Display`, and serde as the same text.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every word, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word as the API and the database write it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The word `s` names, exactly as [`Self::as_str`] writes it.
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// What an account may do (`accounts.role`).
    Role {
        Partner = "partner",
        /// A partner who leads a team: reads its members' pipelines and
        /// earns overrides on their deals.
        TeamLeader = "team_leader",
        Admin = "admin",
    }
}

vocabulary! {
    /// Where an application stands (`accounts.status`): an admin decides
    /// once, and only an approved account signs in.
    AccountStatus {
        Applied = "applied",
        Approved = "approved",
        Rejected = "rejected",
    }
}

vocabulary! {
    /// How a session's token travels (`sessions.kind`): in the HttpOnly
    /// cookie (browsers), or handed out once for an `Authorization: Bearer`
    /// header (native clients).
    SessionKind {
        Cookie = "cookie",
        Bearer = "bearer",
    }
}

vocabulary! {
    /// What an account may do with a document it works with.
    Access {
        ReadWrite = "read_write",
        ReadOnly = "read_only",
    }
}

vocabulary! {
    /// Where a deal stands (`deals.status`): submitted waits for the
    /// back-office; withdrawn, the lead left "won" before a decision;
    /// approved and rejected are final. The account view document spells
    /// the same words (`model::DealStatus`).
    DealStatus {
        Submitted = "submitted",
        Withdrawn = "withdrawn",
        Approved = "approved",
        Rejected = "rejected",
    }
}

vocabulary! {
    /// Why a ledger line was appended (`ledger_lines.kind`).
    LineKind {
        /// The partner's tier's base rate of an approved deal.
        Base = "base",
        /// An Elite partner's agreed extra on a deal.
        Elite = "elite",
        /// A team leader's cut of a member's base line.
        Override = "override",
        /// A partner's share of an order their referral link brought.
        Referral = "referral",
        /// The reversal of another line (a refund, a cancellation).
        Clawback = "clawback",
        /// A met challenge's bonus, approved by an admin.
        Bonus = "bonus",
    }
}

vocabulary! {
    /// A partner's standing in the programme, lowest first (the names of
    /// `rules::Tier`, which decides them).
    #[derive(PartialOrd, Ord)]
    Tier {
        Starter = "starter",
        Active = "active",
        Performer = "performer",
        Elite = "elite",
    }
}

vocabulary! {
    /// What the tier progress score counts (`rules::Component`), as the
    /// account view document names them, in the order shown.
    Component {
        Deals = "deals",
        Training = "training",
        Support = "support",
        Satisfaction = "satisfaction",
    }
}

vocabulary! {
    /// Where a partner is paid (`payout_methods.kind`).
    PayoutMethodKind {
        BankAccount = "bank_account",
        Paypal = "paypal",
    }
}

vocabulary! {
    /// What a notification is about (`notifications.kind`, and a notice's
    /// `kind` in the inbox document).
    NotificationKind {
        DealApproved = "deal_approved",
        DealRejected = "deal_rejected",
        CommissionAvailable = "commission_available",
        PayoutMade = "payout_made",
        FollowUpDue = "follow_up_due",
        /// A module to complete by a date.
        TrainingAssigned = "training_assigned",
        /// An exam the server graded: passed (a certificate) or not.
        ExamGraded = "exam_graded",
        /// Someone named the person (`@Ana`) in a channel.
        ChatMention = "chat_mention",
        /// A challenge met: an achievement awarded.
        Achievement = "achievement",
    }
}

vocabulary! {
    /// The kinds of notification a person can choose not to have pushed
    /// (`notification_preferences.category`).
    NotificationCategory {
        /// A deal approved or rejected; a challenge met.
        Deals = "deals",
        /// A commission available, a payout made.
        Money = "money",
        /// A follow-up due.
        Reminders = "reminders",
        /// Training assigned, an exam graded.
        Training = "training",
        /// A mention in the chat.
        Chat = "chat",
    }
}

impl NotificationKind {
    pub fn category(self) -> NotificationCategory {
        match self {
            NotificationKind::DealApproved
            | NotificationKind::DealRejected
            | NotificationKind::Achievement => NotificationCategory::Deals,
            NotificationKind::CommissionAvailable | NotificationKind::PayoutMade => {
                NotificationCategory::Money
            }
            NotificationKind::FollowUpDue => NotificationCategory::Reminders,
            NotificationKind::TrainingAssigned | NotificationKind::ExamGraded => {
                NotificationCategory::Training
            }
            NotificationKind::ChatMention => NotificationCategory::Chat,
        }
    }
}

vocabulary! {
    /// Who reads a training track (`training_tracks.audience`, and the
    /// `readers` of its catalog document).
    Audience {
        /// Every partner, team leaders included.
        Everyone = "everyone",
        TeamLeaders = "team_leaders",
    }
}

vocabulary! {
    /// A quiz graded on the device, or an exam graded by the server
    /// (`quiz_attempts.kind`).
    QuizKind {
        Practice = "practice",
        Exam = "exam",
    }
}

vocabulary! {
    /// What a lesson's file is, so the app knows how to show it.
    MediaKind {
        Video = "video",
        Pdf = "pdf",
        Image = "image",
        Audio = "audio",
    }
}

vocabulary! {
    /// What became of an exam attempt the server read (`quiz_attempts.outcome`).
    AttemptOutcome {
        Passed = "passed",
        Failed = "failed",
        /// Taken before the retake cooldown ended: not graded.
        TooSoon = "too_soon",
        /// Past the attempts the policy allows: not graded.
        NoAttemptsLeft = "no_attempts_left",
        /// Names a quiz or version that was never published.
        Unknown = "unknown",
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    use super::*;

    /// The values a CHECK constraint's `IN (...)` list allows, from the
    /// migration that defines the constraint last.
    fn check_constraint(name: &str) -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema");
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        let needle = format!("CONSTRAINT {name}");
        let mut last = None;
        for file in files {
            let sql = fs::read_to_string(&file).unwrap();
            let mut rest = sql.as_str();
            while let Some(at) = rest.find(&needle) {
                rest = &rest[at + needle.len()..];
                // `DROP CONSTRAINT x;` defines nothing; `x_more` is another.
                let definition = rest.trim_start();
                if !rest.starts_with(char::is_whitespace) || !definition.starts_with("CHECK") {
                    continue;
                }
                let list = &definition[definition.find(" IN (").unwrap() + 5..];
                let list = &list[..list.find(')').unwrap()];
                last = Some(
                    list.split(',')
                        .map(|v| v.trim().trim_matches('\'').to_owned())
                        .collect(),
                );
            }
        }
        last.unwrap_or_else(|| panic!("no CHECK constraint {name} in {}", dir.display()))
    }

    fn sorted<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut words: Vec<String> = words.into_iter().map(str::to_owned).collect();
        words.sort();
        words
    }

    /// Serde, `as_str` and `parse` agree, and the words are exactly these.
    fn spelled<T>(all: &[T], words: &[&str])
    where
        T: Copy + fmt::Debug + PartialEq + Serialize + serde::de::DeserializeOwned,
        T: fmt::Display,
    {
        let json: Vec<String> = all
            .iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(json, words);
        for (v, word) in all.iter().zip(words) {
            assert_eq!(v.to_string(), *word);
            let read: T = serde_json::from_value(serde_json::json!(word)).unwrap();
            assert_eq!(read, *v);
        }
        assert!(serde_json::from_value::<T>(serde_json::json!("nonsense")).is_err());
    }

    #[test]
    fn notification_words_are_the_notification_tables_and_every_category_has_a_kind() {
        spelled(
            NotificationKind::ALL,
            &[
                "deal_approved",
                "deal_rejected",
                "commission_available",
                "payout_made",
                "follow_up_due",
                "training_assigned",
                "exam_graded",
                "chat_mention",
                "achievement",
            ],
        );
        assert_eq!(
            sorted(NotificationKind::ALL.iter().map(|k| k.as_str())),
            sorted(
                check_constraint("notifications_kind_known")
                    .iter()
                    .map(String::as_str)
            )
        );
        spelled(
            NotificationCategory::ALL,
            &["deals", "money", "reminders", "training", "chat"],
        );
        assert_eq!(
            sorted(NotificationCategory::ALL.iter().map(|c| c.as_str())),
            sorted(
                check_constraint("notification_preferences_category_known")
                    .iter()
                    .map(String::as_str)
            )
        );
        for category in NotificationCategory::ALL {
            assert!(
                NotificationKind::ALL
                    .iter()
                    .any(|k| k.category() == *category),
                "{category} has a kind"
            );
        }
    }

    #[test]
    fn roles_are_the_accounts_table_s() {
        spelled(Role::ALL, &["partner", "team_leader", "admin"]);
        assert_eq!(
            sorted(Role::ALL.iter().map(|r| r.as_str())),
            sorted(
                check_constraint("accounts_role_known")
                    .iter()
                    .map(String::as_str)
            )
        );
        assert_eq!(Role::parse("team_leader"), Some(Role::TeamLeader));
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn account_statuses_are_the_accounts_table_s() {
        spelled(AccountStatus::ALL, &["applied", "approved", "rejected"]);
        assert_eq!(
            sorted(AccountStatus::ALL.iter().map(|s| s.as_str())),
            sorted(
                check_constraint("accounts_status_known")
                    .iter()
                    .map(String::as_str)
            )
        );
    }

    #[test]
    fn session_kinds_are_the_sessions_table_s() {
        spelled(SessionKind::ALL, &["cookie", "bearer"]);
        assert_eq!(
            sorted(SessionKind::ALL.iter().map(|s| s.as_str())),
            sorted(
                check_constraint("sessions_kind_known")
                    .iter()
                    .map(String::as_str)
            )
        );
    }

    #[test]
    fn access_is_what_api_me_answers() {
        // `/api/me` maps the share policy's answer to them: no constraint
        // to check against.
        spelled(Access::ALL, &["read_write", "read_only"]);
    }

    #[test]
    fn deal_statuses_are_the_deals_table_s_and_the_account_view_s() {
        spelled(
            DealStatus::ALL,
            &["submitted", "withdrawn", "approved", "rejected"],
        );
        assert_eq!(
            sorted(DealStatus::ALL.iter().map(|s| s.as_str())),
            sorted(
                check_constraint("deals_status_known")
                    .iter()
                    .map(String::as_str)
            )
        );
        let model: Vec<&str> = model::DealStatus::ALL.iter().map(|s| s.as_str()).collect();
        let wire: Vec<&str> = DealStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(wire, model);
    }

    #[test]
    fn line_kinds_are_the_ledger_s() {
        spelled(
            LineKind::ALL,
            &["base", "elite", "override", "referral", "clawback", "bonus"],
        );
        assert_eq!(
            sorted(LineKind::ALL.iter().map(|k| k.as_str())),
            sorted(
                check_constraint("ledger_lines_kind_known")
                    .iter()
                    .map(String::as_str)
            )
        );
    }

    #[test]
    fn tiers_are_the_rules_tiers_in_their_order() {
        spelled(Tier::ALL, &["starter", "active", "performer", "elite"]);
        let rules: Vec<&str> = rules::Tier::ALL.iter().map(|t| t.as_str()).collect();
        let wire: Vec<&str> = Tier::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(wire, rules);
        assert!(Tier::Starter < Tier::Elite);
    }

    #[test]
    fn progress_components_are_the_account_view_s() {
        spelled(
            Component::ALL,
            &["deals", "training", "support", "satisfaction"],
        );
    }

    #[test]
    fn payout_method_kinds_are_the_payout_methods_table_s() {
        spelled(PayoutMethodKind::ALL, &["bank_account", "paypal"]);
        assert_eq!(
            sorted(PayoutMethodKind::ALL.iter().map(|k| k.as_str())),
            sorted(
                check_constraint("payout_methods_kind_known")
                    .iter()
                    .map(String::as_str)
            )
        );
    }

    #[test]
    fn a_constraint_is_read_from_its_last_definition() {
        // `documents_kind_known` is dropped and added again by a later
        // migration, with more kinds.
        assert_eq!(
            check_constraint("documents_kind_known"),
            [
                "pipeline",
                "training",
                "note",
                "account_view",
                "catalog",
                "channel",
                "inbox",
                "messages",
                "reads",
                "referrals",
                "team",
                "standings"
            ]
        );
    }

    #[test]
    fn challenge_words_match_the_schema() {
        for (constraint, words) in [
            ("challenges_metric_known", &crate::CHALLENGE_METRICS[..]),
            ("challenges_operator_known", &crate::CHALLENGE_OPERATORS[..]),
            ("challenges_span_known", &crate::CHALLENGE_SPANS[..]),
            ("challenges_reward_known", &crate::CHALLENGE_REWARDS[..]),
            (
                "achievements_bonus_status_known",
                &crate::BONUS_STATUSES[..],
            ),
        ] {
            assert_eq!(check_constraint(constraint), words, "{constraint}");
        }
    }

    #[test]
    fn training_words_match_the_schema() {
        spelled(Audience::ALL, &["everyone", "team_leaders"]);
        spelled(QuizKind::ALL, &["practice", "exam"]);
        spelled(
            AttemptOutcome::ALL,
            &[
                "passed",
                "failed",
                "too_soon",
                "no_attempts_left",
                "unknown",
            ],
        );
        for (words, constraint) in [
            (
                Audience::ALL.iter().map(|w| w.as_str()).collect::<Vec<_>>(),
                "training_tracks_audience_known",
            ),
            (
                QuizKind::ALL.iter().map(|w| w.as_str()).collect(),
                "quiz_attempts_kind_known",
            ),
            (
                AttemptOutcome::ALL.iter().map(|w| w.as_str()).collect(),
                "quiz_attempts_outcome_known",
            ),
        ] {
            assert_eq!(
                sorted(words.into_iter()),
                sorted(check_constraint(constraint).iter().map(String::as_str)),
                "{constraint}"
            );
        }
    }
}
