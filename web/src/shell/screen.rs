//! The router: what is on screen, from the location's hash. A screen is
//! one product module's page; each module names its pages (`crate::page`),
//! and this list, in the order the hash is tried, is the one place that
//! knows them all.

use crate::{
    chat, dashboard, earnings, leaderboard, notifications, page::Page, pipeline, profile,
    referrals, resources, team, training,
};

/// Declares `Screen`, one variant per module holding that module's page,
/// with what the router needs of it: from the hash, to the hash, a title.
macro_rules! screens {
    ($($module:ident($page:ty)),+ $(,)?) => {
        /// What is on screen: a module's page.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Screen {
            $($module($page)),+
        }

        impl Screen {
            /// The page the hash names; the home screen when none does.
            pub fn from_hash(hash: &str) -> Screen {
                let name = hash.trim_start_matches('#');
                $(if let Some(page) = <$page as Page>::parse(name) {
                    return Screen::$module(page);
                })+
                Screen::default()
            }

            pub fn hash(&self) -> String {
                match self {
                    $(Screen::$module(page) => format!("#{}", page.name())),+
                }
            }

            pub fn title(&self) -> &'static str {
                match self {
                    $(Screen::$module(page) => page.title()),+
                }
            }
        }
    };
}

screens! {
    Dashboard(dashboard::Page),
    Pipeline(pipeline::Page),
    Earnings(earnings::Page),
    Notifications(notifications::Page),
    Profile(profile::Page),
    Training(training::Page),
    Chat(chat::Page),
    Referrals(referrals::Page),
    Resources(resources::Page),
    Team(team::Page),
    Leaderboard(leaderboard::Page),
}

/// The dashboard: where the app opens, and where an address it does not
/// know leads.
impl Default for Screen {
    fn default() -> Screen {
        Screen::Dashboard(dashboard::Page::Home)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_are_addressed_by_the_hash() {
        for (screen, hash) in [
            (Screen::Pipeline(pipeline::Page::Board), "#pipeline"),
            (
                Screen::Pipeline(pipeline::Page::Lead(
                    model::LeadId::parse("9f2c_a-1").unwrap(),
                )),
                "#lead-9f2c_a-1",
            ),
            (Screen::Earnings(earnings::Page::Earnings), "#earnings"),
            (Screen::Earnings(earnings::Page::Tier), "#tier"),
            (
                Screen::Earnings(earnings::Page::Statement(12)),
                "#statement-12",
            ),
            (
                Screen::Notifications(notifications::Page::List),
                "#notifications",
            ),
            (Screen::Dashboard(dashboard::Page::Home), "#home"),
            (Screen::Profile(profile::Page::Edit), "#profile"),
            (Screen::Training(training::Page::Catalog), "#training"),
            (Screen::Resources(resources::Page::Library), "#resources"),
            (Screen::Referrals(referrals::Page::Links), "#links"),
            (Screen::Team(team::Page::Team), "#team"),
            (
                Screen::Leaderboard(leaderboard::Page::Board),
                "#leaderboard",
            ),
            (
                Screen::Team(team::Page::Member("p-ben".into())),
                "#member-p-ben",
            ),
            (
                Screen::Training(training::Page::Lesson("t".into(), "l".into())),
                "#lesson-t_l",
            ),
        ] {
            assert_eq!(screen.hash(), hash);
            assert_eq!(Screen::from_hash(hash), screen);
        }
        assert_eq!(Screen::from_hash(""), Screen::default());
        assert_eq!(Screen::from_hash("#statement-x"), Screen::default());
        assert_eq!(Screen::from_hash("#approvals"), Screen::default());
        assert_eq!(Screen::from_hash("#lead-"), Screen::default());
        assert_eq!(Screen::from_hash("#lead-a%20b"), Screen::default());
    }
}
