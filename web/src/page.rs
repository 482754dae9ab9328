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

/// A screen a notice names (the server writes hashes of its own making),
/// as a link: anything else opens the pipeline, so no text from a
/// document becomes a `javascript:` or foreign link.
pub fn safe_hash(screen: &str) -> String {
    let safe = screen.starts_with('#')
        && screen[1..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if safe {
        screen.to_owned()
    } else {
        "#pipeline".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_server_s_own_screens_are_links() {
        assert_eq!(safe_hash("#lead-ben-4"), "#lead-ben-4");
        assert_eq!(safe_hash("#statement-12"), "#statement-12");
        assert_eq!(safe_hash("javascript:alert(1)"), "#pipeline");
        assert_eq!(safe_hash("https://evil.example/#x"), "#pipeline");
        assert_eq!(safe_hash("#a b"), "#pipeline");
    }
}
