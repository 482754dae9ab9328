//! How a product module names its pages in the location's hash, so links
//! navigate, the back button works and a page (a statement, say) can be
//! opened and printed on its own. The shell's router (`shell::screen`) asks
//! each module in turn; it is the only place that knows them all.

/// One module's pages.
pub trait Page: Clone + PartialEq {
    /// The page named `name` (the hash without its `#`), if it is one of
    /// this module's.
    fn parse(name: &str) -> Option<Self>;
    /// Its name in the hash: `earnings`, `statement-12`.
    fn name(&self) -> String;
    /// What the app's header calls it.
    fn title(&self) -> &'static str;
}
