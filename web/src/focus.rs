//! Where keyboard and screen-reader focus goes as a part of a page opens
//! and closes: into it, and back to what opened it, so nobody is left at
//! the top of the page after a form.

use web_sys::HtmlElement;
use yew::prelude::*;

/// Focuses `node`, if it is an element on the page.
pub fn focus(node: &NodeRef) {
    if let Some(el) = node.cast::<HtmlElement>() {
        let _ = el.focus();
    }
}

/// Focus into `inside` as `open` turns true, back to `opener` as it turns
/// false. Nothing on the first render: focus stays where the person put it.
#[hook]
pub fn use_focus_swap(open: bool, inside: NodeRef, opener: NodeRef) {
    let opened = use_mut_ref(|| false);
    use_effect_with(open, move |open| {
        if *open {
            focus(&inside);
        } else if opened.replace(false) {
            focus(&opener);
        }
        *opened.borrow_mut() |= *open;
        || ()
    });
}
