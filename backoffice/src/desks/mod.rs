//! The desks: what an admin does with partners and their money, one file
//! each. Approving, rejecting and clawing back deals (`approvals`), who
//! joins the programme and in which team (`applications`), partners
//! with their tiers, balances and Elite terms (`partners`), payout runs
//! (`payouts`), referral orders and their refunds (`orders`), reports
//! (`reports`), training tracks (`training`), the resources library and
//! what it brought (`resources`), challenges and how many met them
//! (`challenges`), the chat's channels and
//! their moderation (`channels`); what they share is in
//! `parts`.
//!
//! They read and change the server's ledger, which is never on a device, so
//! they work online only. The desk on screen is fetched when it opens and
//! after each change made from it; the answers, typed as the server writes
//! them (the `wire` types), are kept in the app's reducer and thrown away
//! when the desk closes. Offline, a desk says so.
//!
//! A desk's file has its `NAME` (the location's hash that opens it), its
//! `TITLE`, the `Answers` it reads, `fetch` (its reads, asked at once) and
//! `view` (its markup, given its answers and the [`Ctx`]). Adding a desk
//! is its file, its `mod` line below, and one line in `desks!`.

mod applications;
mod approvals;
mod challenges;
mod channels;
mod orders;
mod partners;
mod parts;
mod payouts;
mod reports;
mod resources;
mod training;
mod upload;

use yew::prelude::*;

use web_common::api::ApiError;

/// Declares the desks, each as `Variant => module`, the first the one a
/// page opens with; makes the [`Desk`] enum, the [`Answers`] of every
/// desk, and the dispatch from one to the other's module.
macro_rules! desks {
    ($($variant:ident => $module:ident,)+) => {
        /// The back-office's screens, each at `#<name>`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Desk {
            $($variant,)+
        }

        /// What the desk on screen read.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Answers {
            $($variant($module::Answers),)+
        }

        impl Desk {
            /// Every desk, in the order of the tabs.
            pub const ALL: &'static [Desk] = &[$(Desk::$variant,)+];

            pub fn name(self) -> &'static str {
                match self {
                    $(Desk::$variant => $module::NAME,)+
                }
            }

            pub fn title(self) -> &'static str {
                match self {
                    $(Desk::$variant => $module::TITLE,)+
                }
            }

            /// What the desk shows, given its choice (the deals' status
            /// shown, the report chosen), or why not.
            pub async fn fetch(self, choice: &str) -> Result<Answers, ApiError> {
                match self {
                    $(Desk::$variant => $module::fetch(choice).await.map(Answers::$variant),)+
                }
            }
        }

        /// The markup of a desk's answers.
        fn view(answers: &Answers, ctx: &Ctx) -> Html {
            match answers {
                $(Answers::$variant(answers) => $module::view(answers, ctx),)+
            }
        }
    };
}

desks! {
    Approvals => approvals,
    Applications => applications,
    Partners => partners,
    Payouts => payouts,
    Orders => orders,
    Reports => reports,
    Training => training,
    Resources => resources,
    Challenges => challenges,
    Channels => channels,
}

/// The approval queue's answers of these deals, with no previews: what
/// the state's tests need.
#[cfg(test)]
pub fn approvals_answers(deals: Vec<web_common::api::DealEntry>) -> approvals::Answers {
    approvals::Answers {
        deals,
        previews: Vec::new(),
    }
}

impl Default for Desk {
    /// The first desk: the approval queue.
    fn default() -> Desk {
        Desk::ALL[0]
    }
}

impl Desk {
    /// The desk at this address; the first when none is named.
    pub fn from_hash(hash: &str) -> Desk {
        let name = hash.trim_start_matches('#');
        Desk::ALL
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .unwrap_or_default()
    }
}

/// What the back-office needs from the app: its state, and how to change
/// it.
pub struct Ctx<'a> {
    pub desk: Desk,
    /// The desk's answers, once here.
    pub answers: Option<&'a Answers>,
    /// Why they are not.
    pub failed: Option<&'a ApiError>,
    pub choice: &'a str,
    /// The deal, order or application whose reason form is open.
    pub reasoning: Option<&'a str>,
    /// A desk's width (1000 px and more): a table and a detail pane
    /// rather than cards.
    pub wide: bool,
    /// The row in the detail pane.
    pub selected: Option<&'a str>,
    /// Opens a row in the detail pane.
    pub select: Callback<Option<String>>,
    pub outcome: Html,
    /// Picks what the desk shows (`choice`).
    pub choose: Callback<String>,
    /// Opens (or, with `None`, closes) a reason form.
    pub reason: Callback<Option<String>>,
    /// Sends a change; its answer, in words, is shown and the desk reloads.
    pub change: Callback<web_common::forms::Change>,
    /// Hears how a change sent by the desk itself went (the training
    /// editor's save, which opens the track it made): as `change` does.
    pub report: Callback<web_common::forms::Sent<Html>>,
    /// Says why what was typed cannot be sent.
    pub invalid: Callback<String>,
}

impl Ctx<'_> {
    /// Whether the reason form about `id` is open.
    pub fn reasoning_about(&self, id: &impl ToString) -> bool {
        self.reasoning == Some(id.to_string().as_str())
    }

    /// Opens the reason form about `id`.
    pub fn ask_why(&self, id: &impl ToString) -> Callback<MouseEvent> {
        let id = id.to_string();
        self.reason.reform(move |_| Some(id.clone()))
    }
}

/// The desk on screen.
pub fn desk(ctx: Ctx) -> Html {
    let answers = match (ctx.answers, ctx.failed) {
        (Some(answers), _) => answers,
        (None, Some(ApiError::Unreachable { .. })) => {
            return html! {
                <p class="card hint" id="desk-offline" role="status">
                    { "The back-office works online only, and the server cannot be reached now. It is all here again once you are online." }
                </p>
            };
        }
        (None, Some(e)) => return html! { <p class="error" role="alert">{ e.to_string() }</p> },
        (None, None) => return html! { <p class="hint">{ "Loading…" }</p> },
    };
    html! {
        <main id={ctx.desk.name()}>
            { ctx.outcome.clone() }
            { view(answers, &ctx) }
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desks_are_addressed_by_the_hash() {
        for &desk in Desk::ALL {
            assert_eq!(Desk::from_hash(&format!("#{}", desk.name())), desk);
        }
        assert_eq!(Desk::from_hash(""), Desk::Approvals);
        assert_eq!(Desk::from_hash("#earnings"), Desk::Approvals);
    }

    #[test]
    fn desks_have_names_and_titles_of_their_own() {
        let mut names: Vec<&str> = Desk::ALL.iter().map(|d| d.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Desk::ALL.len());
        assert_eq!(
            Desk::ALL.iter().map(|d| d.title()).collect::<Vec<_>>(),
            [
                "Approvals",
                "Applications",
                "Partners",
                "Payouts",
                "Orders",
                "Reports",
                "Training",
                "Resources",
                "Challenges",
                "Chat"
            ]
        );
    }
}
