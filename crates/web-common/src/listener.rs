//! Browser events on `window`: a listener that goes away when dropped, and
//! the hooks both apps follow the location's hash (screens and desks are
//! addressed by it) and the network coming back with.

use std::{cell::RefCell, rc::Rc};

use wasm_bindgen::{JsCast, closure::Closure};
use yew::prelude::*;

/// A listener on `window`, removed when dropped.
pub struct WindowListener {
    name: &'static str,
    closure: Closure<dyn FnMut()>,
}

impl WindowListener {
    pub fn new(name: &'static str, f: impl FnMut() + 'static) -> Option<WindowListener> {
        let window = web_sys::window()?;
        let closure = Closure::<dyn FnMut()>::new(f);
        window
            .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(WindowListener { name, closure })
    }
}

impl Drop for WindowListener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                self.name,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

/// The location's hash (`#earnings`), by which both apps address screens.
pub fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Calls `on` on each `name` event of `window` while the component lives.
/// The listener is added once; it calls the `on` of the latest render.
#[hook]
pub fn use_window_event(name: &'static str, on: Callback<()>) {
    let latest: Rc<RefCell<Callback<()>>> = use_mut_ref(|| on.clone());
    *latest.borrow_mut() = on;
    use_effect_with(name, move |name| {
        let listener = WindowListener::new(name, move || {
            // Not borrowed while it runs: it may render, which sets it.
            let on = latest.borrow().clone();
            on.emit(())
        });
        move || drop(listener)
    });
}

/// Calls `on` with the location's new hash each time it changes.
#[hook]
pub fn use_hash_change(on: Callback<String>) {
    use_window_event("hashchange", on.reform(|()| location_hash()));
}
